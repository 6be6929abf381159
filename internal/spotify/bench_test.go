package spotify

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// Benchmark settings: a latency per call and a rolling window that bounds
// the app to benchBudget calls per second; two batches in flight with four
// calls each, far more than the window allows, so the window is the limit.
const (
	benchLatency  = 5 * time.Millisecond
	benchBudget   = 300
	benchWindow   = time.Second
	benchParallel = 2
)

// BenchmarkCollect reports, per mode and run: artists/s, calls per artist
// against the mode's minimum, the share of 429s, and the achieved rate of
// admitted calls against the rate the window allows.
func BenchmarkCollect(b *testing.B) {
	b.Run("mode=extended/run=first", func(b *testing.B) {
		benchCollect(b, spotifyfake.ModeExtended, 2000, false)
	})
	b.Run("mode=development/run=first", func(b *testing.B) {
		benchCollect(b, spotifyfake.ModeDevelopment, 300, false)
	})
	b.Run("mode=development/run=incremental", func(b *testing.B) {
		benchCollect(b, spotifyfake.ModeDevelopment, 1000, true)
	})
}

func benchCollect(b *testing.B, mode string, artists int, incremental bool) {
	f := startFake(b, spotifyfake.Options{Artists: artists, Mode: mode, Latency: benchLatency, Budget: benchBudget, Window: benchWindow})
	cat := f.srv.Catalog()
	ids := f.artistIDs(artists)
	minimum, known, totals := minimumCalls(cat, Mode(mode), ids, incremental)
	var req func(*BatchRequest)
	if incremental {
		req = func(r *BatchRequest) {
			r.KnownAlbum = func(id string) bool { return known[id] }
			r.KnownAlbumTotal = func(id string) (int, bool) { n, ok := totals[id]; return n, ok }
		}
	}
	c := newTestClient(b, f.url, func(o *Options) {
		o.Gate = NewGate(GateOptions{Window: benchWindow})
		o.Concurrency = 4
	})
	ctx := context.Background()
	f.srv.ResetStats()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := collectAll(ctx, c, Mode(mode), ids, benchParallel, req); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()

	st := f.srv.Stats()
	calls := st.APICalls()
	limited := st.Status(http.StatusTooManyRequests)
	n := float64(b.N)
	b.ReportMetric(float64(artists)*n/elapsed.Seconds(), "artists/s")
	b.ReportMetric(float64(calls)/(float64(artists)*n), "calls/artist")
	b.ReportMetric(float64(minimum)/float64(artists), "min_calls/artist")
	b.ReportMetric(float64(calls)/(float64(minimum)*n), "calls/min")
	b.ReportMetric(100*float64(limited)/float64(calls), "429_%")
	allowed := float64(benchBudget) / benchWindow.Seconds()
	b.ReportMetric(float64(calls-limited)/elapsed.Seconds()/allowed, "achieved/allowed")
	b.ReportMetric(float64(st.DuringRetryAfter), "during_retry_after")
	b.ReportMetric(c.Gate().Pace()/allowed, "pace/allowed")
}

// minimumCalls is the fewest calls the mode needs for ids: extended, per
// batch, one artists call, one top-tracks call per artist and one
// audio-features call per 100 distinct top tracks; development, per
// artist, one artist call and its album pages, plus every album and its
// extra track pages on a first run, or one page on an incremental run. For
// an incremental run it also returns what the lake knows.
func minimumCalls(cat *spotifyfake.Catalog, mode Mode, ids []string, incremental bool) (int, map[string]bool, map[string]int) {
	known, totals := map[string]bool{}, map[string]int{}
	total := 0
	for start := 0; start < len(ids); start += MaxBatchArtists {
		batch := ids[start:min(start+MaxBatchArtists, len(ids))]
		if mode == ModeExtended {
			tracks := map[string]bool{}
			for _, id := range batch {
				top, _ := cat.TopTracks(id, DefaultMarket, time.Time{})
				for _, t := range top {
					tracks[t.ID] = true
				}
			}
			total += 1 + len(batch) + (len(tracks)+audioFeaturesIDs-1)/audioFeaturesIDs
			continue
		}
		for _, id := range batch {
			a, _ := cat.Artist(id)
			totals[id] = len(a.Albums)
			for _, al := range a.Albums {
				known[al.ID] = true
			}
			if incremental {
				total += 2
				continue
			}
			total += developmentMinimum(a)
		}
	}
	return total, known, totals
}
