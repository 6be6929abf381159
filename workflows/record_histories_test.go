package workflows

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
)

// historiesDir holds the recorded histories that TestReplayRecordedHistories
// replays.
const historiesDir = "testdata/histories"

// recordEnv turns TestRecordHistories on.
const recordEnv = "METRONOME_RECORD_HISTORIES"

// Names of the recorded runs: the file of each is historiesDir/NAME.json.
const (
	histPipelineRetried  = "pipeline-retried-activities"
	histPipelineBadInput = "pipeline-bad-input"
	histPipelineChunks   = "pipeline-collect-chunks"
	histBackfillFirst    = "backfill-continued-as-new"
	histBackfillLast     = "backfill-after-continue-as-new"
	histRequestFirst     = "artist-requests-continued-as-new"
	histRequestRun       = "artist-request-run"
	// histRequestRunBeforeNotify is a request run recorded before the Notify
	// activity was added behind workflow.GetVersion: it keeps the old
	// branch replaying. The recorder does not write it.
	histRequestRunBeforeNotify = "artist-request-run-before-notify"
	// histRequestRunBeforeStages is a request run recorded before it ran the
	// pipeline's stage activities (requestStagesChangeID), with the
	// request-only ones: it keeps that branch replaying. The recorder does
	// not write it.
	histRequestRunBeforeStages = "artist-request-run-before-shared-stages"
)

// recordingActivities stand in for activities.Activities on the embedded
// server: the same activity names and types, no I/O, results shaped like
// the real ones. CollectBatch fails the first attempt of batch 1 with a 429
// (Retry-After 1s) and of batch 2 with a 503, so the pipeline's history
// holds retried attempts; Resolve refuses names starting with "unknown"
// with a non-retryable BadInput error, as the real one does when nothing
// resolves; the single artist chunkedRun resolves to one batch more than a
// collect chunk holds.
type recordingActivities struct{}

// chunkedRun is the artist list that makes Resolve return
// CollectChunkBatches+1 batches, so the run collects in child workflows.
const chunkedRun = "*chunked*"

func (recordingActivities) Resolve(_ context.Context, in contract.ResolveInput) (contract.ResolveResult, error) {
	if in.Scope != "" {
		return resolveRequested(in), nil
	}
	n := len(in.Artists)
	switch {
	case n == 0:
		n = 120 // the tracked set
	case n == 1 && in.Artists[0] == chunkedRun:
		n = (CollectChunkBatches + 1) * 50
	}
	for _, a := range in.Artists {
		if strings.HasPrefix(strings.ToLower(a), "unknown") {
			return contract.ResolveResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("none of the %d artists could be resolved to a Spotify ID (unresolved: %s)", len(in.Artists), a),
				contract.ErrBadInput, nil)
		}
	}
	return contract.ResolveResult{
		ArtistsKey: contract.ArtistsListKey(in.Date), Artists: n,
		Batches: (n + 49) / 50, BatchSize: 50, Mode: "extended", Searches: n,
	}, nil
}

func (recordingActivities) CollectBatch(ctx context.Context, in contract.CollectInput) (contract.CollectResult, error) {
	if in.Scope != "" {
		return contract.CollectResult{Batch: in.Batch, Records: map[string]int{"artists": 1}, Calls: map[string]int{"artists": 1}}, nil
	}
	if activity.GetInfo(ctx).Attempt == 1 {
		switch in.Batch {
		case 1:
			return contract.CollectResult{}, temporal.NewApplicationErrorWithOptions(
				"collect batch 1: spotify: 429 Too Many Requests", contract.ErrRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: time.Second})
		case 2:
			return contract.CollectResult{}, temporal.NewApplicationError(
				"collect batch 2: spotify: 503 Service Unavailable", "SpotifyUnavailable")
		}
	}
	return contract.CollectResult{
		Batch: in.Batch, Records: map[string]int{"artists": 50, "top_tracks": 500, "tracks": 480},
		Calls: map[string]int{"artists": 1, "top_tracks": 50, "tracks": 10}, Bytes: 120_000,
	}, nil
}

func (recordingActivities) Clean(_ context.Context, in contract.CleanInput) (contract.CleanResult, error) {
	if in.Scope != "" {
		return contract.CleanResult{Report: contract.QualityReport{RowsOut: map[string]int{"artists": 1}}}, nil
	}
	return contract.CleanResult{
		Report: contract.QualityReport{
			RowsIn:   map[string]int{"artists": 120, "tracks": 1200},
			RowsOut:  map[string]int{"artists": 119, "tracks": 1200},
			Rejected: map[string]map[string]int{"artists": {"invalid_id": 1}},
		},
		CuratedKeys: map[string][]string{"artists": {"curated/artists/dt=" + in.Date + "/part-00000.parquet"}},
	}, nil
}

func (recordingActivities) Store(_ context.Context, in contract.StoreInput) (contract.StoreResult, error) {
	if in.Scope != "" {
		return contract.StoreResult{Artists: 1, Tracked: 1}, nil
	}
	return contract.StoreResult{Artists: 119, TopTracks: 1190, Tracked: 119}, nil
}

func (recordingActivities) Aggregate(_ context.Context, in contract.AggregateInput) (contract.AggregateResult, error) {
	return contract.AggregateResult{
		Rows: map[string]int64{"artist_daily": 119, "genre_daily": 12},
		Keys: []string{"marts/artist_daily/dt=" + in.Date + "/part-00000.parquet"}, Similar: 40,
	}, nil
}

func (recordingActivities) WriteManifest(_ context.Context, in contract.ManifestInput) (contract.ManifestResult, error) {
	return contract.ManifestResult{Key: "manifests/dt=" + in.Date + "/pipeline.json"}, nil
}

func (recordingActivities) MarkRequests(context.Context, contract.MarkRequestsInput) error {
	return nil
}

func (recordingActivities) Notify(context.Context, contract.NotifyInput) (contract.NotifyResult, error) {
	return contract.NotifyResult{Delivery: "recorded"}, nil
}

// resolveRequested is Resolve in a request run's scope: names starting
// with "unknown" are reported unresolved, as the real one does.
func resolveRequested(in contract.ResolveInput) contract.ResolveResult {
	res := contract.ResolveResult{ArtistsKey: contract.ArtistsListKey(in.Date), BatchSize: 50, Mode: "extended"}
	for i, a := range in.Artists {
		if strings.HasPrefix(strings.ToLower(a), "unknown") {
			res.Unresolved = append(res.Unresolved, a)
			continue
		}
		res.Resolved = append(res.Resolved, contract.ResolvedArtist{Artist: a, ID: fmt.Sprintf("%022d", i+1)})
	}
	res.Artists = len(res.Resolved)
	res.Batches = (res.Artists + 49) / 50
	return res
}

// TestRecordHistories runs representative workflows on the embedded
// Temporal server with recordingActivities and writes their histories to
// testdata/histories. It runs only when METRONOME_RECORD_HISTORIES=1:
//
//	METRONOME_RECORD_HISTORIES=1 go test ./workflows -run TestRecordHistories -count=1
//
// Re-record after a change that is meant to alter histories, and only for
// workflows that no running execution depends on (see CONTRIBUTING.md).
func TestRecordHistories(t *testing.T) {
	if os.Getenv(recordEnv) != "1" {
		t.Skipf("set %s=1 to re-record the replay histories", recordEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, c := devservertest.Start(t)

	const taskQueue, spotifyQueue = "metronome", "metronome-spotify"
	main := worker.New(c, taskQueue, worker.Options{})
	Register(main)
	main.RegisterActivity(&recordingActivities{})
	sp := worker.New(c, spotifyQueue, worker.Options{})
	sp.RegisterActivity(&recordingActivities{})
	require.NoError(t, main.Start())
	defer main.Stop()
	require.NoError(t, sp.Start())
	defer sp.Stop()
	require.NoError(t, os.MkdirAll(historiesDir, 0o755))

	start := func(t *testing.T, id string, wf any, in any) client.WorkflowRun {
		t.Helper()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, wf, in)
		require.NoError(t, err)
		return run
	}

	// Subtests record apart: -run TestRecordHistories/requests re-records
	// the request histories only.
	t.Run("runs", func(t *testing.T) {
		// A pipeline run whose collect batches 1 and 2 are retried.
		artists := make([]string, 120)
		for i := range artists {
			artists[i] = fmt.Sprintf("Artist %03d", i)
		}
		run := start(t, PipelineWorkflowID("2026-01-15"), PipelineWorkflow, PipelineInput{Date: "2026-01-15", Artists: artists, Parallelism: 2})
		var res PipelineResult
		require.NoError(t, run.Get(ctx, &res))
		require.Equal(t, 3, res.Collect.Batches)
		writeHistory(t, ctx, c, histPipelineRetried, run.GetID(), run.GetRunID())

		// A pipeline run that fails on input only the run can judge.
		run = start(t, PipelineWorkflowID("2026-01-16"), PipelineWorkflow, PipelineInput{Date: "2026-01-16", Artists: []string{"Unknown Artist 404"}})
		require.ErrorContains(t, run.Get(ctx, nil), contract.ErrBadInput)
		writeHistory(t, ctx, c, histPipelineBadInput, run.GetID(), run.GetRunID())

		// A run larger than one collect chunk: its batches run in two
		// CollectChunkWorkflow children (their own histories are thousands of
		// events and not kept).
		run = start(t, PipelineWorkflowID("2026-01-10"), PipelineWorkflow,
			PipelineInput{Date: "2026-01-10", Artists: []string{chunkedRun}, Parallelism: 32})
		require.NoError(t, run.Get(ctx, &res))
		require.Equal(t, CollectChunkBatches+1, res.Collect.Batches)
		writeHistory(t, ctx, c, histPipelineChunks, run.GetID(), run.GetRunID())

		// A backfill over four dates, two children per execution: the first
		// execution completes 01-14 and skips 01-15 (completed above), then
		// continues as new; the second re-runs the failed 01-16 and runs 01-17.
		run = start(t, BackfillWorkflowID("2026-01-14", "2026-01-17"), BackfillWorkflow,
			BackfillInput{From: "2026-01-14", To: "2026-01-17", Parallel: 2, ChildrenPerRun: 2})
		firstRunID := run.GetRunID() // Get follows continue-as-new and moves the run ID on
		var bf BackfillResult
		require.NoError(t, run.Get(ctx, &bf))
		require.Equal(t, 2, bf.Executions)
		require.Equal(t, []string{"2026-01-15"}, bf.Skipped)
		require.NotEqual(t, firstRunID, run.GetRunID())
		writeHistory(t, ctx, c, histBackfillFirst, run.GetID(), firstRunID)
		writeHistory(t, ctx, c, histBackfillLast, run.GetID(), run.GetRunID())
	})

	t.Run("requests", func(t *testing.T) {
		// On-demand requests: three within one window make one request run,
		// after which the workflow continues as new (one run per execution).
		signal := func(id, artist string) client.WorkflowRun {
			t.Helper()
			run, err := c.SignalWithStartWorkflow(ctx, ArtistRequestWorkflowID, ArtistRequestSignal,
				ArtistRequest{ID: id, Artist: artist},
				client.StartWorkflowOptions{ID: ArtistRequestWorkflowID, TaskQueue: taskQueue},
				ArtistRequestWorkflow, ArtistRequestInput{Window: 2 * time.Second, RunsPerExecution: 1, IdleTimeout: time.Hour})
			require.NoError(t, err)
			return run
		}
		first := signal("req-1", "Daft Punk")
		signal("req-2", "daft  punk")
		signal("req-3", "Unknown Artist 404")
		require.Eventually(t, func() bool {
			d, err := c.DescribeWorkflowExecution(ctx, ArtistRequestWorkflowID, first.GetRunID())
			return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
		}, time.Minute, 100*time.Millisecond, "the request workflow continues as new after its run")
		writeHistory(t, ctx, c, histRequestFirst, ArtistRequestWorkflowID, first.GetRunID())
		childID := ""
		for _, e := range readHistory(t, ctx, c, ArtistRequestWorkflowID, first.GetRunID()).Events {
			if a := e.GetChildWorkflowExecutionCompletedEventAttributes(); a != nil {
				childID = a.GetWorkflowExecution().GetWorkflowId()
			}
		}
		require.NotEmpty(t, childID, "the request run completed")
		writeHistory(t, ctx, c, histRequestRun, childID, "")
		require.NoError(t, c.TerminateWorkflow(ctx, ArtistRequestWorkflowID, "", "recording done"))
	})
}

func readHistory(t *testing.T, ctx context.Context, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	require.NotEmpty(t, h.Events, "history of %s/%s", id, runID)
	return h
}

func writeHistory(t *testing.T, ctx context.Context, c client.Client, name, id, runID string) {
	t.Helper()
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(readHistory(t, ctx, c, id, runID))
	require.NoError(t, err)
	path := filepath.Join(historiesDir, name+".json")
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	t.Logf("wrote %s (%d bytes)", path, len(b))
}
