package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/workflows"
)

// CapWindow is the window over which the cap is checked: the calls of all
// workers together in any CapWindow stay within CapBound.
const CapWindow = 10 * time.Second

// CapBound is the most calls that any CapWindow may hold under a cap of
// rps requests per second: 1.1 × rps × 10 s, plus a burst of rps.
func CapBound(rps float64) int {
	return int(1.1*rps*CapWindow.Seconds() + rps)
}

// CapResult is one run of worker processes against the cap of
// spotify.requests_per_second.
type CapResult struct {
	Mode    string  `json:"mode"`
	Workers int     `json:"workers"`
	Artists int     `json:"artists"`
	Cap     float64 `json:"cap"` // spotify.requests_per_second
	Calls   int     `json:"calls"`
	// WorstWindow is the most calls of any 10 s window; WindowRatio is
	// that as requests/s ÷ the cap (≤ 1.1 + 0.1 is within the bound).
	WorstWindow    int     `json:"worst_window_calls"`
	WindowRatio    float64 `json:"worst_window_ratio"`
	Bound          int     `json:"bound_calls"`
	RateLimited    int     `json:"rate_limited"`
	Share429       float64 `json:"share_429"`
	CollectSeconds float64 `json:"collect_seconds"`
	// Utilization is the calls answered other than 429 per second of the
	// collect stage ÷ the cap.
	Utilization float64 `json:"utilization"`
	CallsRatio  float64 `json:"calls_per_artist_ratio"`
	Seconds     float64 `json:"seconds"`
}

// capRun runs one first capture of artists in mode with workers worker
// processes of bin, all configured with spotify.requests_per_second rps,
// against a fake that answers 429 past CapBound(rps) calls in any 10 s
// window, and measures every call's arrival at the fake. latency is
// added to each answer. dir receives the lake, serving store and logs.
func capRun(ctx context.Context, st *stack, bin, dir, mode string, workers, artists int, rps float64, latency time.Duration) (CapResult, error) {
	res := CapResult{Mode: mode, Workers: workers, Artists: artists, Cap: rps, Bound: CapBound(rps)}
	f, err := startFake(ctx, spotifyfake.Options{
		Artists: max(artists, spotifyfake.MinArtists), Seed: 1, Mode: mode, Latency: latency,
		Budget: res.Bound, Window: CapWindow,
	})
	if err != nil {
		return res, err
	}
	defer f.stop()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("create %s: %w", dir, err)
	}
	artistsFile := filepath.Join(dir, "artists.txt")
	if err := writeLines(artistsFile, f.artistIDs(artists)); err != nil {
		return res, err
	}
	// A queue of its own: the server lists a queue's pollers for minutes
	// after they stop, and the workers of an earlier run would take a
	// share.
	queue := fmt.Sprintf("cap-%s-%d-%d", mode, workers, time.Now().UnixNano())
	var procs []*workerProc
	defer func() {
		for _, p := range procs {
			p.Stop(30 * time.Second)
		}
	}()
	for i := range workers {
		p, err := startWorkerProc(fmt.Sprintf("worker-%d", i+1), bin, dir, func(metricsAddr string) []string {
			return append(workerEnv(st.srv.FrontendAddress(), queue, dir, f.url, mode, artistsFile, metricsAddr),
				"METRONOME_SPOTIFY_REQUESTS_PER_SECOND="+strconv.FormatFloat(rps, 'f', -1, 64))
		})
		if err != nil {
			return res, err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := p.waitReady(ctx, 2*time.Minute); err != nil {
			return res, err
		}
	}
	f.srv.ResetStats()
	// The pipeline's default parallelism (4 batches in flight).
	tr, err := runWorkflow(ctx, st.client, "cap-"+queue, queue, benchDate, 0, nil)
	if err != nil {
		return res, fmt.Errorf("%w (worker logs in %s)", err, dir)
	}
	res.Seconds = tr.elapsed.Seconds()
	stats := f.srv.Stats()
	res.Calls = stats.APICalls()
	res.RateLimited = stats.Status(429)
	res.WorstWindow, _ = spotifyfake.WorstWindow(f.srv.Arrivals(), CapWindow)
	res.WindowRatio = float64(res.WorstWindow) / CapWindow.Seconds() / rps
	if res.Calls > 0 {
		res.Share429 = float64(res.RateLimited) / float64(res.Calls)
	}
	m, ids, err := readRun(ctx, dir)
	if err != nil {
		return res, err
	}
	res.CollectSeconds = float64(m.StageMillis[workflows.StageCollect]) / 1000
	if res.CollectSeconds > 0 {
		res.Utilization = float64(res.Calls-res.RateLimited) / res.CollectSeconds / rps
	}
	if minimum := MinimumCalls(f.srv.Catalog(), mode, ids, m.Resolve.BatchSize, false); minimum > 0 {
		res.CallsRatio = float64(res.Calls) / float64(minimum)
	}
	return res, nil
}

// capPart runs capRun in both API modes with 1 and with 3 worker
// processes.
func (b *bencher) capPart(ctx context.Context) error {
	bin, err := b.workerBin(ctx)
	if err != nil {
		return err
	}
	for _, mode := range []string{spotifyfake.ModeExtended, spotifyfake.ModeDevelopment} {
		n := b.cfg.CapArtists
		if mode == spotifyfake.ModeDevelopment {
			n = b.cfg.CapDevArtists
		}
		for _, workers := range []int{1, 3} {
			dir := filepath.Join(b.dir, fmt.Sprintf("cap-%s-%d", mode, workers))
			r, err := capRun(ctx, b.stack, bin, dir, mode, workers, n, b.cfg.Cap, b.cfg.Latency)
			if err != nil {
				return err
			}
			b.report.Cap = append(b.report.Cap, r)
			b.report.CapWindowRatio = max(b.report.CapWindowRatio, r.WindowRatio)
			b.logf("cap      %-11s %d worker(s)  %5d artists  %6d calls in %6.1fs  worst 10 s %d (bound %d) = %.3f× cap  %.2f of cap  %.2f%% 429  %.3f× min calls",
				mode, workers, r.Artists, r.Calls, r.CollectSeconds, r.WorstWindow, r.Bound, r.WindowRatio,
				r.Utilization, 100*r.Share429, r.CallsRatio)
		}
	}
	return nil
}

// workerBin returns the worker binary, built on first use unless
// Config.WorkerBin names one.
func (b *bencher) workerBin(ctx context.Context) (string, error) {
	if b.bin == "" {
		b.bin = b.cfg.WorkerBin
		if b.bin == "" {
			bin, err := BuildWorker(ctx, b.dir)
			if err != nil {
				return "", err
			}
			b.bin = bin
		}
	}
	return b.bin, nil
}

// readRun reads the manifest and the resolved artist IDs of the run whose
// lake is in dir.
func readRun(ctx context.Context, dir string) (activities.Manifest, []string, error) {
	store, err := lake.Open(ctx, "file://"+filepath.ToSlash(filepath.Join(dir, "lake")))
	if err != nil {
		return activities.Manifest{}, nil, fmt.Errorf("open the lake of %s: %w", dir, err)
	}
	m, err := activities.ReadManifest(ctx, store, benchDate)
	if err != nil {
		return activities.Manifest{}, nil, err
	}
	ids, err := runArtists(ctx, store, benchDate)
	return m, ids, err
}
