package analytics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/parquet-go/parquet-go"

	"github.com/metronome-data/metronome/internal/lake"
)

func TestAthenaExecRequestShape(t *testing.T) {
	f := newFakeAthena(t)
	f.script = func(string) fakeScript { return fakeScript{stmtType: "DDL"} }
	a := f.engine(t, nil)
	stmt := "CREATE EXTERNAL TABLE IF NOT EXISTS `metronome`.`artists` (`artist_id` string)"
	if err := a.Exec(context.Background(), stmt); err != nil {
		t.Fatal(err)
	}

	starts := f.calls("StartQueryExecution")
	if len(starts) != 1 {
		t.Fatalf("%d StartQueryExecution requests, want 1", len(starts))
	}
	r := starts[0]
	if r.contentType != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", r.contentType)
	}
	if !strings.HasPrefix(r.auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(r.auth, "/eu-west-1/athena/aws4_request") {
		t.Errorf("Authorization = %q, want SigV4 for athena in eu-west-1 with the static key", r.auth)
	}
	want := map[string]any{
		"QueryString":           stmt,
		"WorkGroup":             "etl",
		"ResultConfiguration":   map[string]any{"OutputLocation": "s3://results/athena/"},
		"QueryExecutionContext": map[string]any{"Database": "metronome"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(r.body[k], v) {
			t.Errorf("body %s = %#v, want %#v", k, r.body[k], v)
		}
	}
	// The SDK fills in an idempotency token, so its own retries of
	// StartQueryExecution never run the statement twice.
	if tok, _ := r.body["ClientRequestToken"].(string); len(tok) < 32 {
		t.Errorf("ClientRequestToken = %q, want one of at least 32 characters", tok)
	}
	polls := f.calls("GetQueryExecution")
	if len(polls) != 1 || polls[0].body["QueryExecutionId"] != "q-001" {
		t.Errorf("polls = %v, want one for q-001", polls)
	}
	if got := f.calls("GetQueryResults"); len(got) != 0 {
		t.Errorf("Exec read %d result pages, want none", len(got))
	}
}

func TestAthenaPollsUntilSucceeded(t *testing.T) {
	f := newFakeAthena(t)
	f.script = func(string) fakeScript {
		return fakeScript{states: []string{"QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"}}
	}
	var log progressLog
	a := f.engine(t, log.record)
	start := time.Now()
	if err := a.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, p := range log.of("exec") {
		if p.QueryID != "q-001" {
			t.Errorf("heartbeat for query %q, want q-001", p.QueryID)
		}
		states = append(states, p.State)
	}
	if want := []string{"QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"}; !reflect.DeepEqual(states, want) {
		t.Errorf("heartbeat states %v, want %v", states, want)
	}
	if n := len(f.calls("GetQueryExecution")); n != 4 {
		t.Errorf("%d polls, want 4", n)
	}
	// Backoff 1ms, 2ms, 4ms between the four polls.
	if elapsed := time.Since(start); elapsed < 7*time.Millisecond {
		t.Errorf("four polls took %s, less than the backoff of 7ms", elapsed)
	}
}

func TestAthenaQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script fakeScript
		want   QueryError
	}{
		{
			name: "failed",
			script: fakeScript{
				states: []string{"RUNNING", "FAILED"},
				reason: "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
				athenaErr: map[string]any{
					"ErrorCategory": 2, "ErrorType": 1006, "Retryable": false, "ErrorMessage": "Column 'x' cannot be resolved",
				},
			},
			want: QueryError{
				QueryID: "q-001", State: "FAILED", Reason: "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
				Category: 2, Type: 1006,
			},
		},
		{
			name: "failed, message only",
			script: fakeScript{
				states:    []string{"FAILED"},
				athenaErr: map[string]any{"ErrorCategory": 1, "ErrorType": 401, "Retryable": true, "ErrorMessage": "Internal error"},
			},
			want: QueryError{QueryID: "q-001", State: "FAILED", Reason: "Internal error", Category: 1, Type: 401, Retryable: true},
		},
		{
			name:   "cancelled elsewhere",
			script: fakeScript{states: []string{"QUEUED", "CANCELLED"}, reason: "Query cancelled by user"},
			want:   QueryError{QueryID: "q-001", State: "CANCELLED", Reason: "Query cancelled by user"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAthena(t)
			f.script = func(string) fakeScript { return tc.script }
			a := f.engine(t, nil)
			_, err := a.Query(context.Background(), "SELECT x FROM artists")
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("err = %v, want a *QueryError", err)
			}
			if *qe != tc.want {
				t.Errorf("QueryError = %+v, want %+v", *qe, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want.Reason) || !strings.Contains(err.Error(), tc.want.State) {
				t.Errorf("message %q lacks the state or the reason", err)
			}
		})
	}

	t.Run("refused at start", func(t *testing.T) {
		f := newFakeAthena(t)
		err := f.engine(t, nil).Exec(context.Background(), "MISMATCHED SQL")
		var qe *QueryError
		if err == nil || errors.As(err, &qe) || !strings.Contains(err.Error(), "mismatched input") {
			t.Errorf("err = %v, want Athena's InvalidRequestException message, not a QueryError", err)
		}
	})
}

func TestAthenaCancelStopsQuery(t *testing.T) {
	f := newFakeAthena(t)
	f.script = func(string) fakeScript { return fakeScript{states: []string{"QUEUED", "RUNNING"}} }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := f.engine(t, func(_ context.Context, p Progress) {
		if p.State == "RUNNING" {
			cancel()
		}
	})
	err := a.Exec(ctx, "SELECT slow()")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	stops := f.calls("StopQueryExecution")
	if len(stops) != 1 || stops[0].body["QueryExecutionId"] != "q-001" {
		t.Errorf("StopQueryExecution requests %v, want one for q-001", stops)
	}
}

func TestAthenaQueryPaging(t *testing.T) {
	f := newFakeAthena(t)
	const n = 2500
	var rows [][]*string
	for i := range n {
		rows = append(rows, str(strconv.Itoa(i)))
	}
	f.script = func(string) fakeScript { return fakeScript{columns: [][2]string{{"n", "integer"}}, rows: rows} }
	res, err := f.engine(t, nil).Query(context.Background(), "SELECT n FROM numbers")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Columns, []string{"n"}) || len(res.Rows) != n {
		t.Fatalf("result %v with %d rows, want column n and %d rows", res.Columns, len(res.Rows), n)
	}
	for i, r := range res.Rows {
		if r[0] != int32(i) {
			t.Fatalf("row %d = %v, want %d (header row skipped, pages in order)", i, r, i)
		}
	}
	pages := f.calls("GetQueryResults")
	var tokens []any
	for _, p := range pages {
		if p.body["MaxResults"] != float64(1000) {
			t.Errorf("MaxResults = %v, want 1000", p.body["MaxResults"])
		}
		tokens = append(tokens, p.body["NextToken"])
	}
	if want := []any{nil, "page-1000", "page-2000"}; !reflect.DeepEqual(tokens, want) {
		t.Errorf("page tokens sent %v, want %v", tokens, want)
	}
}

func TestAthenaQueryValues(t *testing.T) {
	columns := [][2]string{
		{"id", "varchar"}, {"n", "integer"}, {"big", "bigint"}, {"x", "double"}, {"ok", "boolean"},
		{"d", "date"}, {"ts", "timestamp"}, {"tags", "array"}, {"small", "smallint"}, {"r", "real"},
		{"dec", "decimal"}, {"tiny", "tinyint"},
	}
	for _, tc := range []struct {
		name     string
		stmtType string
		columns  [][2]string
		rows     [][]*string
		want     [][]any
		wantErr  string
	}{
		{
			name:    "typed values and NULL",
			columns: columns,
			rows: [][]*string{
				str("a1", "-7", "9007199254740993", "0.25", "true", "2026-03-03", "2026-03-03 06:00:00.125", "[rock, pop]", "12", "1.5", "10.75", "-3"),
				str("NULL", "NULL", "NULL", "Infinity", "false", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"),
			},
			want: [][]any{
				{"a1", int32(-7), int64(9007199254740993), 0.25, true, "2026-03-03",
					time.Date(2026, 3, 3, 6, 0, 0, 125e6, time.UTC), "[rock, pop]", int16(12), float32(1.5), 10.75, int8(-3)},
				{nil, nil, nil, math.Inf(1), false, nil, nil, nil, nil, nil, nil, nil},
			},
		},
		{
			name:     "utility statement has no header row",
			stmtType: "UTILITY",
			columns:  [][2]string{{"tab_name", "string"}},
			rows:     [][]*string{str("albums"), str("artists")},
			want:     [][]any{{"albums"}, {"artists"}},
		},
		{
			name:    "unparsable value",
			columns: [][2]string{{"n", "integer"}},
			rows:    [][]*string{str("12x")},
			wantErr: `row 1 column n: integer value "12x"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAthena(t)
			f.script = func(string) fakeScript {
				return fakeScript{stmtType: tc.stmtType, columns: tc.columns, rows: tc.rows}
			}
			res, err := f.engine(t, nil).Query(context.Background(), "SELECT …")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Rows, tc.want) {
				t.Errorf("rows\n%#v\nwant\n%#v", res.Rows, tc.want)
			}
			if len(res.Columns) != len(tc.columns) || res.Columns[0] != tc.columns[0][0] {
				t.Errorf("columns %v", res.Columns)
			}
		})
	}
}

// unloadLocation is the TO location of an UNLOAD statement.
var unloadLocation = regexp.MustCompile(`\nTO '(s3://[^']+)'\n`)

// parquetRows returns a Parquet file of n rows.
func parquetRows(t *testing.T, n int) []byte {
	t.Helper()
	type row struct {
		ArtistID string `parquet:"artist_id"`
	}
	rows := make([]row, n)
	for i := range rows {
		rows[i].ArtistID = fmt.Sprintf("a%d", i)
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAthenaBuildMartsInLake(t *testing.T) {
	root, store := newRemoteLake(t)
	ctx := context.Background()
	put := func(key string, data []byte) {
		t.Helper()
		if err := store.Put(ctx, key, bytes.NewReader(data)); err != nil {
			t.Error(err) // also called by the fake's goroutines: no Fatal
		}
	}
	// Earlier builds: day3's partitions are replaced whole, day2's kept.
	put(lake.PartKey(lake.MartPrefix(ArtistDaily, day3), 5), []byte("stale"))
	put(lake.PartKey(lake.MartPrefix(ArtistDiscography, day3), 0), []byte("stale"))
	kept := lake.PartKey(lake.MartPrefix(ArtistDaily, day2), 0)
	put(kept, []byte("day2"))

	// What Athena writes for each mart: files named its way, in any number.
	unloaded := map[string][][]byte{
		ArtistDaily:       {parquetRows(t, 3), parquetRows(t, 2)},
		GenreDaily:        {parquetRows(t, 4)},
		ArtistDiscography: nil, // no rows: UNLOAD writes no file
		ArtistSimilarity:  {parquetRows(t, 7)},
	}
	f := newFakeAthena(t)
	f.script = func(sql string) fakeScript {
		m := unloadLocation.FindStringSubmatch(sql)
		if m == nil {
			t.Errorf("not an UNLOAD:\n%s", sql)
			return fakeScript{states: []string{"FAILED"}}
		}
		return fakeScript{states: []string{"QUEUED", "RUNNING", "SUCCEEDED"}, onSuccess: func() {
			prefix := strings.TrimPrefix(m[1], "s3://bucket/lake/")
			mart := filepath.Base(prefix)
			for i, data := range unloaded[mart] {
				put(fmt.Sprintf("%s20260303_061500_%05d_abcde_%d", prefix, i, i), data)
			}
			if mart == GenreDaily {
				put(prefix+"_SUCCESS", nil)
			}
		}}
	}
	var log progressLog
	a := f.engine(t, log.record)

	report, err := a.BuildMartsInLake(ctx, store, day3)
	if err != nil {
		t.Fatal(err)
	}

	starts := f.calls("StartQueryExecution")
	if len(starts) != len(Marts) {
		t.Fatalf("%d queries, want one per mart", len(starts))
	}
	seen := map[string]bool{}
	for _, r := range starts {
		sql := r.body["QueryString"].(string)
		m := unloadLocation.FindStringSubmatch(sql)
		mart := filepath.Base(m[1])
		seen[mart] = true
		query, err := MartSQL(mart, MartParams{DT: day3})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sql, "UNLOAD (SELECT * FROM (\n"+query+"\n) AS m)\nTO '") ||
			!strings.HasSuffix(sql, "WITH (format = 'PARQUET', compression = 'SNAPPY')") {
			t.Errorf("%s: statement\n%s", mart, sql)
		}
		if !regexp.MustCompile(`^s3://bucket/lake/_staging/athena-` + day3 + `-[0-9a-f]{16}/unload/` + mart + `/$`).MatchString(m[1]) {
			t.Errorf("%s: UNLOAD to %s, want a fresh staging prefix of the lake", mart, m[1])
		}
		if r.body["WorkGroup"] != "etl" || !reflect.DeepEqual(r.body["QueryExecutionContext"], map[string]any{"Database": "metronome"}) {
			t.Errorf("%s: workgroup or database missing in %v", mart, r.body)
		}
	}
	if len(seen) != len(Marts) {
		t.Errorf("marts unloaded: %v", seen)
	}

	wantRows := map[string]int64{ArtistDaily: 5, GenreDaily: 4, ArtistDiscography: 0, ArtistSimilarity: 7}
	if !reflect.DeepEqual(report.Rows, wantRows) {
		t.Errorf("rows = %v, want %v", report.Rows, wantRows)
	}
	wantKeys := []string{
		lake.PartKey(lake.MartPrefix(ArtistDaily, day3), 0),
		lake.PartKey(lake.MartPrefix(ArtistDaily, day3), 1),
		lake.PartKey(lake.MartPrefix(GenreDaily, day3), 0),
		lake.PartKey(lake.MartPrefix(ArtistSimilarity, day3), 0),
	}
	if !reflect.DeepEqual(report.Keys, wantKeys) {
		t.Errorf("keys = %v, want %v", report.Keys, wantKeys)
	}
	all, err := store.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wantAll := append([]string{kept}, wantKeys...)
	sort.Strings(wantAll)
	if !reflect.DeepEqual(all, wantAll) {
		t.Errorf("lake holds %v, want %v (stale parts and staging gone)", all, wantAll)
	}
	for i, key := range wantKeys[:2] {
		got, err := os.ReadFile(filepath.Join(root, key))
		if err != nil || !bytes.Equal(got, unloaded[ArtistDaily][i]) {
			t.Errorf("%s is not Athena's file %d (%v)", key, i, err)
		}
	}

	var unloads, publishes []string
	for _, p := range log.of("unload") {
		if p.QueryID == "" || p.State == "" {
			t.Errorf("unload heartbeat without query or state: %+v", p)
		}
		if p.State == "SUCCEEDED" {
			unloads = append(unloads, p.Mart)
		}
	}
	for _, p := range log.of("publish") {
		publishes = append(publishes, p.Mart)
	}
	sort.Strings(unloads)
	sortedMarts := append([]string(nil), Marts...)
	sort.Strings(sortedMarts)
	if !reflect.DeepEqual(unloads, sortedMarts) || !reflect.DeepEqual(publishes, Marts) {
		t.Errorf("heartbeats: unloads succeeded %v, publishes %v", unloads, publishes)
	}
}

func TestAthenaBuildMartsFailureStopsTheOthers(t *testing.T) {
	root, store := newRemoteLake(t)
	ctx := context.Background()
	old := lake.PartKey(lake.MartPrefix(ArtistDaily, day3), 0)
	if err := store.Put(ctx, old, strings.NewReader("published")); err != nil {
		t.Fatal(err)
	}
	f := newFakeAthena(t)
	var failing string
	f.script = func(sql string) fakeScript {
		if !strings.Contains(sql, "/unload/"+ArtistDaily+"/") {
			return fakeScript{states: []string{"RUNNING"}}
		}
		// Fail once every mart's query has started, so each must be stopped.
		failing = fmt.Sprintf("q-%03d", len(f.queries)+1)
		return fakeScript{
			stateFn: func(int) string {
				if len(f.queries) < len(Marts) {
					return "RUNNING"
				}
				return "FAILED"
			},
			reason: "HIVE_BAD_DATA: malformed Parquet file",
		}
	}
	a := f.engine(t, nil)
	_, err := a.BuildMartsInLake(ctx, store, day3)
	var qe *QueryError
	f.mu.Lock() // failing and f.queries are set by the fake's goroutines
	failed := failing
	var others []string
	for id := range f.queries {
		if id != failed {
			others = append(others, id)
		}
	}
	f.mu.Unlock()
	if !errors.As(err, &qe) || qe.QueryID != failed || qe.Reason != "HIVE_BAD_DATA: malformed Parquet file" {
		t.Fatalf("err = %v, want the QueryError of %s", err, failed)
	}
	if !strings.Contains(err.Error(), "unload mart "+ArtistDaily) {
		t.Errorf("err = %v, want it to name the mart", err)
	}
	var stopped []string
	for _, r := range f.calls("StopQueryExecution") {
		stopped = append(stopped, r.body["QueryExecutionId"].(string))
	}
	sort.Strings(stopped)
	sort.Strings(others)
	if len(others) != len(Marts)-1 || !reflect.DeepEqual(stopped, others) {
		t.Errorf("stopped %v, want the other queries %v", stopped, others)
	}
	all, _ := store.List(ctx, "")
	if !reflect.DeepEqual(all, []string{old}) {
		t.Errorf("lake holds %v after a failed build, want only the old partition", all)
	}
	if got, _ := os.ReadFile(filepath.Join(root, old)); string(got) != "published" {
		t.Errorf("old partition changed to %q", got)
	}
}

func TestAthenaSimilarInLake(t *testing.T) {
	f := newFakeAthena(t)
	const artists, per = 300, 5
	var rows [][]*string
	for i := range artists {
		for r := 1; r <= per; r++ {
			rows = append(rows, str(fmt.Sprintf("a%03d", i), fmt.Sprintf("b%03d-%d", i, r), fmt.Sprintf("B %d", r),
				strconv.FormatFloat(1/float64(r), 'g', -1, 64), strconv.Itoa(r)))
		}
	}
	var sql string
	f.script = func(q string) fakeScript {
		sql = q
		return fakeScript{
			columns: [][2]string{{"artist_id", "varchar"}, {"similar_artist_id", "varchar"}, {"similar_name", "varchar"}, {"score", "double"}, {"rank", "integer"}},
			rows:    rows,
		}
	}
	a := f.engine(t, nil)
	_, store := newRemoteLake(t)

	var order []string
	got := map[string][]SimilarArtist{}
	err := a.SimilarInLake(context.Background(), store, day3, func(id string, s []SimilarArtist) error {
		order = append(order, id)
		got[id] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	sent := sql
	f.mu.Unlock()
	if want := "FROM artist_similarity WHERE dt = '" + day3 + "' ORDER BY artist_id, rank"; !strings.Contains(sent, want) {
		t.Errorf("query %q lacks %q", sent, want)
	}
	if n := len(f.calls("GetQueryResults")); n != 2 {
		t.Errorf("%d result pages, want 2 (an artist's rows span both)", n)
	}
	if len(order) != artists || !sort.StringsAreSorted(order) {
		t.Fatalf("fn called for %d artists (sorted: %v), want %d once each", len(order), sort.StringsAreSorted(order), artists)
	}
	for i := range artists {
		id := fmt.Sprintf("a%03d", i)
		s := got[id]
		if len(s) != per {
			t.Fatalf("%s: %d similar, want %d", id, len(s), per)
		}
		for r, sim := range s {
			want := SimilarArtist{ArtistID: fmt.Sprintf("b%03d-%d", i, r+1), Name: fmt.Sprintf("B %d", r+1), Score: 1 / float64(r+1), Rank: r + 1}
			if sim != want {
				t.Errorf("%s #%d = %+v, want %+v", id, r+1, sim, want)
			}
		}
	}

	stop := errors.New("stop")
	calls := 0
	err = a.SimilarInLake(context.Background(), store, day3, func(string, []SimilarArtist) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("callback error: err = %v after %d calls, want stop after 1", err, calls)
	}
	file, err := lake.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SimilarInLake(context.Background(), file, day3, func(string, []SimilarArtist) error { return nil }); err == nil {
		t.Error("a file:// lake: no error")
	}
}

func TestNewAthenaValidates(t *testing.T) {
	withRegion := aws.Config{Region: "eu-west-1"}
	for _, tc := range []struct {
		name string
		cfg  AthenaConfig
		want string
	}{
		{"no database", AthenaConfig{AWSConfig: &withRegion}, "athena database"},
		{"bad database", AthenaConfig{Database: "My-DB", AWSConfig: &withRegion}, "My-DB"},
		{"bad output", AthenaConfig{Database: "m", OutputLocation: "/tmp/out", AWSConfig: &withRegion}, "/tmp/out"},
		{"poll", AthenaConfig{Database: "m", PollInterval: time.Second, MaxPollInterval: time.Millisecond, AWSConfig: &withRegion}, "poll interval"},
		{"block size", AthenaConfig{Database: "m", SimilarityBlockSize: 1, AWSConfig: &withRegion}, "block size 1"},
		{"no region", AthenaConfig{Database: "m", AWSConfig: &aws.Config{}}, "no AWS region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAthena(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	a, err := NewAthena(context.Background(), AthenaConfig{Database: "m", AWSConfig: &aws.Config{}, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	if a.workGroup != DefaultAthenaWorkGroup || a.poll != DefaultAthenaPollInterval || a.maxPoll != DefaultAthenaMaxPollInterval || a.blockSize != DefaultSimilarityBlockSize {
		t.Errorf("defaults: workgroup %q, poll %s..%s, block %d", a.workGroup, a.poll, a.maxPoll, a.blockSize)
	}
}
