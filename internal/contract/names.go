package contract

import "go.temporal.io/sdk/temporal"

// Activity names, as the worker registers them: the method names of
// *activities.Activities (activities.Register). Workflows call activities
// by these names, so they need not link the activities; a name is part of
// recorded histories and never changes.
const (
	ActivityResolve         = "Resolve"
	ActivityCollectBatch    = "CollectBatch"
	ActivityClean           = "Clean"
	ActivityStore           = "Store"
	ActivityAggregate       = "Aggregate"
	ActivityWriteManifest   = "WriteManifest"
	ActivityBeginCapture    = "BeginCapture"
	ActivityCompleteCapture = "CompleteCapture"
	ActivityPartition       = "Partition"
	ActivityPartitions      = "Partitions"
	ActivityRunPipeline     = "RunPipeline"
	ActivityMarkRequests    = "MarkRequests"
	// The stage activities of request runs recorded before those runs
	// called the four above with a scope (workflows'
	// requestStagesChangeID); registered while such runs drain.
	ActivityResolveRequested = "ResolveRequested"
	ActivityCollectRequested = "CollectRequested"
	ActivityCleanRequested   = "CleanRequested"
	ActivityStoreRequested   = "StoreRequested"
	ActivityNotify           = "Notify"
)

// ActivityNames lists every activity name above.
var ActivityNames = []string{
	ActivityResolve, ActivityCollectBatch, ActivityClean, ActivityStore, ActivityAggregate,
	ActivityWriteManifest, ActivityBeginCapture, ActivityCompleteCapture, ActivityPartition,
	ActivityPartitions, ActivityRunPipeline, ActivityMarkRequests, ActivityResolveRequested,
	ActivityCollectRequested, ActivityCleanRequested, ActivityStoreRequested, ActivityNotify,
}

// PipelineWorkflowType is the registered name of workflows.PipelineWorkflow,
// which the RunPipeline activity starts by name.
const PipelineWorkflowType = "PipelineWorkflow"

// PipelineWorkflowID is the deterministic ID of the run for date: the one
// writer of the date.
func PipelineWorkflowID(date string) string { return "pipeline-" + date }

// PipelineDateKey is the search attribute of a run's logical date.
var PipelineDateKey = temporal.NewSearchAttributeKeyTime("PipelineDate")

// Spotify API modes of a run, as ResolveResult.Mode names them.
const (
	ModeExtended    = "extended"
	ModeDevelopment = "development"
)

// ArtistsListKey is the lake key of a run's resolved artist IDs, one a line.
func ArtistsListKey(date string) string { return "manifests/dt=" + date + "/artists.txt" }

// Defaults of a run's input, one place for the workflows and the config.
const (
	// DefaultParallelism bounds the collect batches in flight.
	DefaultParallelism = 4
	// DefaultSpotifyTaskQueue carries the activities that call Spotify.
	DefaultSpotifyTaskQueue = "metronome-spotify"
)
