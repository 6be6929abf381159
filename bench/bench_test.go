package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/workflows"
)

var (
	workerOnce sync.Once
	workerBin  string
	workerErr  error
)

// testWorker builds the worker binary once per test binary.
func testWorker(tb testing.TB) string {
	tb.Helper()
	workerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "metronome-bench-worker-")
		if err != nil {
			workerErr = err
			return
		}
		workerBin, workerErr = BuildWorker(context.Background(), dir)
	})
	require.NoError(tb, workerErr)
	return workerBin
}

// tinyConfig measures every part at a size that runs in well under a
// minute: correctness of the figures, not their values.
func tinyConfig(tb testing.TB) Config {
	return Config{
		Artists: 120, Sizes: []int{60, 120}, Reps: 1, Latency: time.Millisecond,
		RateArtists: 60, RateDevArtists: 60, RateBudget: 400, RateWindow: time.Second,
		Cap: 200, CapArtists: 60, CapDevArtists: 10,
		PriorityDates: 24, PriorityParallel: 8, PriorityArtists: 20,
		Workers: 2, WorkerBin: testWorker(tb), Dir: tb.TempDir(),
	}
}

// Every part runs, and the JSON report has the headline keys with values
// that make sense for what was measured.
func TestRunReportsEveryFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server, a fake Spotify API and worker processes")
	}
	cfg := tinyConfig(t)
	cfg.ProfileDir = filepath.Join(t.TempDir(), "profiles")
	var log bytes.Buffer
	cfg.Log = &log
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r, err := Run(ctx, cfg)
	require.NoError(t, err, log.String())
	t.Log(log.String())

	body, err := json.Marshal(r)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	for _, key := range []string{"overhead_ratio", "rate_utilization", "share_429", "calls_per_artist_ratio",
		"max_history_events", "peak_rss_mb", "scale_out_ratio", "cap_window_ratio", "request_first_spotify_seconds"} {
		require.IsType(t, float64(0), got[key], key)
	}

	require.Len(t, r.Overhead, 2)
	for _, o := range r.Overhead {
		require.Len(t, o.BareSeconds, 1)
		require.Len(t, o.TemporalSeconds, 1)
		require.Positive(t, o.BareMedian)
		require.Positive(t, o.TemporalMedian)
		require.InDelta(t, o.TemporalMedian/o.BareMedian, o.Ratio, 1e-9)
		require.Equal(t, 1, o.History.Executions, "a small run collects inline")
		for _, stage := range []string{workflows.StageCollect, workflows.StageClean, workflows.StageAggregate} {
			require.Contains(t, o.BareStages, stage)
			require.Contains(t, o.TemporalStages, stage)
		}
	}
	require.Equal(t, r.Overhead[1].Ratio, r.OverheadRatio, "the headline is the largest size")
	// Events grow with the batches: 3 batches of 60 artists' worth less
	// than 3 of 120.
	require.Less(t, r.Overhead[0].History.TotalEvents, r.Overhead[1].History.TotalEvents)

	require.Len(t, r.Rate, 4)
	for _, x := range r.Rate {
		require.Equal(t, 60, x.Artists, "%s %s", x.Mode, x.Run)
		require.Positive(t, x.Utilization)
		// A rolling window admits at most its budget in any window: over
		// the collect stage, one budget more than its length allows.
		windows := x.CollectSeconds / cfg.RateWindow.Seconds()
		require.LessOrEqual(t, x.Calls-x.RateLimited, int(float64(cfg.RateBudget)*(windows+1)), "%s %s", x.Mode, x.Run)
		require.GreaterOrEqual(t, x.CallsRatio, 0.999, "no run needs fewer calls than the minimum")
		require.InDelta(t, float64(x.RateLimited)/float64(x.Calls), x.Share429, 1e-9)
	}
	dev := r.Rate[3]
	require.Equal(t, spotifyfake.ModeDevelopment, dev.Mode)
	require.Equal(t, "incremental", dev.Run)
	require.InDelta(t, 2.0, dev.MinPerArtist, 1e-9, "an incremental development run needs two calls an artist")
	require.Less(t, dev.Calls, r.Rate[2].Calls, "the incremental run skips the known albums")

	require.NotNil(t, r.ScaleOut)
	for _, x := range []WorkerRun{r.ScaleOut.One, r.ScaleOut.Many} {
		require.Empty(t, x.MemoryNote)
		require.Positive(t, x.Seconds)
		require.Greater(t, x.PeakRSSMB, 10.0, "a Go worker with DuckDB holds more than 10 MiB")
		require.Less(t, x.PeakRSSMB, 8192.0)
		require.LessOrEqual(t, x.PeakRSSMB, x.RunPeakRSSMB, "the stages are part of the run")
		require.Positive(t, x.RowsOut)
		require.InDelta(t, 1.0, x.CallsRatio, 0.05)
		require.Contains(t, workflows.Stages, x.DominantStage)
	}
	require.Equal(t, 2, r.ScaleOut.Many.Workers)
	require.InDelta(t, r.ScaleOut.Many.Seconds/r.ScaleOut.One.Seconds, r.ScaleOutRatio, 1e-9)
	require.Equal(t, max(r.ScaleOut.One.PeakRSSMB, r.ScaleOut.Many.PeakRSSMB), r.PeakRSSMB)

	require.Len(t, r.Cap, 4, "both modes with 1 and 3 workers")
	for _, x := range r.Cap {
		require.Positive(t, x.Calls, "%s %d", x.Mode, x.Workers)
		require.Positive(t, x.WorstWindow)
		require.LessOrEqual(t, x.WindowRatio, r.CapWindowRatio)
		require.Positive(t, x.Utilization)
		require.GreaterOrEqual(t, x.CallsRatio, 0.999)
	}

	require.Len(t, r.Priority, 2, "without and with priorities")
	for _, x := range r.Priority {
		require.Positive(t, x.DoneSeconds, "priorities %t", x.Priorities)
		require.LessOrEqual(t, x.FirstQueueSeconds, x.FirstActivitySeconds)
		require.Less(t, x.FirstActivitySeconds, x.FirstSpotifySeconds, "the request is marked before Spotify is called")
	}
	require.Equal(t, r.Priority[1].FirstSpotifySeconds, r.RequestFirstSpotifySeconds, "the headline is the run with priorities")

	require.Positive(t, r.MaxHistoryEvents)
	require.Less(t, r.MaxHistoryEvents, TargetHistoryEvents)

	require.Len(t, r.Profiles, 1)
	for _, stage := range []string{workflows.StageClean, workflows.StageStore, workflows.StageAggregate} {
		info, err := os.Stat(filepath.Join(r.Profiles[0].Dir, "cpu-"+stage+".pprof"))
		require.NoError(t, err)
		require.Positive(t, info.Size())
	}

	var table bytes.Buffer
	require.NoError(t, WriteTable(&table, r))
	for _, want := range []string{"overhead ratio", "rate limit", "worker processes", "extended, first run", "development, incremental run"} {
		require.Contains(t, table.String(), want)
	}
}

// The minimum follows the API's limits: one artists call per batch in
// extended mode, two calls per artist in an incremental development run.
func TestMinimumCalls(t *testing.T) {
	cat := spotifyfake.NewCatalog(120, 1)
	var ids []string
	for _, a := range cat.Artists() {
		ids = append(ids, a.ID)
	}
	tests := []struct {
		name        string
		mode        string
		incremental bool
		atLeast     int
		atMost      int
	}{
		// 3 batches: 3 artists calls, 120 top-tracks calls, and at least
		// one audio-features call per batch.
		{name: "extended", mode: spotifyfake.ModeExtended, atLeast: 3 + 120 + 3, atMost: 3 + 120 + 3*5},
		{name: "development incremental", mode: spotifyfake.ModeDevelopment, incremental: true, atLeast: 240, atMost: 240},
		// Every artist: its artist call, an albums page and its albums.
		{name: "development first", mode: spotifyfake.ModeDevelopment, atLeast: 3 * 120, atMost: 100 * 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MinimumCalls(cat, tt.mode, ids, 50, tt.incremental)
			require.GreaterOrEqual(t, got, tt.atLeast)
			require.LessOrEqual(t, got, tt.atMost)
		})
	}
}

// BenchmarkPipeline reports the bench's figures at a small size (about
// three minutes): go test -run '^$' -bench Pipeline -benchtime 1x
// ./bench.
func BenchmarkPipeline(b *testing.B) {
	// The rate-limit runs keep their default sizes: a run much shorter
	// than the 10 s window measures the window's first burst, not the
	// pace.
	cfg := Config{
		Artists: 500, Sizes: []int{500}, Reps: 1, Latency: DefaultConfig().Latency,
		Workers: 2, WorkerBin: testWorker(b), Dir: b.TempDir(),
	}
	var r *Report
	for i := 0; i < b.N; i++ {
		var err error
		if r, err = Run(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(r.OverheadRatio, "overhead_ratio")
	b.ReportMetric(r.RateUtilization, "rate_utilization")
	b.ReportMetric(r.Share429, "share_429")
	b.ReportMetric(r.CallsPerArtistRatio, "calls_per_artist_ratio")
	b.ReportMetric(float64(r.MaxHistoryEvents), "max_history_events")
	b.ReportMetric(r.PeakRSSMB, "peak_rss_mb")
	b.ReportMetric(r.ScaleOutRatio, "scale_out_ratio")
}
