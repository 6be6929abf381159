package analytics

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func sampleResult() *Result {
	return &Result{
		Columns: []string{"artist_id", "name", "popularity", "genres", "score"},
		Rows: [][]any{
			{"a1", "Émile", int32(50), []any{"rock", "indie"}, 0.25},
			{"a22", "Line\nbreak, \"quoted\"", nil, []any{}, math.NaN()},
		},
	}
}

func TestWriteTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  *Result
		want string
	}{
		{"rows", sampleResult(), "" +
			"artist_id | name                  | popularity | genres           | score\n" +
			"----------+-----------------------+------------+------------------+------\n" +
			"a1        | Émile                 | 50         | [\"rock\",\"indie\"] | 0.25\n" +
			"a22       | Line\\nbreak, \"quoted\" | NULL       | []               | NaN\n" +
			"(2 rows)\n"},
		{"one row", &Result{Columns: []string{"n"}, Rows: [][]any{{int64(7)}}}, "n\n-\n7\n(1 row)\n"},
		{"no rows", &Result{Columns: []string{"x", "y"}}, "x | y\n--+--\n(0 rows)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.res.WriteTable(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("table =\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := sampleResult().WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := "artist_id,name,popularity,genres,score\n" +
		"a1,Émile,50,\"[\"\"rock\"\",\"\"indie\"\"]\",0.25\n" +
		"a22,\"Line\nbreak, \"\"quoted\"\"\",,[],NaN\n"
	if b.String() != want {
		t.Errorf("csv =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	res := sampleResult()
	res.Rows = append(res.Rows, []any{"a3", "T", int64(1), []any{math.Inf(1)}, time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC)})
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	want := `[
  {"artist_id":"a1","name":"Émile","popularity":50,"genres":["rock","indie"],"score":0.25},
  {"artist_id":"a22","name":"Line\nbreak, \"quoted\"","popularity":null,"genres":[],"score":"NaN"},
  {"artist_id":"a3","name":"T","popularity":1,"genres":["+Inf"],"score":"2026-03-03T06:00:00Z"}
]
`
	if b.String() != want {
		t.Errorf("json =\n%s\nwant\n%s", b.String(), want)
	}
	var decoded []map[string]any
	if err := json.Unmarshal(b.Bytes(), &decoded); err != nil || len(decoded) != 3 {
		t.Errorf("output is not a JSON array of 3 objects: %v", err)
	}

	empty := &Result{Columns: []string{"x"}}
	b.Reset()
	if err := empty.WriteJSON(&b); err != nil || b.String() != "[]\n" {
		t.Errorf("empty json = %q (%v), want []", b.String(), err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWritersReportWriteErrors(t *testing.T) {
	res := sampleResult()
	for name, write := range map[string]func() error{
		"table": func() error { return res.WriteTable(failWriter{}) },
		"csv":   func() error { return res.WriteCSV(failWriter{}) },
		"json":  func() error { return res.WriteJSON(failWriter{}) },
	} {
		if err := write(); err == nil {
			t.Errorf("%s: no error from a failing writer", name)
		}
	}
}
