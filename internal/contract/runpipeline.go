package contract

import "encoding/json"

// RunPipelineInput names the one execution of a date and what to start it
// with if it is not running.
type RunPipelineInput struct {
	// Date is the logical date YYYY-MM-DD; the workflow ID is pipeline-Date.
	Date string `json:"date"`
	// TaskQueue of the pipeline's workflow tasks.
	TaskQueue string `json:"task_queue"`
	// Input is the PipelineInput, encoded, with Date set.
	Input json.RawMessage `json:"input"`
}

// RunPipelineResult is the execution of pipeline-D that ran the date.
type RunPipelineResult struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Attached is true when pipeline-D was running already (a manual run,
	// a backfill, another schedule), so this call only waited for it.
	Attached bool `json:"attached"`
	// Result is the pipeline's PipelineResult, encoded.
	Result json.RawMessage `json:"result,omitempty"`
}
