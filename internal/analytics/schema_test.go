package analytics

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/tables"
)

// ddlColumns parses the column list of a CREATE EXTERNAL TABLE statement
// into names and types, in order.
func ddlColumns(t *testing.T, stmt string) []column {
	t.Helper()
	head, _, ok := strings.Cut(stmt, "\n)\nPARTITIONED BY")
	if !ok {
		t.Fatalf("no column list in\n%s", stmt)
	}
	var cols []column
	for _, line := range strings.Split(head, "\n")[1:] {
		m := regexp.MustCompile("^  `([a-z_]+)` (.+?),?$").FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("column line %q", line)
		}
		cols = append(cols, column{m[1], m[2]})
	}
	return cols
}

func TestTableDDL(t *testing.T) {
	stmts, err := TableDDL("metronome", "s3://lake-bucket/prod/lake/")
	if err != nil {
		t.Fatal(err)
	}
	names := append(append([]string{}, tables.All...), Marts...)
	if len(stmts) != len(names) {
		t.Fatalf("%d statements for %d tables and marts", len(stmts), len(names))
	}
	for i, name := range names {
		kind := "curated"
		if i >= len(tables.All) {
			kind = "marts"
		}
		location := "s3://lake-bucket/prod/lake/" + kind + "/" + name + "/"
		stmt := stmts[i]
		for _, want := range []string{
			"CREATE EXTERNAL TABLE IF NOT EXISTS `metronome`.`" + name + "` (\n",
			"\nPARTITIONED BY (`dt` string)\nSTORED AS PARQUET\n",
			"\nLOCATION '" + location + "'\n",
			"'projection.enabled' = 'true'",
			"'projection.dt.type' = 'date'",
			"'projection.dt.format' = 'yyyy-MM-dd'",
			"'projection.dt.range' = '" + ProjectionStart + ",NOW+1DAYS'",
			"'projection.dt.interval' = '1'",
			"'projection.dt.interval.unit' = 'DAYS'",
			"'storage.location.template' = '" + location + "dt=${dt}/'",
		} {
			if !strings.Contains(stmt, want) {
				t.Errorf("%s: statement lacks %q:\n%s", name, want, stmt)
			}
		}
		if strings.HasSuffix(stmt, ";") {
			t.Errorf("%s: trailing semicolon", name)
		}
		for _, c := range ddlColumns(t, stmt) {
			if c.name == "dt" {
				t.Errorf("%s: dt is a data column; it must only be the partition", name)
			}
		}
	}
}

func TestTableDDLColumnTypes(t *testing.T) {
	stmts, err := TableDDL("metronome", "s3://b")
	if err != nil {
		t.Fatal(err)
	}
	byTable := map[string]map[string]string{}
	for i, table := range tables.All {
		cols := ddlColumns(t, stmts[i])
		fields, err := rowColumns(curatedRow[table])
		if err != nil {
			t.Fatal(err)
		}
		if len(cols) != len(fields) {
			t.Errorf("%s: %d columns, row type has %d fields", table, len(cols), len(fields))
		}
		byTable[table] = map[string]string{}
		for j, c := range cols {
			if j < len(fields) && c.name != fields[j].name {
				t.Errorf("%s column %d = %s, want %s (parquet tag order)", table, j, c.name, fields[j].name)
			}
			byTable[table][c.name] = c.typ
		}
	}
	for _, tc := range []struct{ table, col, want string }{
		{tables.Artists, "artist_id", "string"},               // string
		{tables.Artists, "image_url", "string"},               // *string
		{tables.Artists, "popularity", "int"},                 // *int32
		{tables.Artists, "followers", "bigint"},               // *int64
		{tables.Artists, "genres", "array<string>"},           // []string
		{tables.Albums, "total_tracks", "int"},                // int32
		{tables.Albums, "available_markets", "array<string>"}, // optional []string
		{tables.Tracks, "explicit", "boolean"},                // bool
		{tables.AudioFeatures, "danceability", "double"},      // float64
		{tables.AudioFeatures, "key", "int"},                  // a reserved word
		{tables.ArtistTopTracks, "rank", "int"},
		// Engine-neutral types: TIMESTAMP (µs, UTC), DATE, BOOLEAN.
		{tables.Artists, "fetched_at", "timestamp"},
		{tables.ArtistTopTracks, "fetched_at", "timestamp"},
		{tables.AudioFeatures, "fetched_at", "timestamp"},
		{tables.Albums, "release_date", "date"},
		{tables.Albums, "release_date_precision", "string"},
		{tables.Tracks, "late_capture", "boolean"},
		{tables.AudioFeatures, "late_capture", "boolean"},
	} {
		if got := byTable[tc.table][tc.col]; got != tc.want {
			t.Errorf("%s.%s: type %q, want %q", tc.table, tc.col, got, tc.want)
		}
	}
	for i, mart := range Marts {
		got := ddlColumns(t, stmts[len(tables.All)+i])
		if !reflect.DeepEqual(got, martColumns[mart]) {
			t.Errorf("%s: columns %v, want the declared %v", mart, got, martColumns[mart])
		}
	}
}

func TestHiveType(t *testing.T) {
	for _, tc := range []struct {
		value any
		want  string
	}{
		{"", "string"},
		{(*string)(nil), "string"},
		{int32(0), "int"},
		{(*int32)(nil), "int"},
		{int64(0), "bigint"},
		{(*int64)(nil), "bigint"},
		{0, "bigint"},
		{float64(0), "double"},
		{float32(0), "float"},
		{false, "boolean"},
		{[]string(nil), "array<string>"},
		{[]*int64(nil), "array<bigint>"},
		{[][]float64(nil), "array<array<double>>"},
		{[]byte(nil), "binary"},
		{int16(0), "smallint"},
		{int8(0), "tinyint"},
	} {
		typ := reflect.TypeOf(tc.value)
		t.Run(typ.String(), func(t *testing.T) {
			got, err := hiveType(typ)
			if err != nil || got != tc.want {
				t.Errorf("hiveType = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	for _, v := range []any{struct{}{}, map[string]int{}, uint64(0), []struct{}{}} {
		if got, err := hiveType(reflect.TypeOf(v)); err == nil {
			t.Errorf("hiveType(%T) = %q, want an error", v, got)
		}
	}
}

func TestTableDDLRejectsBadInput(t *testing.T) {
	for _, tc := range []struct{ database, lake, want string }{
		{"Metronome", "s3://b/l", "lower-case"},
		{"metro-nome", "s3://b/l", "lower-case"},
		{"", "s3://b/l", "lower-case"},
		{"metronome", "file:///data/lake", "s3://"},
		{"metronome", "s3://", "missing bucket"},
		{"metronome", "s3:///prefix", "missing bucket"},
		{"metronome", "s3://b/it's", "quotes"},
	} {
		t.Run(tc.database+" "+tc.lake, func(t *testing.T) {
			_, err := TableDDL(tc.database, tc.lake)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestRowColumnsRefusesTypeChangingTags(t *testing.T) {
	type row struct {
		At string `parquet:"at,timestamp"`
	}
	if _, err := rowColumns(row{}); err == nil || !strings.Contains(err.Error(), `"timestamp"`) {
		t.Errorf("err = %v, want the timestamp option refused", err)
	}
	// Only microseconds on a time.Time and date on an int32 are known.
	type millis struct {
		At time.Time `parquet:"at,timestamp(millisecond)"`
	}
	if _, err := rowColumns(millis{}); err == nil {
		t.Error("timestamp(millisecond) accepted")
	}
	type timeDate struct {
		D time.Time `parquet:"d,date"`
	}
	if _, err := rowColumns(timeDate{}); err == nil {
		t.Error("date on a time.Time accepted (parquet-go mis-writes it)")
	}
	type ok struct {
		A string   `parquet:"a,optional,zstd"`
		B []string `parquet:"b,list"`
		C int32
		D bool `parquet:"-"`
		e int
	}
	cols, err := rowColumns(ok{e: 1})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.name)
	}
	if want := []string{"a", "b", "C"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}
}

// duckToHive turns a DuckDB type as DESCRIBE prints it into a Hive type.
func duckToHive(t *testing.T, typ string) string {
	t.Helper()
	if elem, ok := strings.CutSuffix(typ, "[]"); ok {
		return "array<" + duckToHive(t, elem) + ">"
	}
	if inner, ok := strings.CutPrefix(typ, "STRUCT("); ok {
		inner = strings.TrimSuffix(inner, ")")
		var fields []string
		depth, start := 0, 0
		for i, r := range inner + "," {
			switch {
			case r == '(':
				depth++
			case r == ')':
				depth--
			case r == ',' && depth == 0:
				name, ftyp, _ := strings.Cut(strings.TrimSpace(inner[start:i]), " ")
				fields = append(fields, strings.Trim(name, `"`)+":"+duckToHive(t, ftyp))
				start = i + 1
			}
		}
		return "struct<" + strings.Join(fields, ",") + ">"
	}
	hive, ok := map[string]string{
		"VARCHAR": "string", "INTEGER": "int", "BIGINT": "bigint", "DOUBLE": "double",
		"BOOLEAN": "boolean", "DATE": "date", "FLOAT": "float",
	}[typ]
	if !ok {
		t.Fatalf("DuckDB type %q has no Hive type here", typ)
	}
	return hive
}

// TestMartColumnsMatchSQL checks the declared mart columns against the
// Parquet files DuckDB writes from the SQL of the marts.
func TestMartColumnsMatchSQL(t *testing.T) {
	d := newTestDuckDB(t)
	root, _ := buildLake(t, d, extendedLake(), day3)
	for _, mart := range Marts {
		file := filepath.Join(root, "marts", mart, "dt="+day3, "part-00000.parquet")
		res, err := d.Query(context.Background(), root, fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet(%s, hive_partitioning = false)", quote(file)))
		if err != nil {
			t.Fatal(err)
		}
		var got []column
		for _, r := range res.Rows {
			got = append(got, column{r[0].(string), duckToHive(t, r[1].(string))})
		}
		if !reflect.DeepEqual(got, martColumns[mart]) {
			t.Errorf("%s: DuckDB writes\n%v\ndeclared\n%v", mart, got, martColumns[mart])
		}
	}
}
