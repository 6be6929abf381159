package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
)

// scheduledTime is the scheduled start time of the runs below: D is
// 2026-12-01 in UTC.
var scheduledTime = time.Date(2026, 12, 1, 9, 29, 43, 0, time.UTC)

// scheduledEnv is a test environment for a run a schedule started at
// scheduledTime, whose workflow clock reads scheduledTime+late. Every
// activity is registered, none is mocked: a call the test did not mock
// fails the run.
func scheduledEnv(t *testing.T, late time.Duration) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	env := newTestEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	env.SetStartTime(scheduledTime.Add(late))
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "scheduled-pipeline-2026-12-01T09:29:43Z", TaskQueue: "metronome"})
	require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStart.ValueSet(scheduledTime))))
	return env
}

// onRunPipeline mocks RunPipeline: it records its input and answers as a
// pipeline-D that completed for the date, attached or not.
func onRunPipeline(env *testsuite.TestWorkflowEnvironment, attached bool, got *[]contract.RunPipelineInput) {
	var a *activities.Activities
	env.OnActivity(a.RunPipeline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.RunPipelineInput) (contract.RunPipelineResult, error) {
			*got = append(*got, in)
			res, _ := json.Marshal(PipelineResult{Date: in.Date, Artists: 7, ManifestKey: "manifests/dt=" + in.Date + "/pipeline.json"})
			return contract.RunPipelineResult{WorkflowID: PipelineWorkflowID(in.Date), RunID: "run-1", Attached: attached, Result: res}, nil
		})
}

// Inside the capture window a scheduled run hands its date to pipeline-D
// through RunPipeline, with the schedule's input and the date set, and
// returns which execution ran it.
func TestScheduledRunJoinsPipelineOfTheDate(t *testing.T) {
	// Caught up an hour after the date ended: inside the default grace.
	env := scheduledEnv(t, 15*time.Hour+time.Hour)
	var got []contract.RunPipelineInput
	onRunPipeline(env, true, &got)
	env.ExecuteWorkflow(ScheduledPipelineWorkflow, PipelineInput{
		Trigger: "schedule", TimeZone: "UTC", Artists: []string{"a", "b"}, CaptureGrace: 2 * time.Hour,
	})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, got, 1)
	require.Equal(t, "2026-12-01", got[0].Date)
	require.Equal(t, "metronome", got[0].TaskQueue)
	var in PipelineInput
	require.NoError(t, json.Unmarshal(got[0].Input, &in))
	require.Equal(t, PipelineInput{Date: "2026-12-01", Trigger: "schedule", TimeZone: "UTC",
		Artists: []string{"a", "b"}, CaptureGrace: 2 * time.Hour}, in)

	var res ScheduledResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "2026-12-01", res.Date)
	require.Equal(t, "pipeline-2026-12-01", res.WorkflowID)
	require.Equal(t, "run-1", res.RunID)
	require.True(t, res.Attached)
	require.Equal(t, 7, res.Pipeline.Artists)

	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	var p ScheduledProgress
	require.NoError(t, v.Get(&p))
	require.Equal(t, ScheduledProgress{Date: "2026-12-01", Stage: StageDone, Pipeline: "pipeline-2026-12-01",
		Window: CaptureWindow{Start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)}},
		p)
}

// The date is the scheduled time's in the schedule's zone, and so is the
// window: 23:30 UTC on 30 November is 1 December in Berlin.
func TestScheduledRunTakesDateAndWindowInTheSchedulesZone(t *testing.T) {
	env := newTestEnvironment()
	var a *activities.Activities
	env.RegisterActivity(a)
	at := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	env.SetStartTime(at)
	require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStart.ValueSet(at))))
	var got []contract.RunPipelineInput
	onRunPipeline(env, false, &got)
	env.ExecuteWorkflow(ScheduledPipelineWorkflow, PipelineInput{Trigger: "schedule", TimeZone: "Europe/Berlin"})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, got, 1)
	require.Equal(t, "2026-12-01", got[0].Date)
}

// Outside the window a scheduled run is refused, with the date and the
// window in the error, and calls nothing: pipeline-D is not started.
func TestScheduledRunOutsideTheWindowIsRefused(t *testing.T) {
	tests := []struct {
		name  string
		late  time.Duration
		grace time.Duration
		want  string
	}{
		{"caught up after the default grace", 3 * 24 * time.Hour, 0,
			"capture window (2026-12-01T00:00:00Z .. 2026-12-03T00:00:00Z, pipeline.capture_grace after the date) ended at 2026-12-03T00:00:00Z"},
		{"caught up after a short grace", 16 * time.Hour, time.Hour,
			"(2026-12-01T00:00:00Z .. 2026-12-02T01:00:00Z, pipeline.capture_grace after the date) ended"},
		{"started before the date", -10 * time.Hour, 0, "opens at 2026-12-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := scheduledEnv(t, tt.late)
			// No activity is mocked: any call fails the run differently.
			env.ExecuteWorkflow(ScheduledPipelineWorkflow, PipelineInput{Trigger: "schedule", CaptureGrace: tt.grace})

			require.True(t, env.IsWorkflowCompleted())
			err := env.GetWorkflowError()
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			require.Equal(t, ErrCaptureRefused, appErr.Type())
			require.True(t, appErr.NonRetryable())
			require.ErrorContains(t, err, "scheduled run of 2026-12-01 refused")
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, err, "pipeline-2026-12-01 was not started")
			require.ErrorContains(t, err, "can only be reprocessed, and only if it was captured")

			v, qerr := env.QueryWorkflow(ProgressQuery)
			require.NoError(t, qerr)
			var p ScheduledProgress
			require.NoError(t, v.Get(&p))
			require.Equal(t, ScheduledStageRefused, p.Stage)
		})
	}
}

// A failed pipeline-D fails the scheduled run with the pipeline's error.
func TestScheduledRunFailsWithThePipeline(t *testing.T) {
	env := scheduledEnv(t, time.Minute)
	var a *activities.Activities
	env.OnActivity(a.RunPipeline, mock.Anything, mock.Anything).Return(contract.RunPipelineResult{},
		temporal.NewNonRetryableApplicationError("pipeline-2026-12-01 (run r) failed: stage collect of 2026-12-01: Spotify says no",
			contract.ErrPipelineFailed, errors.New("Spotify says no"))).Once()
	env.ExecuteWorkflow(ScheduledPipelineWorkflow, PipelineInput{Trigger: "schedule"})

	err := env.GetWorkflowError()
	require.True(t, HasErrorType(err, contract.ErrPipelineFailed), "%v", err)
	require.ErrorContains(t, err, "scheduled run of 2026-12-01")
	require.ErrorContains(t, err, "Spotify says no")
}

// A PipelineWorkflow that a schedule created before ScheduledPipelineWorkflow
// started under pipeline-<scheduled time> runs no stage itself: it hands
// the date to pipeline-D and returns the pipeline's result.
func TestLegacyScheduledPipelineJoinsPipelineOfTheDate(t *testing.T) {
	env := scheduledEnv(t, time.Second)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "pipeline-2026-12-01T09:29:43Z", TaskQueue: "metronome"})
	var got []contract.RunPipelineInput
	onRunPipeline(env, false, &got)
	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Trigger: "schedule"})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, got, 1, "RunPipeline, and no stage of its own (no other activity is mocked)")
	require.Equal(t, "2026-12-01", got[0].Date)
	var res PipelineResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "2026-12-01", res.Date)
	require.Equal(t, 7, res.Artists)
}

// A legacy scheduled run outside the window is refused like a new one.
func TestLegacyScheduledPipelineOutsideTheWindowIsRefused(t *testing.T) {
	env := scheduledEnv(t, 5*24*time.Hour)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "pipeline-2026-12-01T09:29:43Z", TaskQueue: "metronome"})
	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Trigger: "schedule"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &appErr)
	require.Equal(t, ErrCaptureRefused, appErr.Type())
}

// pipeline-D itself, and a run not started by a schedule, never take the
// hook: they run the stages.
func TestPipelineOfTheDateDoesNotJoinItself(t *testing.T) {
	for name, scheduled := range map[string]bool{"pipeline-D with a scheduled time": true, "a manual run": false} {
		t.Run(name, func(t *testing.T) {
			env, rec := newEnv(t, 1)
			env.SetStartTime(scheduledTime.Add(time.Second))
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "pipeline-2026-12-01", TaskQueue: "metronome"})
			if scheduled {
				require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStart.ValueSet(scheduledTime))))
			}
			env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-12-01"})
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, 1, rec.count("Resolve"))
		})
	}
}

// logicalDateWorkflow answers the logical date of its run.
func logicalDateWorkflow(ctx workflow.Context, in PipelineInput) (string, error) {
	return LogicalDate(ctx, in)
}
