package workflows

import "go.temporal.io/sdk/worker"

// Register registers every workflow of metronome on w.
func Register(w worker.Registry) {
	w.RegisterWorkflow(PipelineWorkflow)
	w.RegisterWorkflow(ScheduledPipelineWorkflow)
	w.RegisterWorkflow(CollectChunkWorkflow)
	w.RegisterWorkflow(BackfillWorkflow)
	w.RegisterWorkflow(ArtistRequestWorkflow)
	w.RegisterWorkflow(ArtistRequestRunWorkflow)
}
