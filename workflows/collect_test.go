package workflows

import (
	"context"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
)

// A run of more batches than one execution should schedule hands them to
// child workflows of at most CollectChunkBatches each; every batch runs
// exactly once, at most Parallelism at a time, and the summary adds up.
func TestPipelineCollectsLargeRunsInChildWorkflows(t *testing.T) {
	tests := []struct {
		name       string
		batches    int
		wantChilds []int // batches per child, in order
	}{
		{name: "small run stays inline", batches: 7},
		{name: "exactly one chunk stays inline", batches: CollectChunkBatches},
		{name: "two chunks and a remainder", batches: 2*CollectChunkBatches + 3,
			wantChilds: []int{CollectChunkBatches, CollectChunkBatches, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := newEnv(t, tt.batches, "CollectBatch")
			env.RegisterWorkflow(CollectChunkWorkflow)
			var a *activities.Activities
			var (
				mu                  sync.Mutex
				seen                []int
				inFlight, maxFlight int
			)
			env.OnActivity(a.CollectBatch, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in contract.CollectInput) (contract.CollectResult, error) {
					mu.Lock()
					seen = append(seen, in.Batch)
					inFlight++
					maxFlight = max(maxFlight, inFlight)
					mu.Unlock()
					defer func() {
						mu.Lock()
						inFlight--
						mu.Unlock()
					}()
					return contract.CollectResult{
						Batch: in.Batch, Records: map[string]int{"artists": 50},
						Calls: map[string]int{"artists": 1, "top_tracks": 50}, Bytes: 10,
						Unavailable: []string{"related_artists"},
					}, nil
				})
			var childs []int
			var childIDs []string
			env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
				var in CollectChunkInput
				require.NoError(t, args.Get(&in))
				childs = append(childs, in.Batches)
				childIDs = append(childIDs, info.WorkflowExecution.ID)
			})

			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: PipelineWorkflowID("2026-11-01")})
			env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01", Parallelism: 3})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())

			require.Equal(t, tt.wantChilds, childs)
			for i, id := range childIDs {
				require.Equal(t, PipelineWorkflowID("2026-11-01")+"-collect-"+[]string{"000", "001", "002"}[i], id)
			}
			sort.Ints(seen)
			require.Len(t, seen, tt.batches)
			for i, b := range seen {
				require.Equal(t, i, b, "every batch exactly once")
			}
			require.LessOrEqual(t, maxFlight, 3, "parallelism bounds the batches in flight")

			var res PipelineResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, tt.batches, res.Collect.Batches)
			require.Equal(t, 50*tt.batches, res.Collect.Records["artists"])
			require.Equal(t, 51*tt.batches, res.Collect.Calls["artists"]+res.Collect.Calls["top_tracks"])
			require.EqualValues(t, 10*tt.batches, res.Collect.Bytes)
			require.Equal(t, []string{"related_artists"}, res.Collect.Unavailable)
		})
	}
}
