package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/workflows"
)

// A schedule trigger, a manual run and a backfill of the same date D,
// started within a second while a slow Spotify makes the capture last
// seconds, are one execution of pipeline-D: visibility never lists two
// running PipelineWorkflows of D, and Spotify is called for one capture.
func TestOneWriterPerDate(t *testing.T) {
	_, c := testServer(t, devserver.Options{})
	// Latency on every answer stretches the capture over a few seconds, so
	// the three starts land while it runs.
	t.Setenv("METRONOME_SPOTIFY_FAKE_LATENCY", "150ms")
	cfg, fake := startRealWorkerWithFake(t, c, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The three starts must share the date: stay clear of midnight UTC.
	if untilMidnight := time.Until(time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)); untilMidnight < time.Minute {
		time.Sleep(untilMidnight + time.Second)
	}
	today := time.Now().UTC().Format(workflows.DateLayout)
	id := workflows.PipelineWorkflowID(today)
	r := starter("schedule", "create", "--id", "race", "--cron", "0 3 1 1 *")
	require.Equal(t, 0, r.code, r.stderr)
	require.Zero(t, fake.Stats().APICalls(), "nothing called Spotify yet")

	// Poll visibility for running PipelineWorkflows of D until told to stop.
	// PipelineDate = D, as the range of the day: equality on a datetime
	// attribute depends on how the store keeps its precision.
	dayStart := time.Now().UTC().Truncate(24 * time.Hour)
	ofDate := fmt.Sprintf("WorkflowType = 'PipelineWorkflow' AND PipelineDate >= '%s' AND PipelineDate < '%s'",
		dayStart.Format(time.RFC3339), dayStart.AddDate(0, 0, 1).Format(time.RFC3339))
	query := ofDate + " AND ExecutionStatus = 'Running'"
	stopPoll := make(chan struct{})
	var (
		pollMu            sync.Mutex
		peak, polls, saw  int
		pollErr           error
		runningExecutions = map[string]bool{}
	)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
			pollMu.Lock()
			if err != nil {
				pollErr = err
			} else {
				polls++
				n := len(resp.GetExecutions())
				peak = max(peak, n)
				if n > 0 {
					saw++
				}
				for _, e := range resp.GetExecutions() {
					runningExecutions[e.GetExecution().GetWorkflowId()+"/"+e.GetExecution().GetRunId()] = true
				}
			}
			pollMu.Unlock()
			select {
			case <-stopPoll:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	// The three starts, back to back.
	t0 := time.Now()
	tr := starter("schedule", "trigger", "--id", "race")
	require.Equal(t, 0, tr.code, tr.stderr)
	in, err := pipelineInput(cfg, today, nil, "")
	require.NoError(t, err)
	run, _, err := startPipeline(ctx, c, cfg, in)
	require.NoError(t, err)
	bf := starter("backfill", "--from", today, "--to", today)
	require.Equal(t, 0, bf.code, bf.stderr)
	t.Logf("three starts of %s in %s", today, time.Since(t0).Round(time.Millisecond))

	// The manual run, the schedule's action and the backfill all end.
	var res workflows.PipelineResult
	require.NoError(t, run.Get(ctx, &res), "pipeline %s", id)
	require.Eventually(t, func() bool {
		return len(describeScheduleInfo(t, c, "race").Info.RecentActions) == 1
	}, time.Minute, 100*time.Millisecond)
	action := describeScheduleInfo(t, c, "race").Info.RecentActions[0].StartWorkflowResult
	var scheduled workflows.ScheduledResult
	require.NoError(t, c.GetWorkflow(ctx, action.WorkflowID, action.FirstExecutionRunID).Get(ctx, &scheduled), action.WorkflowID)
	bfRun := c.GetWorkflow(ctx, workflows.BackfillWorkflowID(today, today), "")
	var bfRes workflows.BackfillResult
	bfErr := bfRun.Get(ctx, &bfRes) // a date not captured yet may fail it: reprocess only
	close(stopPoll)
	<-polled

	pollMu.Lock()
	defer pollMu.Unlock()
	require.NoError(t, pollErr)
	t.Logf("visibility polled %d times, %d while pipeline-%s ran: at most %d running at once (%d executions seen running); "+
		"backfill: %+v, err %v", polls, saw, today, peak, len(runningExecutions), bfRes, bfErr)
	require.Positive(t, saw, "visibility never showed the run running: the capture was too quick to watch")
	require.Equal(t, 1, peak, "PipelineWorkflows of %s running at once", today)
	require.Len(t, runningExecutions, 1, "executions of %s seen running", today)

	// The schedule's action joined the one run, and no other ever ran.
	require.Equal(t, id, scheduled.WorkflowID)
	require.Equal(t, run.GetRunID(), scheduled.RunID, "the schedule's action waited for the run of the date")
	require.Equal(t, 1, pipelineExecutions(t, c, today), "executions of %s", id)
	all, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: ofDate})
	require.NoError(t, err)
	require.Len(t, all.GetExecutions(), 1, "PipelineWorkflows of %s, open or closed", today)
	if bfErr == nil {
		require.NotContains(t, bfRes.Completed, today, "the backfill ran %s beside the capture", today)
	}

	// Spotify was called for one capture: what the manifest says the one
	// capture called is all the fake served.
	store, err := lake.Open(ctx, cfg.Lake.URL)
	require.NoError(t, err)
	m, err := activities.ReadManifest(ctx, store, today)
	require.NoError(t, err)
	require.Equal(t, id, m.WorkflowID)
	require.Equal(t, workflows.KindCapture, m.Kind)
	captureCalls := m.Resolve.Searches + m.Resolve.Probes
	for _, n := range m.Collect.Calls {
		captureCalls += n
	}
	served := fake.Stats().APICalls()
	t.Logf("Spotify API calls: %d served, %d in the capture's manifest", served, captureCalls)
	require.Positive(t, captureCalls)
	require.Equal(t, captureCalls, served, "Spotify calls beyond the one capture of %s", today)
}
