package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
)

// CollectChunkBatches is the most collect batches one workflow execution
// schedules itself. A batch costs about six history events (its activity's
// scheduled, started and completed, and the workflow task its completion
// wakes), so a chunk stays near 3,000 events, well under Temporal's
// 10,000-event warning, whatever the run's size: a run of more batches
// hands them to CollectChunkWorkflow children of at most this many each.
const CollectChunkBatches = 500

// collectChildrenVersion names the change that moved the batches of large
// runs into child workflows; histories without its marker replay inline.
const collectChildrenVersion = "collect-child-workflows"

// CollectChunkInput is a contiguous range of collect batches of one run.
type CollectChunkInput struct {
	Date       string `json:"date"`
	ArtistsKey string `json:"artists_key"`
	// FirstBatch is the index of the chunk's first batch in the run.
	FirstBatch int `json:"first_batch"`
	// Batches is the number of batches of the chunk.
	Batches   int    `json:"batches"`
	BatchSize int    `json:"batch_size"`
	Mode      string `json:"mode"`
	// Parallelism bounds the batches in flight.
	Parallelism      int    `json:"parallelism"`
	SpotifyTaskQueue string `json:"spotify_task_queue"`
}

// CollectChunkWorkflow collects the batches FirstBatch … FirstBatch+
// Batches-1 with at most Parallelism in flight and returns their summary.
// PipelineWorkflow starts one per chunk of a large run; its progress query
// answers the batches done.
func CollectChunkWorkflow(ctx workflow.Context, in CollectChunkInput) (contract.CollectSummary, error) {
	if in.Parallelism <= 0 {
		in.Parallelism = 4
	}
	progress := Progress{Date: in.Date, Stage: StageCollect, BatchesTotal: in.Batches}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		return progress, nil
	}); err != nil {
		return contract.CollectSummary{}, fmt.Errorf("register progress query: %w", err)
	}
	var summary contract.CollectSummary
	err := collectBatches(ctx, newSpotifyCalls(ctx, &progress), in, func(r contract.CollectResult) {
		summary.Add(r)
		progress.BatchesDone = summary.Batches
		progress.Records = summary.Records
	})
	if err != nil {
		return contract.CollectSummary{}, err
	}
	return summary, nil
}

// collectBatches runs the batches of in as CollectBatch activities through
// calls, at most in.Parallelism in flight, handing each result to done.
func collectBatches(ctx workflow.Context, calls *spotifyCalls, in CollectChunkInput, done func(contract.CollectResult)) error {
	opts := spotifyOptions(in.SpotifyTaskQueue)
	return forEachBounded(ctx, in.Batches, in.Parallelism, func(i int) workflow.Future {
		return calls.execute(ctx, opts, contract.ActivityCollectBatch, contract.CollectInput{
			Date: in.Date, ArtistsKey: in.ArtistsKey, Batch: in.FirstBatch + i,
			BatchSize: in.BatchSize, Mode: in.Mode,
		})
	}, func(f workflow.Future) error {
		var r contract.CollectResult
		if err := f.Get(ctx, &r); err != nil {
			return err
		}
		done(r)
		return nil
	})
}

// collect is the collect stage of PipelineWorkflow: the resolved batches,
// at most in.Parallelism in flight, folded into summary and progress. A run
// of up to CollectChunkBatches batches schedules them itself; a larger one
// runs them in CollectChunkWorkflow children of CollectChunkBatches each,
// one child after another so the bound on batches in flight holds for the
// whole run, and its progress advances a chunk at a time.
func collect(ctx workflow.Context, calls *spotifyCalls, in PipelineInput, date string, resolved contract.ResolveResult,
	summary *contract.CollectSummary, progress *Progress) error {
	chunk := CollectChunkInput{
		Date: date, ArtistsKey: resolved.ArtistsKey, Batches: resolved.Batches,
		BatchSize: resolved.BatchSize, Mode: resolved.Mode,
		Parallelism: in.Parallelism, SpotifyTaskQueue: in.SpotifyTaskQueue,
	}
	fold := func(r contract.CollectResult) {
		summary.Add(r)
		progress.BatchesDone = summary.Batches
		progress.Records = summary.Records
	}
	if resolved.Batches <= CollectChunkBatches ||
		workflow.GetVersion(ctx, collectChildrenVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return collectBatches(ctx, calls, chunk, fold)
	}

	parentID := workflow.GetInfo(ctx).WorkflowExecution.ID
	for first, n := 0, 0; first < resolved.Batches; first, n = first+CollectChunkBatches, n+1 {
		chunk.FirstBatch = first
		chunk.Batches = min(CollectChunkBatches, resolved.Batches-first)
		childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: fmt.Sprintf("%s-collect-%03d", parentID, n),
		})
		var part contract.CollectSummary
		if err := workflow.ExecuteChildWorkflow(childCtx, CollectChunkWorkflow, chunk).Get(ctx, &part); err != nil {
			return fmt.Errorf("collect batches %d to %d: %w", first, first+chunk.Batches-1, err)
		}
		summary.Merge(part)
		progress.BatchesDone = summary.Batches
		progress.Records = summary.Records
	}
	return nil
}
