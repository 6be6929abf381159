package workflows

import "go.temporal.io/sdk/worker"

// Register registers every workflow of metronome on w.
func Register(w worker.Registry) {
	w.RegisterWorkflow(PipelineWorkflow)
}
