package activities

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
)

// fakePipeline stands in for PipelineWorkflow under its name: it waits for
// a "finish" signal and returns the input's date, or fails when the signal
// says "fail".
func fakePipeline(ctx workflow.Context, in map[string]any) (map[string]any, error) {
	var how string
	workflow.GetSignalChannel(ctx, "finish").Receive(ctx, &how)
	if how == "fail" {
		return nil, temporal.NewNonRetryableApplicationError("stage collect failed", contract.ErrBadInput, nil)
	}
	return map[string]any{"date": in["date"]}, nil
}

// RunPipeline against the embedded server: two calls for the same date are
// one run (the second attaches), a retry with the first's heartbeat waits
// for that run, and a failed pipeline-D fails it without retry.
func TestRunPipelineStartsOrJoinsPipelineOfTheDate(t *testing.T) {
	if testing.Short() {
		t.Skip("component: embedded Temporal server")
	}
	_, c := devservertest.Start(t)
	w := worker.New(c, "run-pipeline-test", worker.Options{})
	w.RegisterWorkflowWithOptions(fakePipeline, workflow.RegisterOptions{Name: contract.PipelineWorkflowType})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	a := &Activities{Temporal: c}
	ctx := context.Background()
	// run calls RunPipeline for date; waiting, if not nil, is told once it
	// has started or attached and waits (its first heartbeat).
	run := func(date string, waiting chan<- struct{}, details ...any) (contract.RunPipelineResult, error) {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		if waiting != nil {
			env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) {
				select {
				case waiting <- struct{}{}:
				default:
				}
			})
		}
		if len(details) > 0 {
			env.SetHeartbeatDetails(details[0])
		}
		input, _ := json.Marshal(map[string]any{"date": date})
		v, err := env.ExecuteActivity(a.RunPipeline, contract.RunPipelineInput{Date: date, TaskQueue: "run-pipeline-test", Input: input})
		var res contract.RunPipelineResult
		if err == nil {
			require.NoError(t, v.Get(&res))
		}
		return res, err
	}
	waitFor := func(waiting <-chan struct{}) {
		select {
		case <-waiting:
		case <-time.After(time.Minute):
			t.Fatal("RunPipeline never started waiting")
		}
	}

	// Two writers of one date: one run.
	var wg sync.WaitGroup
	results := make([]contract.RunPipelineResult, 2)
	errs := make([]error, 2)
	for i := range results {
		waiting := make(chan struct{}, 1)
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = run("2026-12-01", waiting) }()
		waitFor(waiting)
	}
	require.NoError(t, c.SignalWorkflow(ctx, "pipeline-2026-12-01", "", "finish", "ok"))
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Equal(t, results[0].RunID, results[1].RunID, "two runs of one date")
	require.False(t, results[0].Attached)
	require.True(t, results[1].Attached)
	require.JSONEq(t, `{"date":"2026-12-01"}`, string(results[0].Result))

	// A retry after a lost worker waits for the run of its heartbeat, even
	// closed, instead of starting the date again.
	again, err := run("2026-12-01", nil, runPipelinePulse{RunID: results[0].RunID})
	require.NoError(t, err)
	require.Equal(t, results[0].RunID, again.RunID)

	// A failed pipeline-D fails RunPipeline, not to be retried.
	done := make(chan error, 1)
	waiting := make(chan struct{}, 1)
	go func() { _, err := run("2026-12-02", waiting); done <- err }()
	waitFor(waiting)
	require.NoError(t, c.SignalWorkflow(ctx, "pipeline-2026-12-02", "", "finish", "fail"))
	err = <-done
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	require.Equal(t, contract.ErrPipelineFailed, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.ErrorContains(t, err, "pipeline-2026-12-02")
	require.ErrorContains(t, err, "stage collect failed")
}
