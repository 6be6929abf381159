package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/workflows"
)

// fakeStages stand in for the pipeline's activities under their names.
// Every date counts as captured, so backfills reprocess it; a run is "in
// flight" from its Clean (the first stage of every kind of run) to its
// WriteManifest, and each clean takes delay. A date whose WriteManifest ran
// is processed.
type fakeStages struct {
	delay time.Duration

	mu        sync.Mutex
	inFlight  map[string]bool
	peak      int
	runs      map[string]int // Clean calls per date
	processed map[string]bool
}

func newFakeStages(delay time.Duration) *fakeStages {
	return &fakeStages{delay: delay, inFlight: map[string]bool{}, runs: map[string]int{}, processed: map[string]bool{}}
}

func (f *fakeStages) resolve(_ context.Context, in contract.ResolveInput) (contract.ResolveResult, error) {
	return contract.ResolveResult{ArtistsKey: contract.ArtistsListKey(in.Date), Artists: 1, Batches: 1, BatchSize: 50, Mode: "extended"}, nil
}

func (f *fakeStages) collect(_ context.Context, in contract.CollectInput) (contract.CollectResult, error) {
	return contract.CollectResult{Batch: in.Batch, Records: map[string]int{"artists": 1}}, nil
}

func (f *fakeStages) partitions(_ context.Context, in contract.PartitionsInput) (contract.PartitionsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	dates, err := workflows.BackfillDates(in.From, in.To)
	res := contract.PartitionsResult{Captured: dates, Processed: []string{}}
	for _, d := range dates {
		if f.processed[d] {
			res.Processed = append(res.Processed, d)
		}
	}
	return res, err
}

func (f *fakeStages) partition(_ context.Context, date string) (contract.PartitionState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return contract.PartitionState{Date: date, Captured: true,
		Capture: contract.CaptureSummary{Kind: contract.KindCapture, Mode: "extended", Artists: 1, Batches: 1, BatchSize: 50}}, nil
}

func (f *fakeStages) beginCapture(context.Context, string) error { return nil }

func (f *fakeStages) completeCapture(_ context.Context, in contract.CaptureInput) (contract.CaptureSummary, error) {
	return contract.CaptureSummary{Kind: in.Kind, Mode: in.Mode, Artists: in.Artists, Batches: in.Batches}, nil
}

func (f *fakeStages) clean(_ context.Context, in contract.CleanInput) (contract.CleanResult, error) {
	f.mu.Lock()
	f.runs[in.Date]++
	f.inFlight[in.Date] = true
	f.peak = max(f.peak, len(f.inFlight))
	f.mu.Unlock()
	// Ignores cancellation, like an activity finishing its work while its
	// worker stops gracefully.
	time.Sleep(f.delay)
	return contract.CleanResult{}, nil
}

func (f *fakeStages) store(context.Context, contract.StoreInput) (contract.StoreResult, error) {
	return contract.StoreResult{}, nil
}

func (f *fakeStages) aggregate(context.Context, contract.AggregateInput) (contract.AggregateResult, error) {
	return contract.AggregateResult{}, nil
}

func (f *fakeStages) manifest(_ context.Context, in contract.ManifestInput) (contract.ManifestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.inFlight, in.Date)
	f.processed[in.Date] = true
	return contract.ManifestResult{Key: "manifests/dt=" + in.Date + "/pipeline.json"}, nil
}

func (f *fakeStages) counts() (peak int, runs map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	runs = map[string]int{}
	for k, v := range f.runs {
		runs[k] = v
	}
	return f.peak, runs
}

// startFakeWorker runs metronome's workflows with the fake stages on both
// task queues; stop stops it gracefully.
func startFakeWorker(t *testing.T, c client.Client, f *fakeStages) (stop func()) {
	t.Helper()
	var ws []worker.Worker
	for _, q := range []string{"metronome", "metronome-spotify"} {
		w := worker.New(c, q, worker.Options{WorkerStopTimeout: 10 * time.Second})
		if q == "metronome" {
			workflows.Register(w)
		}
		for name, fn := range map[string]any{
			"Resolve": f.resolve, "CollectBatch": f.collect, "Clean": f.clean, "Store": f.store,
			"Aggregate": f.aggregate, "WriteManifest": f.manifest, "Partitions": f.partitions,
			"Partition": f.partition, "BeginCapture": f.beginCapture, "CompleteCapture": f.completeCapture,
		} {
			w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
		}
		require.NoError(t, w.Start())
		ws = append(ws, w)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			for _, w := range ws {
				w.Stop()
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func daysAgo(n int) string {
	return time.Now().UTC().AddDate(0, 0, -n).Format(workflows.DateLayout)
}

// pipelineExecutions counts the executions of pipeline-D that visibility
// lists, open or closed.
func pipelineExecutions(t *testing.T, c client.Client, date string) int {
	t.Helper()
	resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", workflows.PipelineWorkflowID(date)),
	})
	require.NoError(t, err)
	return len(resp.GetExecutions())
}

// replayAll replays the history of every execution the visibility query
// lists with the current workflow code: a non-deterministic change fails.
func replayAll(t *testing.T, c client.Client, query string) int {
	t.Helper()
	resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	require.NoError(t, err)
	r := worker.NewWorkflowReplayer()
	for _, w := range []any{workflows.PipelineWorkflow, workflows.BackfillWorkflow,
		workflows.ArtistRequestWorkflow, workflows.ArtistRequestRunWorkflow} {
		r.RegisterWorkflow(w)
	}
	for _, e := range resp.GetExecutions() {
		exec := workflow.Execution{ID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId()}
		require.NoError(t, r.ReplayWorkflowExecution(context.Background(), c.WorkflowService(), nil, "default", exec),
			"replay %s/%s", exec.ID, exec.RunID)
	}
	return len(resp.GetExecutions())
}

// A backfill of 10 dates with --parallel 3 never has more than 3 runs in
// flight, survives a worker restart mid-way, and a second invocation of the
// same range runs no completed date again.
func TestBackfillEndToEnd(t *testing.T) {
	_, c := testServer(t, devserver.Options{})
	stages := newFakeStages(400 * time.Millisecond)
	stopFirst := startFakeWorker(t, c, stages)
	from, to := daysAgo(30), daysAgo(21)
	id := workflows.BackfillWorkflowID(from, to)

	first := make(chan starterResult, 1)
	go func() { first <- starter("backfill", "--from", from, "--to", to, "--parallel", "3", "--wait") }()

	// Restart the worker once a few dates are done.
	require.Eventually(t, func() bool {
		v, err := c.QueryWorkflow(context.Background(), id, "", workflows.ProgressQuery)
		if err != nil {
			return false
		}
		var p workflows.BackfillProgress
		return v.Get(&p) == nil && p.Settled() >= 3
	}, time.Minute, 100*time.Millisecond)
	stopFirst()
	// Attaching while it runs starts nothing new.
	attach := starter("backfill", "--from", from, "--to", to, "--parallel", "3")
	require.Equal(t, 0, attach.code, attach.stderr)
	require.Contains(t, attach.stdout, "attached to running "+id)
	desc, err := c.DescribeWorkflowExecution(context.Background(), id, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())
	startFakeWorker(t, c, stages)

	r := <-first
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "10 completed, 0 skipped (done before), 0 not captured, 0 failed")
	peak, runs := stages.counts()
	require.LessOrEqual(t, peak, 3, "runs in flight at once (activities' view)")
	require.GreaterOrEqual(t, peak, 2, "runs never overlapped")
	require.Len(t, runs, 10)
	for date, n := range runs {
		require.Equal(t, 1, n, "date %s ran %d times", date, n)
	}
	var res workflows.BackfillResult
	require.NoError(t, c.GetWorkflow(context.Background(), id, "").Get(context.Background(), &res))
	require.LessOrEqual(t, res.PeakRunning, 3, "runs in flight at once (the workflow's accounting)")
	require.Len(t, res.Completed, 10)

	// The same range again: a new execution that skips every date.
	again := starter("backfill", "--from", from, "--to", to, "--parallel", "3", "--wait", "-o", "json")
	require.Equal(t, 0, again.code, again.stderr)
	require.Contains(t, again.stdout, `"skipped": [`)
	_, runsAfter := stages.counts()
	require.Equal(t, runs, runsAfter, "a completed date ran again")
	for date := range runs {
		require.Equal(t, 1, pipelineExecutions(t, c, date), "executions of pipeline-%s", date)
	}

	require.Equal(t, 2, replayAll(t, c, "WorkflowType = 'BackfillWorkflow'"), "both backfill executions replayed")

	// status lists the runs by logical date, and shows the backfill.
	list := starter("status", "--from", daysAgo(29), "--to", daysAgo(27))
	require.Equal(t, 0, list.code, list.stderr)
	for _, d := range []string{daysAgo(29), daysAgo(28), daysAgo(27)} {
		require.Contains(t, list.stdout, workflows.PipelineWorkflowID(d))
	}
	require.NotContains(t, list.stdout, workflows.PipelineWorkflowID(daysAgo(30)))
	require.Equal(t, 3, strings.Count(list.stdout, "\npipeline-"), "three runs listed:\n%s", list.stdout)
	recent := starter("status", "--limit", "4")
	require.Equal(t, 0, recent.code, recent.stderr)
	require.Equal(t, 4, strings.Count(recent.stdout, "\npipeline-"), "--limit 4:\n%s", recent.stdout)
	show := starter("status", id)
	require.Equal(t, 0, show.code, show.stderr)
	require.Contains(t, show.stdout, "10/10 dates  completed 0  skipped 10  not captured 0  failed 0")
	run := starter("status", workflows.PipelineWorkflowID(from))
	require.Equal(t, 0, run.code, run.stderr)
	require.Contains(t, run.stdout, "Completed")
	require.Contains(t, run.stdout, "date      "+from)
}

// Cancelling a backfill cancels its children cleanly and starts no more.
func TestBackfillCancelEndToEnd(t *testing.T) {
	_, c := testServer(t, devserver.Options{})
	startFakeWorker(t, c, newFakeStages(3*time.Second))
	from, to := daysAgo(10), daysAgo(5)
	id := workflows.BackfillWorkflowID(from, to)

	r := starter("backfill", "--from", from, "--to", to, "--parallel", "2")
	require.Equal(t, 0, r.code, r.stderr)
	require.Eventually(t, func() bool {
		v, err := c.QueryWorkflow(context.Background(), id, "", workflows.ProgressQuery)
		var p workflows.BackfillProgress
		return err == nil && v.Get(&p) == nil && len(p.Running) == 2
	}, 30*time.Second, 100*time.Millisecond)
	live := starter("status", id)
	require.Equal(t, 0, live.code, live.stderr)
	require.Contains(t, live.stdout, "running   "+daysAgo(10)+", "+daysAgo(9))
	require.Contains(t, live.stdout, "0/6 dates")

	cancel := starter("cancel", id, "--reason", "wrong range")
	require.Equal(t, 0, cancel.code, cancel.stderr)
	require.Contains(t, cancel.stdout, "cancel "+id+": Canceled")
	for _, d := range []string{daysAgo(10), daysAgo(9)} {
		desc, err := c.DescribeWorkflowExecution(context.Background(), workflows.PipelineWorkflowID(d), "")
		require.NoError(t, err)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, desc.GetWorkflowExecutionInfo().GetStatus(), d)
	}
	for _, d := range []string{daysAgo(8), daysAgo(5)} {
		_, err := c.DescribeWorkflowExecution(context.Background(), workflows.PipelineWorkflowID(d), "")
		var nf *serviceerror.NotFound
		require.ErrorAs(t, err, &nf, "%s started after the cancel", d)
	}
	all := starter("status")
	require.Equal(t, 0, all.code, all.stderr)
	require.Regexp(t, workflows.PipelineWorkflowID(daysAgo(10))+` +`+daysAgo(10)+` +Canceled`, all.stdout)
	require.NotContains(t, all.stdout, "backfill running", "the cancelled backfill is not listed as running")
	status := starter("status", id)
	require.Equal(t, 1, status.code, "a cancelled backfill is not a success")
	require.Contains(t, status.stdout, "Canceled")

	again := starter("cancel", id)
	require.Equal(t, 1, again.code)
	require.Contains(t, again.stderr, "is not running (Canceled)")
	unknown := starter("terminate", "pipeline-1999-01-01", "--reason", "x")
	require.Equal(t, 2, unknown.code, unknown.stderr)
	require.Contains(t, unknown.stderr, `no workflow "pipeline-1999-01-01"`)
	missing := starter("status", "backfill-nope")
	require.Equal(t, 2, missing.code, missing.stderr)
}
