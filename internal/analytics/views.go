package analytics

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/metronome-data/metronome/internal/tables"
)

// curatedRow maps each curated table to its row type, the schema of the
// table when it has no partition yet.
var curatedRow = map[string]any{
	tables.Artists:         tables.Artist{},
	tables.Albums:          tables.Album{},
	tables.Tracks:          tables.Track{},
	tables.ArtistTopTracks: tables.ArtistTopTrack{},
	tables.AudioFeatures:   tables.AudioFeature{},
}

// bindCurated creates a temporary view per curated table over all its
// partitions, dt being a VARCHAR column. Every view has the columns and
// types of the table's row type, whatever the partitions hold (see
// conformedView). It returns the views created, also when it fails, so the
// caller can drop them.
func bindCurated(ctx context.Context, conn *sql.Conn, root string) ([]string, error) {
	var views []string
	for _, table := range tables.All {
		row, ok := curatedRow[table]
		if !ok {
			return views, fmt.Errorf("curated table %q: no row type known", table)
		}
		empty, err := emptyView(row)
		if err != nil {
			return views, fmt.Errorf("curated table %q: %w", table, err)
		}
		pattern := filepath.Join(root, "curated", table, "dt=*", "part-*.parquet")
		body, err := conformedView(ctx, conn, pattern, empty)
		if err != nil {
			return views, fmt.Errorf("curated table %q: %w", table, err)
		}
		if err := createView(ctx, conn, table, body); err != nil {
			return views, err
		}
		views = append(views, table)
	}
	return views, nil
}

// bindMarts creates a temporary view per mart over all its partitions, with
// the columns and types of the mart's SQL (see conformedView). It needs the
// curated views.
func bindMarts(ctx context.Context, conn *sql.Conn, root string) ([]string, error) {
	var views []string
	for _, mart := range Marts {
		// Any valid date does: the view has no rows.
		query, err := MartSQL(mart, MartParams{DT: "1970-01-01"})
		if err != nil {
			return views, err
		}
		empty := "SELECT m.*, CAST(NULL AS VARCHAR) AS dt FROM (" + query + ") AS m WHERE 1 = 0"
		pattern := filepath.Join(root, "marts", mart, "dt=*", "part-*.parquet")
		body, err := conformedView(ctx, conn, pattern, empty)
		if err != nil {
			return views, fmt.Errorf("mart %q: %w", mart, err)
		}
		if err := createView(ctx, conn, mart, body); err != nil {
			return views, err
		}
		views = append(views, mart)
	}
	return views, nil
}

// conformedView returns the SELECT over the Hive-partitioned files matching
// pattern with exactly the columns, in order, and types of the query empty
// (which has no rows): a column the files hold with another type is cast, a
// column no file holds is NULL, a column only the files hold is left out.
// Without any file, it is empty itself (read_parquet fails on an empty
// glob).
//
// So partitions written by an older build stay readable next to new ones:
// fetched_at written as RFC 3339 text becomes a TIMESTAMP WITH TIME ZONE,
// release_date and previous_dt written as text become DATE, and
// late_capture, absent from them, is NULL.
func conformedView(ctx context.Context, conn *sql.Conn, pattern, empty string) (string, error) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return "", fmt.Errorf("list %q: %w", pattern, err)
	}
	if len(files) == 0 {
		return empty, nil
	}
	// A file gone between the glob and its stat (a partition being
	// published) leaves the view undescribed by the memo, not failed.
	key, stamp, stamped := viewKey(pattern, empty, files)
	if body, ok := conformed.get(key, stamp); stamped && ok {
		return body, nil
	}
	want, err := describe(ctx, conn, empty)
	if err != nil {
		return "", err
	}
	// hive_types_autocast = false keeps dt a VARCHAR, as on Athena;
	// union_by_name reads partitions whose columns differ (a column added
	// later, a type changed), giving a mixed column a common type (VARCHAR
	// for text and timestamps), which the casts below undo.
	scan := "read_parquet(" + quote(pattern) +
		", hive_partitioning = true, hive_types_autocast = false, union_by_name = true)"
	have, err := describe(ctx, conn, "SELECT * FROM "+scan)
	if err != nil {
		return "", err
	}
	types := make(map[string]string, len(have))
	for _, c := range have {
		types[c.name] = c.typ
	}
	cols := make([]string, len(want))
	for i, c := range want {
		name := quoteIdent(c.name)
		switch typ, ok := types[c.name]; {
		case !ok:
			cols[i] = "CAST(NULL AS " + c.typ + ") AS " + name
		case typ != c.typ:
			cols[i] = "CAST(" + name + " AS " + c.typ + ") AS " + name
		default:
			cols[i] = name
		}
	}
	body := "SELECT " + strings.Join(cols, ", ") + " FROM " + scan
	if stamped {
		conformed.put(key, stamp, body)
	}
	return body, nil
}

// conformed remembers the view of each pattern for the files it was
// described from. Describing a scan reads every file's footer, and every
// session and query binds the views: without it each footer was read twice
// per query, once here and once by the query itself.
var conformed = &viewMemo{views: map[string]memoView{}}

type viewMemo struct {
	mu    sync.Mutex
	views map[string]memoView // by pattern and wanted schema
}

type memoView struct {
	stamp string // the files it was described from
	body  string
}

func (m *viewMemo) get(key, stamp string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.views[key]
	return v.body, ok && v.stamp == stamp
}

func (m *viewMemo) put(key, stamp, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.views[key] = memoView{stamp: stamp, body: body}
}

// viewKey keys a view by its pattern and wanted schema, and stamps it with
// each file's path, size and modification time: a partition published,
// replaced or removed changes the stamp, and the files are described again.
// ok is false when a file could not be stat'ed.
func viewKey(pattern, empty string, files []string) (key, stamp string, ok bool) {
	h := sha256.New()
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return "", "", false
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", f, fi.Size(), fi.ModTime().UnixNano())
	}
	return pattern + "\x00" + empty, hex.EncodeToString(h.Sum(nil)), true
}

// describe returns the columns of query's result, with their DuckDB types.
func describe(ctx context.Context, conn *sql.Conn, query string) ([]column, error) {
	rows, err := conn.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE "+query+")")
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			return nil, fmt.Errorf("describe: %w", err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	return cols, nil
}

// quoteIdent quotes a column name for DuckDB (key, rank … are keywords).
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func createView(ctx context.Context, conn *sql.Conn, name, body string) error {
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP VIEW "+name+" AS "+body); err != nil {
		return fmt.Errorf("create view %s: %w", name, err)
	}
	return nil
}

// dropViews drops the temporary views so the pooled connection does not keep
// them; a failure only leaves views that the next call replaces.
func dropViews(conn *sql.Conn, views []string) {
	for _, v := range views {
		_, _ = conn.ExecContext(context.Background(), "DROP VIEW IF EXISTS "+v)
	}
}

// emptyView returns a SELECT of no rows with the columns of the parquet row
// type row (its parquet tags) plus dt.
func emptyView(row any) (string, error) {
	fields, err := rowColumns(row)
	if err != nil {
		return "", err
	}
	cols := make([]string, 0, len(fields)+1)
	for _, f := range fields {
		sqlType, err := f.duckType()
		if err != nil {
			return "", fmt.Errorf("column %s: %w", f.name, err)
		}
		cols = append(cols, "CAST(NULL AS "+sqlType+") AS "+f.name)
	}
	cols = append(cols, "CAST(NULL AS VARCHAR) AS dt")
	return "SELECT " + strings.Join(cols, ", ") + " WHERE 1 = 0", nil
}

// rowColumn is one column of a parquet row type.
type rowColumn struct {
	name string
	typ  reflect.Type
	// logical is the logical type a tag option gives the column: "",
	// logicalDate or logicalTimestamp.
	logical string
}

// Logical types of rowColumn, from the parquet tag options date and
// timestamp(microsecond).
const (
	logicalDate      = "date"
	logicalTimestamp = "timestamp"
)

// timestampTag is the one timestamp option the tables use: microseconds,
// adjusted to UTC (parquet-go's default), which every engine reads.
const timestampTag = "timestamp(microsecond)"

var timeType = reflect.TypeFor[time.Time]()

// hiveType is the Hive (Athena DDL) type of the column.
func (c rowColumn) hiveType() (string, error) {
	switch c.logical {
	case logicalDate:
		return "date", nil
	case logicalTimestamp:
		return "timestamp", nil
	}
	return hiveType(c.typ)
}

// duckType is the DuckDB type DuckDB reads for the column. A TIMESTAMP
// adjusted to UTC is a TIMESTAMP WITH TIME ZONE to DuckDB.
func (c rowColumn) duckType() (string, error) {
	switch c.logical {
	case logicalDate:
		return "DATE", nil
	case logicalTimestamp:
		return "TIMESTAMP WITH TIME ZONE", nil
	}
	return duckType(c.typ)
}

// parquetTypeNeutral are the parquet tag options that do not change the type
// a column is written with (encodings, compression, nullability, lists).
var parquetTypeNeutral = map[string]bool{
	"optional": true, "list": true, "dict": true, "plain": true, "delta": true,
	"split": true, "snappy": true, "gzip": true, "brotli": true, "lz4": true,
	"zstd": true, "uncompressed": true,
}

// rowColumns returns the columns parquet-go writes for the struct type of
// row: exported fields in order, named by their parquet tag. Of the tag
// options that change the written type, only date (on an int32 type) and
// timestamp(microsecond) (on a time.Time) are known; any other (json,
// another timestamp unit, …) is refused, so the SQL types derived from the
// Go types cannot silently differ from the files.
func rowColumns(row any) ([]rowColumn, error) {
	t := reflect.TypeOf(row)
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("row type %v: not a struct", t)
	}
	var cols []rowColumn
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, logical := f.Name, ""
		if tag, ok := f.Tag.Lookup("parquet"); ok {
			if tag == "-" {
				continue
			}
			n, opts, _ := strings.Cut(tag, ",")
			if n != "" {
				name = n
			}
			for _, opt := range strings.Split(opts, ",") {
				switch {
				case opt == "" || parquetTypeNeutral[opt]:
				case opt == logicalDate && f.Type.Kind() == reflect.Int32:
					logical = logicalDate
				case opt == timestampTag && f.Type == timeType:
					logical = logicalTimestamp
				default:
					return nil, fmt.Errorf("field %s of %s: parquet option %q is not supported on %s", f.Name, t, opt, f.Type)
				}
			}
		}
		cols = append(cols, rowColumn{name: name, typ: f.Type, logical: logical})
	}
	return cols, nil
}

// duckType is the DuckDB type DuckDB reads for a Go field written by parquet-go.
func duckType(t reflect.Type) (string, error) {
	switch t.Kind() {
	case reflect.Pointer:
		return duckType(t.Elem())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "BLOB", nil
		}
		elem, err := duckType(t.Elem())
		if err != nil {
			return "", err
		}
		return elem + "[]", nil
	case reflect.String:
		return "VARCHAR", nil
	case reflect.Bool:
		return "BOOLEAN", nil
	case reflect.Int32:
		return "INTEGER", nil
	case reflect.Int64, reflect.Int:
		return "BIGINT", nil
	case reflect.Float32:
		return "FLOAT", nil
	case reflect.Float64:
		return "DOUBLE", nil
	default:
		return "", fmt.Errorf("type %s has no DuckDB type here", t)
	}
}
