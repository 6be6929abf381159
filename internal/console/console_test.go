package console

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/lake/laketest"
	"github.com/metronome-data/metronome/workflows"
)

// testNow is the console's clock in these tests: the grid ends at
// 2026-11-21.
var testNow = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// newTestConsole serves store on loopback without a token, with opts
// applied over the defaults.
func newTestConsole(t *testing.T, store lake.Store, opts ...func(*Options)) *Console {
	t.Helper()
	o := Options{Lake: store, LakeURL: store.URL(), Addr: "127.0.0.1:0", Namespace: "default",
		TemporalAddress: "127.0.0.1:7233", WebUIURL: "http://localhost:8233", Now: func() time.Time { return testNow }}
	for _, opt := range opts {
		opt(&o)
	}
	c, err := New(o)
	require.NoError(t, err)
	return c
}

// get requests path from h at a loopback host.
func get(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Host = "127.0.0.1:8088"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func putJSON(t *testing.T, store lake.Store, key string, doc any) {
	t.Helper()
	body, err := json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, store.Put(context.Background(), key, bytes.NewReader(body)))
}

func testCapture(date, kind string) activities.Capture {
	return activities.Capture{CaptureInput: contract.CaptureInput{Date: date, Kind: kind, Mode: "extended",
		WorkflowID: "pipeline-" + date, RunID: "run-" + date}, CapturedAt: date + "T05:00:00Z",
		Objects: []activities.RawObject{{Key: "raw/artists/dt=" + date + "/batch-00000.jsonl.gz", Size: 2048, SHA256: "abc123", Records: 50}}}
}

func testManifest(date, kind string) activities.Manifest {
	var m activities.Manifest
	m.Date, m.Kind, m.WorkflowID, m.RunID = date, kind, "pipeline-"+date, "run-"+date
	m.CapturedAt, m.WrittenAt, m.CodeVersion = date+"T05:00:00Z", date+"T06:00:00Z", "v1.2.3"
	m.Clean.Report.RowsIn = map[string]int{"artists": 100, "top_tracks": 100}
	m.Clean.Report.RowsOut = map[string]int{"artists": 98, "tracks": 940}
	m.Clean.Report.Rejected = map[string]map[string]int{"artists": {"missing_id": 2}, "top_tracks": {"bad_popularity": 3}}
	m.Clean.CuratedKeys = map[string][]string{"artists": {"curated/artists/dt=" + date + "/part-00000.parquet"}}
	m.Aggregate.Rows = map[string]int64{"artist_daily": 98}
	m.Aggregate.Skipped = map[string]string{"genre_daily": "no artist has genres"}
	m.RawObjects = []activities.RawObject{{Key: "raw/artists/dt=" + date + "/batch-00000.jsonl.gz", Size: 2048, SHA256: "abc123", Records: 50}}
	return m
}

// seedLake holds 2026-11-21 complete, 11-20 a late capture processed,
// 11-19 captured only, 11-18 an unreadable manifest, 11-17 a gap.
func seedLake(t *testing.T) lake.Store {
	store := newFileLake(t)
	putJSON(t, store, lake.CaptureKey("2026-11-21"), testCapture("2026-11-21", contract.KindCapture))
	putJSON(t, store, lake.ManifestKey("2026-11-21"), testManifest("2026-11-21", contract.KindCapture))
	putJSON(t, store, lake.CaptureKey("2026-11-20"), testCapture("2026-11-20", contract.KindLateCapture))
	putJSON(t, store, lake.ManifestKey("2026-11-20"), testManifest("2026-11-20", contract.KindLateCapture))
	putJSON(t, store, lake.CaptureKey("2026-11-19"), testCapture("2026-11-19", contract.KindCapture))
	require.NoError(t, store.Put(context.Background(), lake.ManifestKey("2026-11-18"), strings.NewReader("{not json")))
	return store
}

func TestRoutes(t *testing.T) {
	c := newTestConsole(t, seedLake(t))
	tests := []struct {
		method, path string
		status       int
		dataPage     string
		contains     []string
	}{
		{"GET", "/", 200, "partitions", []string{`<table id="partitions">`, `<tr data-date="2026-11-21"`, `<a href="/dates/2026-11-21">`,
			`<a id="older" href="/?before=2026-10-23">`, `<nav id="nav">`, `<form id="artist-search" action="/artists" method="get"`, `name="q"`,
			"Temporal is not configured"}},
		{"HEAD", "/", 200, "", nil},
		{"GET", "/?before=2026-10-23", 200, "partitions", []string{`<tr data-date="2026-10-22"`, `<a id="newer" href="/">`, `href="/?before=2026-09-23"`}},
		{"GET", "/?before=yesterday", 400, "error", []string{"is not a date: want YYYY-MM-DD"}},
		{"GET", "/?before=2026-02-30", 400, "error", []string{"is not a date"}},
		{"GET", "/dates/2026-11-21", 200, "date", []string{`<section id="manifest">`, `<table id="quality-report">`, `<table id="raw-objects">`,
			`<a id="temporal-run" href="http://localhost:8233/namespaces/default/workflows/pipeline-2026-11-21/run-2026-11-21/history">`,
			"missing_id", "bad_popularity", "raw/artists/dt=2026-11-21/batch-00000.jsonl.gz", "2.0 KiB", "v1.2.3",
			"curated/artists/dt=2026-11-21/part-00000.parquet", "skipped: no artist has genres"}},
		{"GET", "/dates/2026-11-19", 200, "date", []string{"Not processed yet", "starter backfill --from 2026-11-19 --to 2026-11-19",
			`<table id="raw-objects">`, "batch-00000.jsonl.gz", `<table id="quality-report">`}},
		{"GET", "/dates/2026-11-18", 500, "error", []string{"decode manifest of 2026-11-18"}},
		{"GET", "/dates/2026-11-17", 404, "error", []string{"holds no capture record and no manifest of 2026-11-17"}},
		{"GET", "/dates/2026-13-01", 400, "error", []string{"is not a date", "/dates/YYYY-MM-DD"}},
		{"GET", "/dates/latest", 400, "error", []string{"&#34;latest&#34; is not a date"}},
		{"GET", "/runs", 200, "runs", []string{`<section id="freshness">`, `<section id="schedules">`, `<section id="running">`, `<section id="failures">`,
			`Last complete date: <a href="/dates/2026-11-21">2026-11-21</a>, today`, "written 4h 0m ago"}},
		{"GET", "/login", 200, "login", []string{"This console is open"}},
		{"GET", "/no/such/page", 404, "error", []string{"No page at /no/such/page"}},
		{"POST", "/", 405, "error", []string{"read-only"}},
		{"DELETE", "/dates/2026-11-21", 405, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := get(t, c, tt.method, tt.path)
			body := w.Body.String()
			require.Equal(t, tt.status, w.Code, body)
			if tt.method == "HEAD" {
				require.Empty(t, body)
				return
			}
			if tt.dataPage != "" {
				require.Contains(t, body, `<main id="page" data-page="`+tt.dataPage+`">`)
				require.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
			}
			for _, s := range tt.contains {
				require.Contains(t, body, s)
			}
		})
	}
}

func TestStaticAndFavicon(t *testing.T) {
	c := newTestConsole(t, newFileLake(t))
	w := get(t, c, "GET", "/favicon.ico")
	require.Equal(t, 200, w.Code)
	require.Equal(t, "image/svg+xml", w.Header().Get("Content-Type"))
	require.Contains(t, w.Body.String(), "<svg")
	w = get(t, c, "GET", "/static/console.css")
	require.Equal(t, 200, w.Code)
	require.Contains(t, w.Header().Get("Content-Type"), "text/css")
	require.Equal(t, 404, get(t, c, "GET", "/static/nope.js").Code)
	// Every page links only what the console serves.
	page := get(t, c, "GET", "/").Body.String()
	for _, m := range regexp.MustCompile(`(?:href|src)="(/[^"]*)"`).FindAllStringSubmatch(page, -1) {
		if strings.HasPrefix(m[1], "/static/") || m[1] == "/favicon.ico" {
			require.Equal(t, 200, get(t, c, "GET", m[1]).Code, m[1])
		}
	}
}

// cellRe matches a grid cell: date row, state, kind and table.
var rowRe = regexp.MustCompile(`(?s)<tr data-date="(\d{4}-\d\d-\d\d)".*?</tr>`)
var cellRe = regexp.MustCompile(`<td class="cell state-([a-z-]+) kind-([a-z-]+)" data-table="([a-z_]+)">`)

// gridStates is the state and kind of every cell of each date of page.
func gridStates(t *testing.T, page string) map[string][2]string {
	t.Helper()
	states := map[string][2]string{}
	for _, row := range rowRe.FindAllStringSubmatch(page, -1) {
		cells := cellRe.FindAllStringSubmatch(row[0], -1)
		require.NotEmpty(t, cells, row[1])
		for _, cell := range cells {
			require.Equal(t, cells[0][1:3], cell[1:3], "one state for every table of %s", row[1])
		}
		states[row[1]] = [2]string{cells[0][1], cells[0][2]}
	}
	return states
}

func TestGridStates(t *testing.T) {
	store := seedLake(t)
	tc := &fakeTemporal{runs: []fakeRun{
		{id: "pipeline-2026-11-16", date: "2026-11-16", status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, started: testNow.Add(-3 * time.Hour), err: "collect: Spotify answered 500"},
		{id: "pipeline-2026-11-15", date: "", status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, started: testNow.Add(-time.Minute),
			progress: workflows.Progress{Date: "2026-11-15", Stage: "collect", BatchesDone: 3, BatchesTotal: 8}},
		// A failed reprocess of a complete date leaves its data complete.
		{id: "pipeline-2026-11-21", date: "2026-11-21", status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, started: testNow.Add(-time.Hour), err: "terminated by operator"},
		{id: "pipeline-2026-11-19", date: "2026-11-19", status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, started: testNow.Add(-2 * time.Minute),
			progress: workflows.Progress{Date: "2026-11-19", Stage: "clean"}},
	}}
	c := newTestConsole(t, store, func(o *Options) { o.Temporal = tc })
	w := get(t, c, "GET", "/")
	require.Equal(t, 200, w.Code)
	page := w.Body.String()
	require.NotContains(t, page, "not answering")
	states := gridStates(t, page)
	require.Len(t, states, gridDays)
	tests := []struct{ date, state, kind string }{
		{"2026-11-21", "complete", "capture"},
		{"2026-11-20", "complete", "late-capture"},
		{"2026-11-19", "running", "capture"},
		{"2026-11-18", "failed", "none"},
		{"2026-11-17", "not-captured", "none"},
		{"2026-11-16", "failed", "none"},
		{"2026-11-15", "running", "none"},
		{"2026-10-23", "not-captured", "none"},
	}
	for _, tt := range tests {
		require.Equal(t, [2]string{tt.state, tt.kind}, states[tt.date], tt.date)
	}
	for _, col := range []string{"artists", "tracks", "artist_top_tracks", "artist_daily", "genre_daily"} {
		require.Contains(t, page, `data-table="`+col+`"`)
	}
	// Rows and the reject share of a processed date: 5 of 200 checked.
	require.Contains(t, page, `<span class="rows">940</span>`)
	require.Contains(t, page, `data-table="genre_daily"><span class="muted" title="no artist has genres">skipped</span>`)
	require.Contains(t, page, `5 <span class="meta">2.5%</span>`)

	// A captured date that gets processed changes its row at once.
	tc.runs = nil
	c.temporal = temporalState{}
	require.Equal(t, "captured", gridStates(t, get(t, c, "GET", "/").Body.String())["2026-11-19"][0])
	putJSON(t, store, lake.ManifestKey("2026-11-19"), testManifest("2026-11-19", contract.KindReprocess))
	require.Equal(t, [2]string{"complete", "reprocess"}, gridStates(t, get(t, c, "GET", "/").Body.String())["2026-11-19"])
}

func TestRunsPage(t *testing.T) {
	tc := &fakeTemporal{
		runs: []fakeRun{
			{id: "pipeline-2026-11-21", date: "2026-11-21", typ: "PipelineWorkflow", status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, started: testNow.Add(-time.Minute),
				progress: workflows.Progress{Date: "2026-11-21", Stage: "collect", BatchesDone: 3, BatchesTotal: 8, Artists: 400}},
			{id: "pipeline-2026-11-16", date: "2026-11-16", typ: "PipelineWorkflow", status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, started: testNow.Add(-3 * time.Hour),
				err: "collect: Spotify answered 500 <script>"},
		},
		schedules: []*client.ScheduleListEntry{{ID: "daily-pipeline", Spec: &client.ScheduleSpec{CronExpressions: []string{"0 3 * * *"}},
			WorkflowType: workflow.Type{Name: "ScheduledPipelineWorkflow"}, NextActionTimes: []time.Time{testNow.Add(17 * time.Hour)}}},
	}
	c := newTestConsole(t, seedLake(t), func(o *Options) { o.Temporal = tc })
	w := get(t, c, "GET", "/runs")
	require.Equal(t, 200, w.Code)
	body := w.Body.String()
	for _, s := range []string{"daily-pipeline", "0 3 * * * (UTC)", "2026-11-22 03:00 UTC (in 17h 0m)",
		`<progress max="8" value="3"></progress> 3/8`, "collect", "400 artists",
		`href="http://localhost:8233/namespaces/default/workflows/pipeline-2026-11-16/`,
		"collect: Spotify answered 500 &lt;script&gt;", "Failed"} {
		require.Contains(t, body, s)
	}
	require.NotContains(t, body, "Nothing is running")
}

// With Temporal down every page still renders what the lake holds and
// says what is missing.
func TestTemporalDown(t *testing.T) {
	if testing.Short() {
		t.Skip("dials a closed port")
	}
	tc, err := client.NewLazyClient(client.Options{HostPort: closedPort(t)})
	require.NoError(t, err)
	defer tc.Close()
	c := newTestConsole(t, seedLake(t), func(o *Options) { o.Temporal = tc; o.TemporalTimeout = 500 * time.Millisecond })
	for _, path := range []string{"/", "/runs", "/dates/2026-11-21"} {
		w := get(t, c, "GET", path)
		require.Equal(t, 200, w.Code, path)
		if path != "/dates/2026-11-21" {
			require.Contains(t, w.Body.String(), "is not answering", path)
		}
	}
	grid := get(t, c, "GET", "/").Body.String()
	require.Equal(t, "complete", gridStates(t, grid)["2026-11-21"][0])
	require.Contains(t, get(t, c, "GET", "/runs").Body.String(), "Last complete date")
	// Within the backoff a page does not wait for Temporal again.
	start := time.Now()
	get(t, c, "GET", "/")
	require.Less(t, time.Since(start), 400*time.Millisecond)
}

func closedPort(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

// fakeTemporal answers the visibility list, the progress query, the
// results and the schedules of its runs, as a Temporal server would for
// the queries the console sends.
type fakeTemporal struct {
	client.Client
	runs      []fakeRun
	schedules []*client.ScheduleListEntry
}

type fakeRun struct {
	id, date, typ string
	status        enumspb.WorkflowExecutionStatus
	started       time.Time
	progress      workflows.Progress
	err           string
}

func (f *fakeTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	q := req.GetQuery()
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, r := range f.runs {
		running := r.status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		switch {
		case strings.Contains(q, "ExecutionStatus = 'Running'") && !running,
			strings.Contains(q, "ExecutionStatus = 'Failed'") && running,
			strings.Contains(q, "PipelineDate >=") && r.date == "":
			continue
		}
		typ := r.typ
		if typ == "" {
			typ = "PipelineWorkflow"
		}
		info := &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: r.id, RunId: "run-of-" + r.id},
			Type:      &commonpb.WorkflowType{Name: typ}, Status: r.status, StartTime: timestamppb.New(r.started),
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}},
		}
		if !running {
			info.CloseTime = timestamppb.New(r.started.Add(time.Minute))
		}
		if r.date != "" {
			day, _ := time.Parse(workflows.DateLayout, r.date)
			p, _ := converter.GetDefaultDataConverter().ToPayload(day)
			info.SearchAttributes.IndexedFields["PipelineDate"] = p
		}
		resp.Executions = append(resp.Executions, info)
	}
	return resp, nil
}

func (f *fakeTemporal) find(id string) fakeRun {
	for _, r := range f.runs {
		if r.id == id {
			return r
		}
	}
	return fakeRun{}
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, id, _ string, _ string, _ ...any) (converter.EncodedValue, error) {
	return jsonValue{f.find(id).progress}, nil
}

func (f *fakeTemporal) GetWorkflow(_ context.Context, id, runID string) client.WorkflowRun {
	return fakeWorkflowRun{id: id, runID: runID, err: f.find(id).err}
}

func (f *fakeTemporal) ScheduleClient() client.ScheduleClient {
	return fakeSchedules{entries: f.schedules}
}

type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return true }
func (j jsonValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

type fakeWorkflowRun struct {
	client.WorkflowRun
	id, runID, err string
}

func (r fakeWorkflowRun) Get(context.Context, any) error {
	if r.err == "" {
		return nil
	}
	return errorString(r.err)
}

type errorString string

func (e errorString) Error() string { return string(e) }

type fakeSchedules struct {
	client.ScheduleClient
	entries []*client.ScheduleListEntry
}

func (s fakeSchedules) List(context.Context, client.ScheduleListOptions) (client.ScheduleListIterator, error) {
	return &scheduleIter{entries: s.entries}, nil
}

type scheduleIter struct{ entries []*client.ScheduleListEntry }

func (it *scheduleIter) HasNext() bool { return len(it.entries) > 0 }
func (it *scheduleIter) Next() (*client.ScheduleListEntry, error) {
	e := it.entries[0]
	it.entries = it.entries[1:]
	return e, nil
}

func TestTemporalBanner(t *testing.T) {
	c := newTestConsole(t, newFileLake(t))
	require.Contains(t, c.temporalBanner(context.DeadlineExceeded, "runs are"), "Temporal at 127.0.0.1:7233 (namespace default) is not answering: runs are not shown")
	require.Contains(t, c.temporalBanner(errorString("invalid query: unknown search attribute PipelineDate"), "runs are"), "answered with an error")
	require.Contains(t, c.temporalBanner(errNoTemporal, "runs are"), "not configured")
}

// Warm reads the grid's documents once: the page after it reads none.
func TestWarm(t *testing.T) {
	store := &laketest.CountingStore{Store: seedLake(t)}
	// A manifest that does not decode is read again each time: no error is kept.
	require.NoError(t, store.Delete(context.Background(), lake.ManifestKey("2026-11-18")))
	c := newTestConsole(t, store)
	c.Warm(context.Background())
	warmed := store.Gets.Load()
	require.Positive(t, warmed)
	require.Equal(t, 200, get(t, c, "GET", "/").Code)
	require.Equal(t, warmed, store.Gets.Load(), "the grid is served from the warmed cache")
}

// A date the grid shows failed or running opens on its page with the
// latest run, though the lake may hold nothing of it.
func TestDatePageLatestRun(t *testing.T) {
	tc := &fakeTemporal{runs: []fakeRun{
		{id: "pipeline-2026-11-16", date: "2026-11-16", status: enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, started: testNow.Add(-3 * time.Hour), err: "collect: Spotify answered 500"},
		{id: "pipeline-2026-11-19", date: "2026-11-19", status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, started: testNow.Add(-2 * time.Minute)},
	}}
	c := newTestConsole(t, seedLake(t), func(o *Options) { o.Temporal = tc })
	tests := []struct {
		date     string
		status   int
		contains []string
	}{
		{"2026-11-16", 200, []string{`<section id="latest-run">`, "Failed", "collect: Spotify answered 500", `<h1>2026-11-16 <span class="muted">failed`,
			`href="http://localhost:8233/namespaces/default/workflows/pipeline-2026-11-16/run-of-pipeline-2026-11-16/history"`}},
		{"2026-11-19", 200, []string{`<section id="latest-run">`, "Running", `<h1>2026-11-19 <span class="muted">running`}},
		{"2026-11-21", 200, []string{`<h1>2026-11-21 <span class="muted">complete`}},
		{"2026-11-17", 404, []string{"Temporal knows no run of it"}},
	}
	for _, tt := range tests {
		w := get(t, c, "GET", "/dates/"+tt.date)
		require.Equal(t, tt.status, w.Code, tt.date)
		for _, s := range tt.contains {
			require.Contains(t, w.Body.String(), s, tt.date)
		}
	}
}
