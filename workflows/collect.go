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
	// Scope is the lake prefix of a request run's chunk; empty is the lake.
	Scope string `json:"scope,omitempty"`
	// Parallelism bounds the batches in flight.
	Parallelism      int    `json:"parallelism"`
	SpotifyTaskQueue string `json:"spotify_task_queue"`
}

// CollectChunkWorkflow collects the batches FirstBatch … FirstBatch+
// Batches-1 with at most Parallelism in flight and returns their summary.
// PipelineWorkflow starts one per chunk of a large run; its progress query
// answers the batches done.
func CollectChunkWorkflow(ctx workflow.Context, in CollectChunkInput) (contract.CollectSummary, error) {
	in.Parallelism = parallelismOrDefault(in.Parallelism)
	in.SpotifyTaskQueue = spotifyQueueOrDefault(in.SpotifyTaskQueue)
	progress := Progress{Date: in.Date, Stage: StageCollect, BatchesTotal: in.Batches}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		return progress, nil
	}); err != nil {
		return contract.CollectSummary{}, fmt.Errorf("register progress query: %w", err)
	}
	var summary contract.CollectSummary
	err := collectBatches(ctx, newSpotifyCalls(ctx, &progress), contract.ActivityCollectBatch, in, func(r contract.CollectResult) {
		summary.Add(r)
		progress.BatchesDone = summary.Batches
		progress.Records = summary.Records
	})
	if err != nil {
		return contract.CollectSummary{}, err
	}
	return summary, nil
}

// collectBatches runs the batches of in as activity (CollectBatch, or the
// name of a request run recorded before requestStagesChangeID) through
// calls, at most in.Parallelism in flight, handing each result to done.
func collectBatches(ctx workflow.Context, calls *spotifyCalls, activity string, in CollectChunkInput,
	done func(contract.CollectResult)) error {
	opts := spotifyOptions(in.SpotifyTaskQueue)
	return forEachBounded(ctx, in.Batches, in.Parallelism, func(i int) workflow.Future {
		return calls.execute(ctx, opts, activity, contract.CollectInput{
			Date: in.Date, ArtistsKey: in.ArtistsKey, Batch: in.FirstBatch + i,
			BatchSize: in.BatchSize, Mode: in.Mode, Scope: in.Scope,
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

// collect is the collect stage of a run: the resolved batches, at most the
// run's parallelism in flight, folded into summary and the progress. A run
// of up to CollectChunkBatches batches schedules them itself; a larger one
// runs them in CollectChunkWorkflow children of CollectChunkBatches each,
// one child after another so the bound on batches in flight holds for the
// whole run, and its progress advances a chunk at a time.
func (s *stageRun) collect(resolved contract.ResolveResult, summary *contract.CollectSummary) error {
	ctx, progress := s.ctx, s.progress
	chunk := CollectChunkInput{
		Date: s.date, ArtistsKey: resolved.ArtistsKey, Batches: resolved.Batches,
		BatchSize: resolved.BatchSize, Mode: resolved.Mode, Scope: s.scope,
		Parallelism: s.parallelism, SpotifyTaskQueue: s.spotifyQueue,
	}
	fold := func(r contract.CollectResult) {
		summary.Add(r)
		progress.BatchesDone = summary.Batches
		progress.Records = summary.Records
	}
	if resolved.Batches <= CollectChunkBatches ||
		workflow.GetVersion(ctx, collectChildrenVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return collectBatches(ctx, s.calls, s.activities.collect, chunk, fold)
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
