package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/internal/contract"
)

// runPipelinePulse is RunPipeline's heartbeat detail: the run it started or
// attached to, so that an attempt after a worker crash waits for that run
// instead of starting another one once it has closed.
type runPipelinePulse struct {
	RunID    string `json:"run_id"`
	Attached bool   `json:"attached"`
}

// RunPipeline starts pipeline-D, or attaches to it when it is running, and
// waits for it. Every writer of a date goes through pipeline-D this way:
// the conflict policy USE_EXISTING makes a start of a running ID return
// that run, so a schedule never runs beside a manual run or a backfill of
// the same date; a closed pipeline-D may run again (ALLOW_DUPLICATE), as a
// manual re-run may.
//
// It heartbeats while it waits, with the run's ID as the detail; a retry
// after a lost worker waits for that same run rather than starting a new
// one. Cancelling the activity stops the wait, not pipeline-D, which others
// may be waiting for too.
func (a *Activities) RunPipeline(ctx context.Context, in contract.RunPipelineInput) (contract.RunPipelineResult, error) {
	if a.Temporal == nil {
		return contract.RunPipelineResult{}, temporal.NewNonRetryableApplicationError(
			"RunPipeline needs a Temporal client: the worker built its activities without one", contract.ErrBadInput, nil)
	}
	day, err := time.Parse("2006-01-02", in.Date)
	if err != nil {
		return contract.RunPipelineResult{}, badInput("RunPipeline date %q is not a date of the form YYYY-MM-DD", in.Date)
	}
	id := contract.PipelineWorkflowID(in.Date)
	ctx, stop := keepAlive(ctx, keepAliveEvery)
	defer stop()

	var run client.WorkflowRun
	prev := resumePoint[runPipelinePulse](ctx)
	attached := prev.Attached
	if prev.RunID != "" {
		run = a.Temporal.GetWorkflow(ctx, id, prev.RunID)
	} else {
		// Only to report attached; the start below is what prevents a
		// second run, whatever this says.
		if desc, err := a.Temporal.DescribeWorkflowExecution(ctx, id, ""); err == nil &&
			desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			attached = true
		}
		run, err = a.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       id,
			TaskQueue:                in.TaskQueue,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			TypedSearchAttributes:    temporal.NewSearchAttributes(contract.PipelineDateKey.ValueSet(day)),
			// The scheduled run's priority, which this activity inherited:
			// a start from a client inherits nothing by itself.
			Priority: activity.GetInfo(ctx).Priority,
		}, contract.PipelineWorkflowType, in.Input)
		if err != nil {
			return contract.RunPipelineResult{}, fmt.Errorf("start or attach to %s on task queue %s: %w", id, in.TaskQueue, err)
		}
	}
	heartbeat(ctx, runPipelinePulse{RunID: run.GetRunID(), Attached: attached})
	a.logger(ctx).Info("waiting for the pipeline run of the date")

	res := contract.RunPipelineResult{WorkflowID: id, RunID: run.GetRunID(), Attached: attached}
	if err := run.Get(ctx, &res.Result); err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		var failed *temporal.WorkflowExecutionError
		if errors.As(err, &failed) {
			return res, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s (run %s) failed: %v", id, run.GetRunID(), err), contract.ErrPipelineFailed, err)
		}
		// Not the run's outcome (the server unreachable, say): retry the wait.
		return res, fmt.Errorf("wait for %s (run %s): %w", id, run.GetRunID(), err)
	}
	return res, nil
}
