package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/logging"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/workerproc"
	"github.com/metronome-data/metronome/workflows"
)

// Settings shared by every scenario.
const (
	// runDate is the logical date of every run.
	runDate = "2026-03-01"
	// catalogSize is the fake catalog of the process scenarios.
	catalogSize = 2000
	catalogSeed = 8
	// batchSize and parallelism: small batches, all scheduled at once
	// (80 batches; a worker runs 8 at a time, worker.
	// max_concurrent_activities), so a run is many activities and goes on
	// while the batches a killed worker held wait for their heartbeat
	// timeout.
	batchSize   = 25
	parallelism = catalogSize / batchSize
	// fakeLatency is added to every fake Spotify answer, so a run lasts
	// long enough to be hit.
	fakeLatency = 100 * time.Millisecond
	// runTimeout is a safety net only: a run that has not completed by
	// then fails the scenario.
	runTimeout = 8 * time.Minute
)

var (
	buildOnce  sync.Once
	workerBin  string
	starterBin string
	buildErr   error
	binDir     string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// workerBinary builds ./worker (and ./starter) once per test binary run.
func workerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		workerBin, starterBin, buildErr = buildBinaries()
	})
	require.NoError(t, buildErr)
	return workerBin
}

// starterBinary is ./starter, built with the worker: `starter dev
// --no-worker` holds the embedded server in its own process.
func starterBinary(t *testing.T) string {
	t.Helper()
	workerBinary(t)
	return starterBin
}

func buildBinaries() (worker, starter string, err error) {
	if binDir, err = os.MkdirTemp("", "metronome-chaos-bin-"); err != nil {
		return "", "", fmt.Errorf("create binary directory: %w", err)
	}
	bins, err := workerproc.Build(context.Background(), binDir, "worker", "starter")
	if err != nil {
		return "", "", err
	}
	return bins[0], bins[1], nil
}

// fakeOptions is the fault-free fake Spotify of the process scenarios.
func fakeOptions() spotifyfake.Options {
	return spotifyfake.Options{Artists: catalogSize, Seed: catalogSeed, Latency: fakeLatency}
}

// stack is one scenario's world: an embedded Temporal server persisted in
// SQLite, a fake Spotify, a data directory (file lake, SQLite serving
// store) and worker processes configured by environment only.
type stack struct {
	t      *testing.T
	name   string
	dir    string
	dbFile string
	port   int
	server *devserver.Server
	// serverProc holds the server instead of server when the stack runs
	// it in its own process (serverProcess); serverRuns counts its starts.
	serverProcess bool
	serverProc    *workerproc.Process
	serverRuns    int
	// addr and ns are the frontend's address and the namespace.
	addr, ns string
	c        client.Client
	fakeURL  string
	fake     *spotifyfake.Server
	env      []string

	mu      sync.Mutex
	workers []*workerproc.Process
	started int
}

type stackOptions struct {
	fake    spotifyfake.Options
	handler func(http.Handler) http.Handler // wraps the fake, when set
	env     []string                        // extra worker environment
	// serverProcess runs the embedded server in its own process, `starter
	// dev --no-worker`, so that it can be SIGKILLed (serverkill_test.go).
	serverProcess bool
}

func newStack(t *testing.T, name string, o stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, name: name, dir: t.TempDir(), serverProcess: o.serverProcess}
	s.dbFile = filepath.Join(s.dir, "temporal.db")
	port, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	s.port = port
	t.Cleanup(s.stopServer)
	s.startServer()

	c, err := client.Dial(client.Options{
		HostPort: s.addr, Namespace: s.ns,
		Logger: logging.NewTemporalLogger(zap.NewNop()),
	})
	require.NoError(t, err)
	s.c = c
	t.Cleanup(c.Close)

	fake, err := spotifyfake.New(o.fake)
	require.NoError(t, err)
	var h http.Handler = fake
	if o.handler != nil {
		h = o.handler(fake)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(spotifyfake.Serve(ctx, ln, h))
	s.fake, s.fakeURL = fake, "http://"+ln.Addr().String()

	artistsFile := filepath.Join(s.dir, "artists.txt")
	var ids strings.Builder
	for _, a := range fake.Catalog().Artists() {
		ids.WriteString(a.ID + "\n")
	}
	require.NoError(t, os.WriteFile(artistsFile, []byte(ids.String()), 0o644))

	s.env = append([]string{
		"TEMPORAL_ADDRESS=" + s.addr,
		"TEMPORAL_NAMESPACE=" + s.ns,
		"METRONOME_DATA_DIR=" + s.dir,
		"METRONOME_LAKE_URL=file://" + filepath.Join(s.dir, "lake"),
		"METRONOME_SERVING_URL=sqlite://" + filepath.Join(s.dir, "serving.db"),
		"SPOTIFY_ID=" + spotifyfake.DefaultClientID,
		"SPOTIFY_SECRET=" + spotifyfake.DefaultClientSecret,
		"METRONOME_SPOTIFY_FAKE=false",
		"METRONOME_SPOTIFY_BASE_URL=" + s.fakeURL + "/v1/",
		"METRONOME_SPOTIFY_TOKEN_URL=" + s.fakeURL + "/api/token",
		"METRONOME_SPOTIFY_REQUESTS_PER_SECOND=100000",
		"METRONOME_ARTISTS_FILE=" + artistsFile,
		"METRONOME_PIPELINE_BATCH_SIZE=" + strconv.Itoa(batchSize),
		"METRONOME_WORKER_METRICS_ADDR=127.0.0.1:0",
		"METRONOME_ANALYTICS_MEMORY_LIMIT=512MB",
		"METRONOME_LOG_LEVEL=info",
		"METRONOME_LOG_FORMAT=json",
	}, o.env...)
	t.Cleanup(s.stopWorkers)
	return s
}

// apiCalls is the number of Spotify API calls the fake has answered.
func (s *stack) apiCalls() int { return s.fake.Stats().APICalls() }

// startServer starts the embedded server on the stack's port and file,
// in this process or in its own.
func (s *stack) startServer() {
	s.t.Helper()
	if s.serverProcess {
		s.startServerProcess()
		return
	}
	srv := devservertest.StartServer(s.t, devservertest.WithServer(devserver.Options{DatabaseFile: s.dbFile, Port: s.port}))
	s.server = srv
	s.addr, s.ns = srv.FrontendAddress(), srv.Namespace()
}

// stopServer stops the server, wherever it runs.
func (s *stack) stopServer() {
	if s.server != nil {
		_ = s.server.Stop()
		s.server = nil
	}
	if s.serverProc != nil {
		s.serverProc.Stop(10 * time.Second)
		s.serverProc = nil
	}
}

// restartServer stops the embedded server, keeps it down for downtime and
// starts it again on the same SQLite file and frontend port.
func (s *stack) restartServer(downtime time.Duration) {
	s.t.Helper()
	require.NoError(s.t, s.server.Stop())
	s.server = nil
	time.Sleep(downtime)
	s.startServer()
}

// startWorker starts one more worker process.
func (s *stack) startWorker() *workerproc.Process {
	s.t.Helper()
	s.mu.Lock()
	s.started++
	name := fmt.Sprintf("%s-worker-%d", s.name, s.started)
	s.mu.Unlock()
	w, err := workerproc.Start(name, workerBinary(s.t), workerproc.WithDir(s.dir), workerproc.WithEnv(s.env...))
	require.NoError(s.t, err)
	s.mu.Lock()
	s.workers = append(s.workers, w)
	s.mu.Unlock()
	return w
}

// close stops the workers and the server before the test ends, so an
// idle stack does not take CPU from the scenarios still running.
func (s *stack) close() {
	s.stopWorkers()
	s.stopServer()
}

func (s *stack) stopWorkers() {
	s.mu.Lock()
	workers := append([]*workerproc.Process(nil), s.workers...)
	s.mu.Unlock()
	for _, w := range workers {
		w.Stop(10 * time.Second)
	}
	if s.t.Failed() {
		s.dumpLogs()
	}
	if dir := os.Getenv(logsEnv); dir != "" {
		s.copyLogs(dir)
	}
}

// logsEnv names a directory the worker logs of every scenario are copied
// to, for a look at what the workers did.
const logsEnv = "METRONOME_CHAOS_LOGS"

func (s *stack) copyLogs(dir string) {
	logs, _ := filepath.Glob(filepath.Join(s.dir, "*.log"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(l)), b, 0o644)
		}
		if err != nil {
			s.t.Logf("copy worker log %s to %s: %v", l, dir, err)
		}
	}
}

// dumpLogs logs the tail of every worker's log, for a failed scenario.
func (s *stack) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(s.dir, "*.log"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		s.t.Logf("--- tail of %s ---\n%s", filepath.Base(l), b)
	}
}

// start starts the run of date, or attaches to it when it is running, as
// `starter run` does.
func (s *stack) start(ctx context.Context, date string) client.WorkflowRun {
	s.t.Helper()
	run, err := startRun(ctx, s.c, date, mainQueue, spotifyQueue)
	require.NoError(s.t, err)
	return run
}

// The task queues of the worker processes (the config's defaults).
const (
	mainQueue    = "metronome"
	spotifyQueue = "metronome-spotify"
)

// startRun starts PipelineWorkflow for date with the options of `starter
// run`: a running ID is attached to, a closed one may run again.
func startRun(ctx context.Context, c client.Client, date, taskQueue, spotifyTaskQueue string) (client.WorkflowRun, error) {
	id := workflows.PipelineWorkflowID(date)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.PipelineWorkflow, workflows.PipelineInput{
		Date: date, Parallelism: parallelism, SpotifyTaskQueue: spotifyTaskQueue, Trigger: "manual",
		// runDate is fixed and past: every run captures it again, as a late
		// capture, so each scenario runs the whole pipeline.
		CaptureNow: true,
	})
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", id, err)
	}
	return run, nil
}

// wait waits for run to complete, across server restarts: only the
// workflow's own failure or the safety-net timeout end the wait early.
func (s *stack) wait(ctx context.Context, run client.WorkflowRun) workflows.PipelineResult {
	s.t.Helper()
	res, err := waitRun(ctx, s.c, run.GetID(), run.GetRunID())
	require.NoError(s.t, err)
	return res
}

func waitRun(ctx context.Context, c client.Client, id, runID string) (workflows.PipelineResult, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	for {
		var res workflows.PipelineResult
		err := c.GetWorkflow(ctx, id, runID).Get(ctx, &res)
		if err == nil {
			return res, nil
		}
		var wfErr *temporal.WorkflowExecutionError
		if errors.As(err, &wfErr) || ctx.Err() != nil {
			return res, fmt.Errorf("run %s (%s): %w", id, runID, err)
		}
		// The server is down or restarting: ask again.
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("run %s (%s): %w (last error: %v)", id, runID, ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// output reads the stack's output of date.
func (s *stack) output(date string) Output {
	s.t.Helper()
	return readDirOutput(s.t, s.dir, date)
}

func readDirOutput(t *testing.T, dir, date string) Output {
	t.Helper()
	ctx := context.Background()
	store, err := lake.Open(ctx, "file://"+filepath.Join(dir, "lake"))
	require.NoError(t, err)
	srv, err := serving.Open(ctx, "sqlite://"+filepath.Join(dir, "serving.db"))
	require.NoError(t, err)
	defer srv.Close()
	out, err := ReadOutput(ctx, store, srv, date)
	require.NoError(t, err)
	return out
}

// activityRetries is the number of activity attempts beyond the first in
// the run's history. Temporal records only the last attempt's start
// event, with its attempt number.
func activityRetries(ctx context.Context, c client.Client, id, runID string) (int, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, fmt.Errorf("read history of %s: %w", id, err)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
			n += int(a.GetAttempt()) - 1
		}
	}
	return n, nil
}

// inFlight returns the pending activities of the run that a worker process
// with pid has started and not finished: what a SIGKILL of it would lose.
func inFlight(ctx context.Context, c client.Client, id string, pid int) ([]string, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, nil
		}
		return nil, err
	}
	prefix := strconv.Itoa(pid) + "@"
	var out []string
	for _, pa := range desc.GetPendingActivities() {
		if pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && strings.HasPrefix(pa.GetLastWorkerIdentity(), prefix) {
			out = append(out, pa.GetActivityType().GetName())
		}
	}
	return out, nil
}

// runStatus reports whether the run with id is still running.
func running(ctx context.Context, c client.Client, id, runID string) bool {
	desc, err := c.DescribeWorkflowExecution(ctx, id, runID)
	return err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// pause is the longest stretch of a run's history with no event.
type pause struct {
	d           time.Duration
	from, until string // event types around it
}

func (p pause) String() string {
	return fmt.Sprintf("%.1fs between %s and %s", p.d.Seconds(), p.from, p.until)
}

// longestPause finds where a run waited longest: after a fault, that is
// usually a timeout Temporal had to let expire.
func longestPause(ctx context.Context, c client.Client, id, runID string) (pause, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var p pause
	var prev time.Time
	prevType := ""
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return p, fmt.Errorf("read history of %s: %w", id, err)
		}
		at := ev.GetEventTime().AsTime()
		typ := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
		if !prev.IsZero() && at.Sub(prev) > p.d {
			p = pause{d: at.Sub(prev), from: prevType, until: typ}
		}
		prev, prevType = at, typ
	}
	return p, nil
}
