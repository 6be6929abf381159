package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/workerproc"
	"github.com/metronome-data/metronome/workflows"
)

// seedEnv overrides the seed of the random kill and restart moments.
const seedEnv = "METRONOME_CHAOS_SEED"

const defaultSeed = 8

func seed(t *testing.T) uint64 {
	t.Helper()
	v := os.Getenv(seedEnv)
	if v == "" {
		return defaultSeed
	}
	n, err := strconv.ParseUint(v, 10, 64)
	require.NoError(t, err, "%s=%q: want an unsigned integer", seedEnv, v)
	return n
}

// reference is the fault-free run every process scenario compares with.
type reference struct {
	out      Output
	duration time.Duration
	calls    int // Spotify API calls it made
	// stageMillis is the time of each stage, from the manifest.
	stageMillis map[string]int64
}

// scenario is one fault scenario: it fills res as it goes, so a failed
// scenario still reports what it saw.
type scenario struct {
	name string
	run  func(t *testing.T, ref reference, res *Result)
}

// TestChaos runs the fault scenarios at once (each in its own world: an
// embedded Temporal server, a fake Spotify, a data directory), compares
// each with a fault-free reference run, and prints the report table.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos end-to-end tests: embedded Temporal server and worker processes")
	}
	workerBinary(t)
	ref := referenceRun(t)
	t.Logf("reference run: %d artists, %d curated rows, %d mart rows, %d serving items, %d Spotify calls, %v",
		ref.out.Artists, ref.out.RowCount(), ref.out.MartRowCount(), len(ref.out.Items), ref.calls, ref.duration.Round(100*time.Millisecond))

	scenarios := []scenario{
		{"worker kill -9", scenarioWorkerKill},
		{"two workers, one dies", scenarioTwoWorkers},
		{"server restart", scenarioServerRestart},
		{"server kill -9", scenarioServerKill},
		{"API faults", scenarioAPIFaults},
		{"storage faults", scenarioStorageFaults},
		{"re-run and overlap", scenarioRerunOverlap},
	}
	// The scenarios spend most of their time waiting for Temporal's
	// timeouts, so they run together; t.Run from several goroutines is
	// allowed as long as all return before this test does.
	results := make(Report, len(scenarios))
	ran := make([]bool, len(scenarios))
	var wg sync.WaitGroup
	for i, sc := range scenarios {
		results[i] = Result{Scenario: sc.name, Reference: ref.duration, Rows: ref.out.RowCount()}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
				ran[i] = true
				defer func() {
					if t.Failed() && results[i].Err == "" {
						results[i].Err = "see the test log"
					}
				}()
				sc.run(t, ref, &results[i])
			})
		}()
	}
	wg.Wait()

	// Scenarios left out by -run are left out of the report.
	var report Report
	for i, r := range results {
		if ran[i] {
			report = append(report, r)
		}
	}
	t.Logf("chaos report (seed %d):\n%s", seed(t), report.Table())
	if path := os.Getenv(ReportEnv); path != "" {
		require.NoError(t, report.WriteFile(path))
	}
}

// referenceRun is one undisturbed run over the catalog.
func referenceRun(t *testing.T) reference {
	t.Helper()
	s := newStack(t, "reference", stackOptions{fake: fakeOptions()})
	defer s.close()
	s.startWorker()
	ctx := context.Background()
	start := time.Now()
	res := s.wait(ctx, s.start(ctx, runDate))
	ref := reference{duration: time.Since(start), calls: s.fake.Stats().APICalls()}
	ref.out = s.output(runDate)
	m, err := activities.ReadManifest(ctx, mustLake(t, s.dir), runDate)
	require.NoError(t, err)
	ref.stageMillis = m.StageMillis
	require.Equal(t, catalogSize, res.Artists)
	require.Equal(t, catalogSize, ref.out.Artists)
	require.Positive(t, ref.out.RowCount())
	require.Positive(t, ref.out.MartRowCount())
	require.Zero(t, Duplicates(ref.out), "the reference run holds duplicate rows or items")
	require.Empty(t, ref.out.QuarantineKeys, "the reference run quarantined records")
	return ref
}

// check compares a scenario's output with the reference and records it.
func check(t *testing.T, s *stack, ref reference, res *Result, runIDs ...string) {
	t.Helper()
	got := s.output(runDate)
	d := Compare(ref.out, got)
	res.Record(d)
	for _, runID := range runIDs {
		n, err := activityRetries(context.Background(), s.c, workflows.PipelineWorkflowID(runDate), runID)
		require.NoError(t, err)
		res.Retries += n
	}
	require.True(t, d.Identical(), "output differs from the reference run: %s", d)
	require.Zero(t, Duplicates(got))
}

// held summarizes the activities a worker held when it was killed.
func held(acts []string) string {
	if len(acts) == 0 {
		return "nothing in flight"
	}
	count := map[string]int{}
	for _, a := range acts {
		count[a]++
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s×%d", n, count[n])
	}
	return strings.Join(parts, "+")
}

// killCount is the number of kills of scenario 1.
const killCount = 5

// minUptime is how long a restarted worker runs at least before the next
// kill; holdWait is how long a kill waits for the worker to hold work.
const (
	minUptime = 700 * time.Millisecond
	holdWait  = 10 * time.Second
)

// awaitAnyInFlight is awaitInFlight for the first of several workers to
// hold activities.
func awaitAnyInFlight(ctx context.Context, c client.Client, run client.WorkflowRun, workers []*workerproc.Process, limit time.Duration) (*workerproc.Process, []string, error) {
	deadline := time.Now().Add(limit)
	for {
		for _, w := range workers {
			acts, err := inFlight(ctx, c, run.GetID(), w.PID())
			if err != nil || len(acts) > 0 {
				return w, acts, err
			}
		}
		if time.Now().After(deadline) || !running(ctx, c, run.GetID(), run.GetRunID()) {
			return workers[0], nil, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitInFlight waits until the worker process pid holds activities of
// run, the run ends, or limit passes, and returns what it holds.
func awaitInFlight(ctx context.Context, c client.Client, run client.WorkflowRun, pid int, limit time.Duration) ([]string, error) {
	deadline := time.Now().Add(limit)
	for {
		acts, err := inFlight(ctx, c, run.GetID(), pid)
		if err != nil || len(acts) > 0 || time.Now().After(deadline) || !running(ctx, c, run.GetID(), run.GetRunID()) {
			return acts, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scenarioWorkerKill: one worker process, SIGKILLed at 5 seeded-random
// points of the run and restarted each time.
func scenarioWorkerKill(t *testing.T, ref reference, res *Result) {
	s := newStack(t, "kill", stackOptions{fake: fakeOptions()})
	w := s.startWorker()
	ctx := context.Background()
	points := killPoints(seed(t), killCount, ref.stageMillis)
	start := time.Now()
	run := s.start(ctx, runDate)
	restarted := start
	var hits []string
	holding := 0 // kills of a worker that held activities
	for _, p := range points {
		waitForPoint(ctx, s.c, run, p, s.apiCalls, ref.calls)
		time.Sleep(time.Until(restarted.Add(minUptime)))
		// A kill matters when the worker holds activities; a restarted
		// worker gets none until the workflow task stuck on the dead
		// worker's sticky queue moves on (5 s), and none while the run
		// waits for a heartbeat timeout. Wait for work a while, then kill
		// anyway.
		acts, err := awaitInFlight(ctx, s.c, run, w.PID(), holdWait)
		require.NoError(t, err)
		if !running(ctx, s.c, run.GetID(), run.GetRunID()) {
			break
		}
		require.NoError(t, w.Kill())
		if len(acts) > 0 {
			holding++
		}
		hits = append(hits, fmt.Sprintf("%s at %.1fs: %s", p, time.Since(start).Seconds(), held(acts)))
		w = s.startWorker()
		restarted = time.Now()
	}
	res.Faults = fmt.Sprintf("%d× SIGKILL + restart", len(hits))
	s.wait(ctx, run)
	res.Duration = time.Since(start)
	p, err := longestPause(ctx, s.c, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	res.Note = "kills at " + strings.Join(hits, "; ") + "; longest pause in the history: " + p.String()
	res.Runs = 1
	require.Len(t, hits, len(points), "the run completed before every kill")
	check(t, s, ref, res, run.GetRunID())
	// Kills of an idle worker would prove nothing: some must have
	// interrupted running activities, which Temporal then retried.
	require.Positive(t, holding, "no kill found the worker holding an activity: %s", res.Note)
	require.Positive(t, res.Retries, "no activity was retried after the kills: %s", res.Note)
}

// scenarioTwoWorkers: two worker processes; the one holding the activity
// of a seeded-random point of clean, store or aggregate is SIGKILLed and
// not restarted; the other finishes alone.
func scenarioTwoWorkers(t *testing.T, ref reference, res *Result) {
	s := newStack(t, "two", stackOptions{fake: fakeOptions()})
	workers := []*workerproc.Process{s.startWorker(), s.startWorker()}
	ctx := context.Background()
	// Scenario 1 kills mostly in collect; this one kills in one of the
	// single-activity stages, whose loss the survivor cannot hide by
	// running other batches meanwhile: one scenario 1 does not kill in.
	var stages []string
	for _, st := range killStages[1:] {
		if !slices.ContainsFunc(killPoints(seed(t), killCount, ref.stageMillis), func(p killPoint) bool { return p.stage == st }) {
			stages = append(stages, st)
		}
	}
	point := drawPoints(seed(t)+1, 1, ref.stageMillis, stages)[0]
	start := time.Now()
	run := s.start(ctx, runDate)
	waitForPoint(ctx, s.c, run, point, s.apiCalls, ref.calls)
	// The worker that holds the activity dies: that is what must be
	// recovered.
	doomed, acts, err := awaitAnyInFlight(ctx, s.c, run, workers, runTimeout)
	require.NoError(t, err)
	require.NotEmpty(t, acts, "the run completed before a worker held an activity")
	survivor := workers[0]
	if survivor == doomed {
		survivor = workers[1]
	}
	// A survivor that never started (its log says why) would leave the
	// run waiting until runTimeout.
	require.False(t, survivor.Exited(), "worker %s exited before the kill: see its log", survivor.Name)
	require.NoError(t, doomed.Kill())
	killedAt := time.Since(start)
	s.wait(ctx, run)
	res.Duration = time.Since(start)
	res.Runs = 1
	res.Faults = "1 of 2 workers SIGKILLed, not restarted"
	p, err := longestPause(ctx, s.c, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	res.Note = fmt.Sprintf("killed at %s (%.1fs) holding %s; the survivor finished %.0fs later; longest pause in the history: %s",
		point, killedAt.Seconds(), held(acts), (res.Duration - killedAt).Seconds(), p)
	require.False(t, survivor.Exited(), "the surviving worker exited")
	check(t, s, ref, res, run.GetRunID())
	// Activities the worker finished between the look and the kill are
	// not retried, so held is an upper bound.
	require.Positive(t, res.Retries, "what the dead worker held was retried")
}

// scenarioServerRestart: the embedded server is stopped at a
// seeded-random point of the run and started again on the same SQLite file
// and port.
func scenarioServerRestart(t *testing.T, ref reference, res *Result) {
	s := newStack(t, "restart", stackOptions{fake: fakeOptions()})
	w := s.startWorker()
	ctx := context.Background()
	point := drawPoints(seed(t)+2, 1, ref.stageMillis, killStages)[0]
	const downtime = 2 * time.Second
	start := time.Now()
	run := s.start(ctx, runDate)
	waitForPoint(ctx, s.c, run, point, s.apiCalls, ref.calls)
	require.True(t, running(ctx, s.c, run.GetID(), run.GetRunID()), "the run completed before the restart")
	acts, err := inFlight(ctx, s.c, run.GetID(), w.PID())
	require.NoError(t, err)
	stopAt := time.Since(start)
	s.restartServer(downtime)
	back := time.Since(start)
	s.wait(ctx, run)
	res.Duration = time.Since(start)
	res.Runs = 1
	res.Faults = "1 server stop + start"
	p, err := longestPause(ctx, s.c, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	res.Note = fmt.Sprintf("server stopped at %s (%.1fs; the worker held %s), serving again at %.1fs; longest pause in the history: %s",
		point, stopAt.Seconds(), held(acts), back.Seconds(), p)
	require.False(t, w.Exited(), "the worker exited while the server was down")
	check(t, s, ref, res, run.GetRunID())
}

// scenarioAPIFaults: the fake Spotify answers 10% 5xx, 5% 429 with a
// Retry-After, 2% slower than the client's timeout and 1% malformed JSON.
func scenarioAPIFaults(t *testing.T, ref reference, res *Result) {
	opts := fakeOptions()
	opts.Faults = spotifyfake.Faults{
		ServerError: 0.10, RateLimited: 0.05, RetryAfter: time.Second,
		Slow: 0.02, SlowDelay: 5 * time.Second, Malformed: 0.01, Seed: int64(seed(t)),
	}
	s := newStack(t, "api", stackOptions{fake: opts, env: []string{"METRONOME_SPOTIFY_TIMEOUT=2s"}})
	s.startWorker()
	ctx := context.Background()
	start := time.Now()
	run := s.start(ctx, runDate)
	s.wait(ctx, run)
	res.Duration = time.Since(start)
	res.Runs = 1
	st := s.fake.Stats()
	res.Faults = fmt.Sprintf("%d API calls: %d× 5xx, %d× 429 (Retry-After 1s), %d× slow (>2s timeout), %d× malformed",
		st.APICalls(), st.Faults["5xx"], st.Faults["429"], st.Faults["slow"], st.Faults["malformed"])
	got := s.output(runDate)
	res.Note = fmt.Sprintf("quarantined %d records (%v); malformed answers fail the transport's JSON check and are re-fetched, so none reach the raw data; %d requests arrived while a Retry-After was in force",
		rejectedTotal(got), got.QuarantineKeys, st.DuringRetryAfter)
	require.Positive(t, st.Faults["5xx"])
	require.Positive(t, st.Faults["slow"])
	require.Positive(t, st.Faults["malformed"])
	require.Positive(t, st.Faults["429"])
	require.Zero(t, rejectedTotal(got), "records were quarantined: %v", got.Rejected)
	check(t, s, ref, res, run.GetRunID())
}

func rejectedTotal(o Output) int {
	n := 0
	for _, reasons := range o.Rejected {
		for _, c := range reasons {
			n += c
		}
	}
	return n
}

// scenarioRerunOverlap: the date is started, started again while it runs
// (which attaches), and run again once it completed: the output is one
// run's.
func scenarioRerunOverlap(t *testing.T, ref reference, res *Result) {
	s := newStack(t, "rerun", stackOptions{fake: fakeOptions()})
	s.startWorker()
	ctx := context.Background()
	start := time.Now()
	first := s.start(ctx, runDate)
	time.Sleep(ref.duration / 3)
	require.True(t, running(ctx, s.c, first.GetID(), first.GetRunID()), "the first run completed before the overlapping start")
	overlap := s.start(ctx, runDate)
	require.Equal(t, first.GetRunID(), overlap.GetRunID(), "a start while the date runs attaches to the running run")
	s.wait(ctx, overlap)
	check(t, s, ref, res, first.GetRunID())

	second := s.start(ctx, runDate)
	require.NotEqual(t, first.GetRunID(), second.GetRunID(), "a completed date runs again")
	s.wait(ctx, second)
	res.Duration = time.Since(start)
	res.Runs = 2
	res.Faults = "1 overlapping start (attached), 1 re-run"
	check(t, s, ref, res, second.GetRunID())

	// Exactly the two runs exist: the overlapping start made none.
	require.Eventually(t, func() bool {
		resp, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowId = '" + first.GetID() + "'",
		})
		return err == nil && len(resp.GetExecutions()) == 2
	}, 30*time.Second, 200*time.Millisecond, "want exactly two executions of %s", first.GetID())
}

func mustLake(t *testing.T, dir string) lake.Store {
	t.Helper()
	store, err := lake.Open(context.Background(), "file://"+filepath.Join(dir, "lake"))
	require.NoError(t, err)
	return store
}
