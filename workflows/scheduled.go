package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
)

// Stages of a scheduled run, as its progress query reports them.
const (
	ScheduledStageWindow   = "capture window"
	ScheduledStagePipeline = "pipeline"
	ScheduledStageRefused  = "refused"
	ScheduledStageFailed   = "failed"
)

// legacyScheduleChangeID versions the hook by which a PipelineWorkflow
// started by a schedule created before ScheduledPipelineWorkflow (ID
// pipeline-<scheduled time>) hands its date to pipeline-D. Runs recorded
// before it ran the pipeline themselves and replay without it.
const legacyScheduleChangeID = "scheduled-run-joins-pipeline-d"

// ScheduledProgress is what the progress query of a scheduled run answers:
// its own small state. The stages of the date are pipeline-D's; ask it.
type ScheduledProgress struct {
	Date  string `json:"date"`
	Stage string `json:"stage"`
	// Pipeline is the workflow ID of the date's one execution, pipeline-D.
	Pipeline string        `json:"pipeline"`
	Window   CaptureWindow `json:"capture_window"`
	Error    string        `json:"error,omitempty"`
}

// ScheduledResult is the outcome of a scheduled run: which execution of
// pipeline-D ran the date, whether it was running already, and its result.
type ScheduledResult struct {
	Date       string `json:"date"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Attached is true when pipeline-D was already running (started by
	// hand, by a backfill or by another schedule) and this run waited for
	// it instead of starting it.
	Attached bool           `json:"attached"`
	Pipeline PipelineResult `json:"pipeline"`
}

// ScheduledPipelineWorkflow is the action of metronome's Temporal
// Schedules. It takes the logical date D from the scheduled start time in
// the schedule's zone and then either refuses or hands D to pipeline-D:
//
//   - Outside D's capture window (D itself plus pipeline.capture_grace) the
//     run is refused with a non-retryable CaptureRefused error that names
//     the date and the window, and pipeline-D is not started: Spotify keeps
//     no history, so a catch-up after the grace would label today's numbers
//     with D. Such a date can only be reprocessed, and only if it was
//     captured.
//   - Inside it, the RunPipeline activity starts pipeline-D or attaches to
//     the running one, and waits for it.
//
// Why a workflow of its own rather than PipelineWorkflow as the action:
// Temporal appends the scheduled time to the workflow ID of every action
// (pipeline-2026-12-01T09:29:43Z), so a schedule's PipelineWorkflow could
// never share pipeline-D's ID, and the server's ID conflict policy, which
// is what keeps manual runs and backfills from running a date twice, could
// not keep a schedule from running beside them. This thin run has the
// timestamped ID instead and starts pipeline-D with the same policies as
// `starter run` (conflict USE_EXISTING, reuse ALLOW_DUPLICATE), so every
// writer of D is that one execution or waits for it. The start happens in
// an activity, not as a child workflow, because a child cannot join a
// running execution it did not start: a start of a running child ID fails.
func ScheduledPipelineWorkflow(ctx workflow.Context, in PipelineInput) (ScheduledResult, error) {
	date, err := LogicalDate(ctx, in)
	if err != nil {
		return ScheduledResult{}, err
	}
	return runScheduled(ctx, in, date)
}

// joinPipelineOfScheduledRun is the hook at the top of PipelineWorkflow for
// schedules created before ScheduledPipelineWorkflow, whose action is
// PipelineWorkflow itself: a run started by a schedule under an ID other
// than pipeline-D does what ScheduledPipelineWorkflow does and returns the
// pipeline's result. joined is false for every other run, which goes on
// as a pipeline. Only a scheduled run under a timestamped ID reaches
// GetVersion, so no other history gets a marker.
func joinPipelineOfScheduledRun(ctx workflow.Context, in PipelineInput, date string) (res PipelineResult, joined bool, err error) {
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStart); !ok || t.IsZero() {
		return PipelineResult{}, false, nil
	}
	if workflow.GetInfo(ctx).WorkflowExecution.ID == PipelineWorkflowID(date) {
		return PipelineResult{}, false, nil
	}
	if workflow.GetVersion(ctx, legacyScheduleChangeID, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return PipelineResult{}, false, nil
	}
	r, err := runScheduled(ctx, in, date)
	return r.Pipeline, true, err
}

// runScheduled checks date's capture window and runs pipeline-D through
// RunPipeline.
func runScheduled(ctx workflow.Context, in PipelineInput, date string) (ScheduledResult, error) {
	logger := workflow.GetLogger(ctx)
	id := PipelineWorkflowID(date)
	progress := ScheduledProgress{Date: date, Stage: ScheduledStageWindow, Pipeline: id}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (ScheduledProgress, error) {
		return progress, nil
	}); err != nil {
		return ScheduledResult{}, fmt.Errorf("register progress query: %w", err)
	}
	window, err := CaptureWindowOf(date, in.TimeZone, in.CaptureGrace)
	if err != nil {
		return ScheduledResult{}, err
	}
	progress.Window = window
	if now := workflow.Now(ctx); !window.Contains(now) {
		msg := scheduledRefusal(date, window, now)
		logger.Warn("scheduled run refused: outside the capture window", "date", date,
			"window_start", window.Start, "window_end", window.End)
		progress.Stage, progress.Error = ScheduledStageRefused, msg
		return ScheduledResult{Date: date, WorkflowID: id}, temporal.NewNonRetryableApplicationError(msg, ErrCaptureRefused, nil)
	}

	// The pipeline runs the date as given, not from the schedule's time:
	// pipeline-D has no scheduled start time of its own.
	in.Date = date
	encoded, err := encodePipelineInput(in)
	if err != nil {
		return ScheduledResult{}, fmt.Errorf("encode the input of %s: %w", id, err)
	}
	progress.Stage = ScheduledStagePipeline
	var ran contract.RunPipelineResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, runPipelineOptions()), contract.ActivityRunPipeline,
		contract.RunPipelineInput{Date: date, TaskQueue: workflow.GetInfo(ctx).TaskQueueName, Input: encoded},
	).Get(ctx, &ran); err != nil {
		progress.Stage, progress.Error = ScheduledStageFailed, err.Error()
		return ScheduledResult{Date: date, WorkflowID: id}, fmt.Errorf("scheduled run of %s: %w", date, err)
	}
	res := ScheduledResult{Date: date, WorkflowID: ran.WorkflowID, RunID: ran.RunID, Attached: ran.Attached}
	if len(ran.Result) > 0 {
		if err := decodePipelineResult(ran.Result, &res.Pipeline); err != nil {
			return res, fmt.Errorf("read the result of %s (run %s): %w", ran.WorkflowID, ran.RunID, err)
		}
	}
	progress.Stage = StageDone
	logger.Info("scheduled run done", "date", date, "pipeline", ran.WorkflowID, "run_id", ran.RunID, "attached", ran.Attached)
	return res, nil
}

// runPipelineOptions are those of RunPipeline, which waits for pipeline-D:
// as long as a run of the date may take, quota waits included. An attempt
// that times out or loses its worker is harmless: the next one waits for
// the same run (its heartbeat names it).
func runPipelineOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 48 * time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         retry(time.Second, time.Minute, 20),
	}
}

// encodePipelineInput encodes the input RunPipeline starts pipeline-D with;
// activities cannot import this package's types. A struct without maps
// encodes the same every time.
func encodePipelineInput(in PipelineInput) ([]byte, error) { return json.Marshal(in) }

// decodePipelineResult decodes pipeline-D's result into a struct, which
// does not depend on any iteration order.
func decodePipelineResult(b []byte, res *PipelineResult) error { return json.Unmarshal(b, res) }

// scheduledRefusal explains why a scheduled run of date at now is refused.
func scheduledRefusal(date string, w CaptureWindow, now time.Time) string {
	when := w.closedAt(now)
	return fmt.Sprintf("scheduled run of %s refused at %s: the date's capture window (%s .. %s, pipeline.capture_grace after the date) %s, "+
		"and a schedule only captures; Spotify keeps no history, so what it says now is not the state of %s. %s was not started. "+
		"The missed date can only be reprocessed, and only if it was captured (starter backfill --from %s --to %s)",
		date, now.UTC().Format(time.RFC3339), w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), when,
		date, PipelineWorkflowID(date), date, date)
}
