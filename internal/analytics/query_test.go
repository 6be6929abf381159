package analytics

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/metronome-data/metronome/internal/tables"
)

func mustQuery(t *testing.T, d *DuckDB, root, sql string) *Result {
	t.Helper()
	res, err := d.Query(context.Background(), root, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return res
}

func TestQueryViewsOverAllPartitions(t *testing.T) {
	d := newTestDuckDB(t)
	root := t.TempDir()
	writeLake(t, root, extendedLake())

	res := mustQuery(t, d, root, "SELECT dt, COUNT(*) AS n FROM artists GROUP BY dt ORDER BY dt")
	want := [][]any{{day1, int64(2)}, {day2, int64(3)}, {day3, int64(8)}, {day4, int64(1)}}
	if !reflect.DeepEqual(res.Columns, []string{"dt", "n"}) || !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("artists per dt = %v %v, want %v", res.Columns, res.Rows, want)
	}

	// Before any build the marts are empty views with the marts' columns.
	before := map[string][]string{}
	for _, m := range Marts {
		res := mustQuery(t, d, root, "SELECT * FROM "+m)
		if len(res.Rows) != 0 {
			t.Errorf("%s before build: %d rows", m, len(res.Rows))
		}
		before[m] = res.Columns
	}
	if _, err := d.BuildMarts(context.Background(), root, day3); err != nil {
		t.Fatal(err)
	}
	if _, err := d.BuildMarts(context.Background(), root, day2); err != nil {
		t.Fatal(err)
	}
	for _, m := range Marts {
		res := mustQuery(t, d, root, "SELECT * FROM "+m)
		if !reflect.DeepEqual(res.Columns, before[m]) {
			t.Errorf("%s columns = %v, before build %v", m, res.Columns, before[m])
		}
		if res.Columns[len(res.Columns)-1] != "dt" {
			t.Errorf("%s: last column %q, want dt", m, res.Columns[len(res.Columns)-1])
		}
	}
	res = mustQuery(t, d, root, "SELECT dt, COUNT(*) FROM artist_daily GROUP BY dt ORDER BY dt")
	if want := [][]any{{day2, int64(3)}, {day3, int64(7)}}; !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("artist_daily per dt = %v, want %v", res.Rows, want)
	}
}

// TestEmptyTableViewsMatchParquetSchema checks that a table without any
// partition (audio features in development mode, say) is a view with the
// same columns and types as one read from Parquet.
func TestEmptyTableViewsMatchParquetSchema(t *testing.T) {
	d := newTestDuckDB(t)
	full := t.TempDir()
	writeLake(t, full, extendedLake())
	empty := t.TempDir()
	for _, table := range tables.All {
		describe := "SELECT column_name, column_type FROM (DESCRIBE " + table + ")"
		want := mustQuery(t, d, full, describe)
		got := mustQuery(t, d, empty, describe)
		if len(want.Rows) < 2 || !reflect.DeepEqual(got.Rows, want.Rows) {
			t.Errorf("%s: empty view schema %v, parquet schema %v", table, got.Rows, want.Rows)
		}
		if n := mustQuery(t, d, empty, "SELECT COUNT(*) FROM "+table).Rows[0][0]; n != int64(0) {
			t.Errorf("%s: empty view has %v rows", table, n)
		}
	}
	if len(curatedRow) != len(tables.All) {
		t.Errorf("curatedRow has %d tables, tables.All %d", len(curatedRow), len(tables.All))
	}
}

func TestQueryErrors(t *testing.T) {
	d := newTestDuckDB(t)
	root := t.TempDir()
	for _, tc := range []struct{ name, sql, want string }{
		{"syntax", "SELEC 1", "syntax error"},
		{"unknown table", "SELECT * FROM no_such_table", "no_such_table"},
		{"unknown column", "SELECT no_such_column FROM artists", "no_such_column"},
		{"runtime", "SELECT CAST('x' AS INTEGER)", "Conversion Error"},
		{"empty", "  ", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Query(context.Background(), root, tc.sql)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestQueryIsolatesLakes runs queries on two lakes at once: each connection
// has its own views.
func TestQueryIsolatesLakes(t *testing.T) {
	d := newTestDuckDB(t)
	ext, dev := t.TempDir(), t.TempDir()
	writeLake(t, ext, extendedLake())
	writeLake(t, dev, developmentLake())
	want := map[string]int64{ext: 10, dev: 0}

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		root := ext
		if i%2 == 1 {
			root = dev
		}
		wg.Go(func() {
			res, err := d.Query(context.Background(), root, "SELECT COUNT(*) FROM artist_top_tracks")
			if err != nil {
				errs <- err
				return
			}
			if got := res.Rows[0][0]; got != want[root] {
				errs <- fmt.Errorf("lake %s: %v top tracks, want %d", root, got, want[root])
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestQueryValueTypes(t *testing.T) {
	d := newTestDuckDB(t)
	res := mustQuery(t, d, t.TempDir(), "SELECT CAST('2020-01-02' AS DATE) AS d, ['a', 'b'] AS l, NULL AS n, "+
		"CAST(1.5 AS DECIMAL(4, 2)) AS dec, MAP {'k': 1} AS m, {'x': 1} AS s")
	want := []any{"2020-01-02", []any{"a", "b"}, nil, 1.5, map[string]any{"k": int32(1)}, map[string]any{"x": int32(1)}}
	if !reflect.DeepEqual(res.Rows[0], want) {
		t.Errorf("row = %#v, want %#v", res.Rows[0], want)
	}
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "[\n  {\"d\":\"2020-01-02\",\"l\":[\"a\",\"b\"],\"n\":null,\"dec\":1.5,\"m\":{\"k\":1},\"s\":{\"x\":1}}\n]\n"; got != want {
		t.Errorf("json = %q, want %q", got, want)
	}
}
