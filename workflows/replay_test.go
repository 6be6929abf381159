package workflows

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nexus-rpc/sdk-go/nexus"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
)

// replayRegistry lets Register, which takes a worker.Registry, register the
// workflows on a replayer; a replayer runs no activities, so activity and
// Nexus registrations are dropped.
type replayRegistry struct{ worker.WorkflowReplayer }

func (replayRegistry) RegisterActivity(any)                                         {}
func (replayRegistry) RegisterActivityWithOptions(any, activity.RegisterOptions)    {}
func (replayRegistry) RegisterDynamicActivity(any, activity.DynamicRegisterOptions) {}
func (replayRegistry) RegisterNexusService(*nexus.Service)                          {}

// newReplayer returns a replayer with every workflow of Register on it.
func newReplayer(t *testing.T) worker.WorkflowReplayer {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	Register(replayRegistry{r})
	return r
}

func loadHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err, path)
	require.NotEmpty(t, h.Events, path)
	return h
}

// replayOptions replays as the recorded execution (its workflow and run
// IDs), since the workflows pass their own IDs to activities and children.
func replayOptions(h *historypb.History) worker.ReplayWorkflowHistoryOptions {
	started := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
	return worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{
		ID: started.GetWorkflowId(), RunID: started.GetOriginalExecutionRunId(),
	}}
}

// TestReplayRecordedHistories replays every recorded history against the
// current workflow code. A change that makes the code issue different
// commands for an existing history (a new or removed activity, timer or
// child, a different order) fails here: such a change breaks running
// executions and must go behind workflow.GetVersion (CONTRIBUTING.md).
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	require.NoError(t, err)
	sort.Strings(files)
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	// The representative runs must all be there.
	require.Subset(t, names, []string{histPipelineRetried, histPipelineBadInput, histPipelineChunks,
		histBackfillFirst, histBackfillLast, histRequestFirst, histRequestRun, histRequestRunBeforeNotify,
		histRequestRunBeforeStages})

	replayer := newReplayer(t)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			h := loadHistory(t, path)
			require.NoError(t, replayer.ReplayWorkflowHistoryWithOptions(nil, h, replayOptions(h)))
		})
	}
}

// The recorded histories cover what they are meant to: retried activities,
// a non-retryable failure, child workflows, continue-as-new and signals.
func TestRecordedHistoriesCoverTheScenarios(t *testing.T) {
	tests := []struct {
		name     string
		workflow string
		check    func(t *testing.T, h *historypb.History)
	}{
		{histPipelineRetried, "PipelineWorkflow", func(t *testing.T, h *historypb.History) {
			retried := 0
			for _, e := range h.Events {
				if a := e.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
					retried++
					require.NotNil(t, a.GetLastFailure(), "a retried attempt carries the last failure")
				}
			}
			require.Equal(t, 2, retried, "collect batches 1 and 2 were retried")
			requireLast(t, h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
		}},
		{histPipelineBadInput, "PipelineWorkflow", func(t *testing.T, h *historypb.History) {
			last := requireLast(t, h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
			failure := last.GetWorkflowExecutionFailedEventAttributes().GetFailure()
			require.Equal(t, contract.ErrBadInput, rootCause(failure).GetApplicationFailureInfo().GetType())
			require.True(t, rootCause(failure).GetApplicationFailureInfo().GetNonRetryable())
		}},
		{histPipelineChunks, "PipelineWorkflow", func(t *testing.T, h *historypb.History) {
			require.Equal(t, []string{collectChildrenVersion}, versionMarkers(t, h))
			require.Equal(t, 2, count(h, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED), "two collect chunks")
			requireLast(t, h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
		}},
		{histBackfillFirst, "BackfillWorkflow", func(t *testing.T, h *historypb.History) {
			require.Equal(t, 1, count(h, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED))
			require.Equal(t, 1, count(h, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED), "a completed date is skipped")
			requireLast(t, h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
		}},
		{histBackfillLast, "BackfillWorkflow", func(t *testing.T, h *historypb.History) {
			started := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
			require.NotEmpty(t, started.GetContinuedExecutionRunId(), "started by continue-as-new")
			require.Equal(t, 2, count(h, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED))
			requireLast(t, h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
		}},
		{histRequestFirst, "ArtistRequestWorkflow", func(t *testing.T, h *historypb.History) {
			require.GreaterOrEqual(t, count(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), 3)
			require.Equal(t, 1, count(h, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED))
			require.Positive(t, count(h, enumspb.EVENT_TYPE_TIMER_STARTED), "the request window is a timer")
			requireLast(t, h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
		}},
		{histRequestRun, "ArtistRequestRunWorkflow", func(t *testing.T, h *historypb.History) {
			require.Equal(t, []string{requestStagesChangeID, quotaWaitsChangeID, notifyChangeID}, versionMarkers(t, h))
			require.Equal(t, 3, activityCount(h, "Notify"), "each request answered")
			// The pipeline's stages, in the run's scope.
			for _, name := range []string{contract.ActivityResolve, contract.ActivityCollectBatch, contract.ActivityClean, contract.ActivityStore} {
				require.Equal(t, 1, activityCount(h, name), name)
			}
			for _, name := range []string{legacyRequestStages.resolve, legacyRequestStages.collect, legacyRequestStages.clean, legacyRequestStages.store} {
				require.Zero(t, activityCount(h, name), name)
			}
			requireLast(t, h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
		}},
		{histRequestRunBeforeStages, "ArtistRequestRunWorkflow", func(t *testing.T, h *historypb.History) {
			require.Equal(t, []string{notifyChangeID}, versionMarkers(t, h), "recorded before the shared stages")
			require.Equal(t, 3, activityCount(h, "Notify"), "each request answered")
			for _, name := range []string{legacyRequestStages.resolve, legacyRequestStages.collect, legacyRequestStages.clean, legacyRequestStages.store} {
				require.Equal(t, 1, activityCount(h, name), name)
			}
			require.Zero(t, activityCount(h, contract.ActivityResolve))
			requireLast(t, h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
		}},
		{histRequestRunBeforeNotify, "ArtistRequestRunWorkflow", func(t *testing.T, h *historypb.History) {
			require.Empty(t, versionMarkers(t, h), "recorded before the Notify change")
			require.Zero(t, activityCount(h, "Notify"))
			requireLast(t, h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := loadHistory(t, filepath.Join(historiesDir, tt.name+".json"))
			require.Equal(t, tt.workflow, h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName())
			tt.check(t, h)
		})
	}
}

// A workflow that issues different commands than its history fails replay:
// the guard above is not vacuous.
func TestReplayDetectsIncompatibleChange(t *testing.T) {
	h := loadHistory(t, filepath.Join(historiesDir, histPipelineRetried+".json"))
	tests := []struct {
		name string
		wf   func(workflow.Context, PipelineInput) (PipelineResult, error)
	}{
		{"a stage skipped", func(ctx workflow.Context, in PipelineInput) (PipelineResult, error) {
			var a *activities.Activities
			ctx = workflow.WithActivityOptions(ctx, cleanOptions())
			err := workflow.ExecuteActivity(ctx, a.Clean, contract.CleanInput{Date: in.Date}).Get(ctx, nil)
			return PipelineResult{}, err
		}},
		{"a timer added first", func(ctx workflow.Context, in PipelineInput) (PipelineResult, error) {
			if err := workflow.Sleep(ctx, 1); err != nil {
				return PipelineResult{}, err
			}
			return PipelineWorkflow(ctx, in)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(tt.wf, workflow.RegisterOptions{Name: "PipelineWorkflow"})
			quiet := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			err := r.ReplayWorkflowHistoryWithOptions(quiet, h, replayOptions(h))
			// TMPRL1100 is the SDK's code of a nondeterminism error.
			require.ErrorContains(t, err, "TMPRL1100")
		})
	}
}

func count(h *historypb.History, typ enumspb.EventType) int {
	n := 0
	for _, e := range h.Events {
		if e.GetEventType() == typ {
			n++
		}
	}
	return n
}

func requireLast(t *testing.T, h *historypb.History, typ enumspb.EventType) *historypb.HistoryEvent {
	t.Helper()
	last := h.Events[len(h.Events)-1]
	require.Equal(t, typ, last.GetEventType())
	return last
}

// rootCause follows a failure's causes to the innermost one.
func rootCause(f *failurepb.Failure) *failurepb.Failure {
	for f.GetCause() != nil {
		f = f.GetCause()
	}
	return f
}

// versionMarkers returns the change IDs of the workflow.GetVersion markers
// of a history, in order.
func versionMarkers(t *testing.T, h *historypb.History) []string {
	t.Helper()
	var ids []string
	for _, e := range h.Events {
		a := e.GetMarkerRecordedEventAttributes()
		if a.GetMarkerName() != "Version" {
			continue
		}
		var id string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(a.GetDetails()["change-id"], &id))
		ids = append(ids, id)
	}
	return ids
}

// activityCount is the number of activities of a type a history scheduled.
func activityCount(h *historypb.History, activityType string) int {
	n := 0
	for _, e := range h.Events {
		if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == activityType {
			n++
		}
	}
	return n
}
