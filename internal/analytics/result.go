package analytics

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
)

// Result is the whole result of a query.
type Result struct {
	Columns []string
	// Rows hold the values as the driver returns them (string, int32, int64,
	// float64, bool, time.Time, []any for lists, map[string]any for structs
	// and maps, nil for NULL), except DATE values, which are YYYY-MM-DD strings.
	Rows [][]any
}

func collect(rows *sql.Rows) (*Result, error) {
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("read result columns: %w", err)
	}
	res := &Result{Columns: make([]string, len(types)), Rows: [][]any{}}
	for i, t := range types {
		res.Columns[i] = t.Name()
	}
	for rows.Next() {
		row := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read result row %d: %w", len(res.Rows)+1, err)
		}
		for i, v := range row {
			row[i] = normalize(v, types[i].DatabaseTypeName())
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return res, nil
}

// normalize turns driver values that neither encoding/json nor a reader can
// use as they are into plain ones.
func normalize(v any, dbType string) any {
	switch v := v.(type) {
	case time.Time:
		if dbType == "DATE" {
			return v.Format(time.DateOnly)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = normalize(e, "")
		}
		return v
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e, "")
		}
		return v
	case duckdb.OrderedMap:
		keys, values := v.Keys(), v.Values()
		m := make(map[string]any, len(keys))
		for i, k := range keys {
			m[fmt.Sprint(k)] = normalize(values[i], "")
		}
		return m
	case duckdb.Decimal:
		return v.Float64()
	default:
		return v
	}
}

// WriteTable writes the result as a text table with aligned columns, NULL for
// NULL, and a final row count.
func (r *Result) WriteTable(w io.Writer) error {
	cells := make([][]string, 0, len(r.Rows)+1)
	cells = append(cells, r.Columns)
	for _, row := range r.Rows {
		line := make([]string, len(row))
		for i, v := range row {
			if v == nil {
				line[i] = "NULL"
				continue
			}
			// One row per line: escape what would break it.
			line[i] = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(text(v))
		}
		cells = append(cells, line)
	}
	widths := make([]int, len(r.Columns))
	for _, line := range cells {
		for i, c := range line {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}

	var b strings.Builder
	writeLine := func(line []string) {
		for i, c := range line {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(c)
			if i < len(line)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
			}
		}
		b.WriteString("\n")
	}
	writeLine(cells[0])
	for i, width := range widths {
		if i > 0 {
			b.WriteString("-+-")
		}
		b.WriteString(strings.Repeat("-", width))
	}
	b.WriteString("\n")
	for _, line := range cells[1:] {
		writeLine(line)
	}
	if len(r.Rows) == 1 {
		b.WriteString("(1 row)\n")
	} else {
		fmt.Fprintf(&b, "(%d rows)\n", len(r.Rows))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// WriteCSV writes the result as CSV with a header line; NULL is an empty field.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Columns); err != nil {
		return fmt.Errorf("write csv header: %w", err)
	}
	record := make([]string, len(r.Columns))
	for n, row := range r.Rows {
		for i, v := range row {
			record[i] = ""
			if v != nil {
				record[i] = text(v)
			}
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("write csv row %d: %w", n+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// WriteJSON writes the result as a JSON array with one object per row, its
// keys in column order; NULL is null, NaN and infinities are strings.
func (r *Result) WriteJSON(w io.Writer) error {
	keys := make([][]byte, len(r.Columns))
	for i, c := range r.Columns {
		k, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode column name %q: %w", c, err)
		}
		keys[i] = k
	}
	var b strings.Builder
	b.WriteString("[")
	for n, row := range r.Rows {
		if n > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for i, v := range row {
			if i > 0 {
				b.WriteString(",")
			}
			b.Write(keys[i])
			b.WriteString(":")
			val, err := json.Marshal(jsonValue(v))
			if err != nil {
				return fmt.Errorf("encode row %d column %s: %w", n+1, r.Columns[i], err)
			}
			b.Write(val)
		}
		b.WriteString("}")
	}
	if len(r.Rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// jsonValue replaces the floats JSON cannot represent, at any depth.
func jsonValue(v any) any {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return v
	case float32:
		return jsonValue(float64(v))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonValue(e)
		}
		return out
	default:
		return v
	}
}

// text renders a non-NULL value for the table and CSV formats.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case []any, map[string]any:
		b, err := json.Marshal(jsonValue(v))
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	case []byte:
		return fmt.Sprintf("%x", v)
	default:
		return fmt.Sprint(v)
	}
}
