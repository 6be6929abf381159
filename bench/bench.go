// Package bench measures what running metronome's pipeline through Temporal
// costs and how it holds up at scale, on one machine, over the fake Spotify
// API: the overhead of PipelineWorkflow on the embedded server against a
// bare in-process loop over the same activities, collection at the API's
// rate limit in both API modes, history events per execution, the worker's
// peak memory, one run at scale, the gain of a second worker process and
// how long an on-demand request waits behind a backfill.
// `starter bench` and BenchmarkPipeline run it.
//
// Like worker/app and starter/, it wires the whole system (activities,
// workflows, workers), which is why it lives outside internal/; nothing
// imports it but the CLI.
package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/spotify"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/worker/app"
	"github.com/metronome-data/metronome/workflows"
)

// Parts of a bench run.
const (
	PartOverhead = "overhead"
	PartRate     = "rate"
	PartScaleOut = "scaleout" // also measures the worker's memory
	PartScale    = "scale"
	// PartCap runs worker processes against spotify.requests_per_second.
	PartCap = "cap"
	// PartPriority sends an on-demand request behind a backfill, without
	// and with task-queue priorities.
	PartPriority = "priority"
)

// AllParts are the parts Run runs by default; PartScale runs only with
// Config.Scale set.
var AllParts = []string{PartOverhead, PartRate, PartScaleOut, PartCap, PartScale, PartPriority}

// Config says what to measure. Zero fields take the defaults of
// DefaultConfig, except Latency, whose zero means none.
type Config struct {
	// Artists is the size of the scale-out runs (and so of the memory
	// figure); default 2000.
	Artists int
	// Sizes are the overhead sizes; default 500 and 2000.
	Sizes []int
	// Reps is the number of runs of each kind per overhead size; default 3.
	Reps int
	// Latency is added by the fake to every response; zero adds none
	// (DefaultConfig's is 20ms).
	Latency time.Duration
	// Parallelism bounds the collect batches in flight
	// (PipelineInput.Parallelism); default 4.
	Parallelism int
	// RateArtists is the size of the rate-limit runs in extended mode;
	// default 2000 (about 2,250 calls a run).
	RateArtists int
	// RateDevArtists is the size of the rate-limit runs in development
	// mode, where an artist costs about 8 calls on a first run; default
	// 500 (about 4,200 calls).
	RateDevArtists int
	// RateBudget requests are allowed per RateWindow by the fake in the
	// rate-limit runs: Spotify's rolling 30 s window, scaled down so a
	// run spans several windows; default 1000 per 10 s.
	RateBudget int
	RateWindow time.Duration
	// Cap is spotify.requests_per_second of the cap runs, whose worker
	// processes (1, then 3) collect CapArtists artists in extended mode
	// and CapDevArtists in development mode; defaults 20, 600 and 80
	// (about 35 s of calls each).
	Cap           float64
	CapArtists    int
	CapDevArtists int
	// PriorityDates is the length of the priority part's backfill,
	// PriorityParallel the dates it runs at once and PriorityArtists the
	// artists of each date; defaults 96, 48 and 200.
	PriorityDates    int
	PriorityParallel int
	PriorityArtists  int
	// Scale is the size of the one run at scale; 0 skips it.
	Scale int
	// Workers is the number of worker processes of the scale-out run,
	// compared with one; below 2 skips it.
	Workers int
	// WorkerBin is a built worker binary; empty builds ./worker with the
	// go tool into Dir.
	WorkerBin string
	// Dir holds the runs' lakes, serving stores and worker logs; empty
	// uses a temporary directory removed at the end.
	Dir string
	// ProfileDir, when set, receives CPU profiles of the clean, store and
	// aggregate stages, re-run in-process over the data of the scale-out
	// run (DIR/<artists>/) and of the run at scale (DIR/<scale>/).
	ProfileDir string
	// Parts limits the run to these parts; empty runs AllParts.
	Parts []string
	// Log receives a line per finished run; nil discards them.
	Log io.Writer
}

// DefaultConfig returns the defaults of every field.
func DefaultConfig() Config {
	return Config{
		Artists: 2000, Sizes: []int{500, 2000}, Reps: 3, Latency: 20 * time.Millisecond,
		Parallelism: 4, RateArtists: 2000, RateDevArtists: 500, RateBudget: 1000, RateWindow: 10 * time.Second, Workers: 2,
		Cap: 20, CapArtists: 600, CapDevArtists: 80,
		PriorityDates: 96, PriorityParallel: 48, PriorityArtists: 200,
	}
}

// Validate fills in the defaults of zero fields and checks the rest.
func (c *Config) Validate() error {
	d := DefaultConfig()
	c.Artists = cmp.Or(c.Artists, d.Artists)
	if len(c.Sizes) == 0 {
		c.Sizes = d.Sizes
	}
	c.Reps = cmp.Or(c.Reps, d.Reps)
	c.Parallelism = cmp.Or(c.Parallelism, d.Parallelism)
	c.RateArtists = cmp.Or(c.RateArtists, d.RateArtists)
	c.RateDevArtists = cmp.Or(c.RateDevArtists, d.RateDevArtists)
	c.RateBudget = cmp.Or(c.RateBudget, d.RateBudget)
	c.RateWindow = cmp.Or(c.RateWindow, d.RateWindow)
	c.Workers = cmp.Or(c.Workers, d.Workers)
	c.Cap = cmp.Or(c.Cap, d.Cap)
	c.CapArtists = cmp.Or(c.CapArtists, d.CapArtists)
	c.CapDevArtists = cmp.Or(c.CapDevArtists, d.CapDevArtists)
	c.PriorityDates = cmp.Or(c.PriorityDates, d.PriorityDates)
	c.PriorityParallel = cmp.Or(c.PriorityParallel, d.PriorityParallel)
	c.PriorityArtists = cmp.Or(c.PriorityArtists, d.PriorityArtists)
	if len(c.Parts) == 0 {
		c.Parts = AllParts
	}
	for _, n := range append([]int{c.Artists, c.RateArtists, c.RateDevArtists, c.CapArtists, c.CapDevArtists, c.PriorityArtists, c.Scale}, c.Sizes...) {
		if n != 0 && (n < spotifyfake.MinArtists || n > spotifyfake.MaxArtists) {
			return fmt.Errorf("bench size %d: want %d to %d artists", n, spotifyfake.MinArtists, spotifyfake.MaxArtists)
		}
	}
	switch {
	case c.Reps < 1:
		return fmt.Errorf("bench reps %d: want at least 1", c.Reps)
	case c.Latency < 0:
		return fmt.Errorf("bench latency %s: must not be negative", c.Latency)
	case c.Parallelism < 1:
		return fmt.Errorf("bench parallelism %d: want at least 1", c.Parallelism)
	case c.RateBudget < 1 || c.RateWindow <= 0:
		return fmt.Errorf("bench rate budget %d per %s: want a positive budget and window", c.RateBudget, c.RateWindow)
	case c.Cap < 0:
		return fmt.Errorf("bench cap %v: want a number of requests per second > 0", c.Cap)
	case c.PriorityParallel <= prioritySlots || c.PriorityParallel > workflows.MaxBackfillParallel || c.PriorityDates < c.PriorityParallel:
		return fmt.Errorf("bench priority backfill of %d dates, %d at once: want more at once than the worker's %d activity slots, at most %d, and at least as many dates",
			c.PriorityDates, c.PriorityParallel, prioritySlots, workflows.MaxBackfillParallel)
	case c.Scale < 0:
		return fmt.Errorf("bench scale %d: want 0 (none) or a number of artists", c.Scale)
	}
	for _, p := range c.Parts {
		if !slices.Contains(AllParts, p) {
			return fmt.Errorf("bench part %q: want one of %v", p, AllParts)
		}
	}
	return nil
}

func (c *Config) has(part string) bool { return slices.Contains(c.Parts, part) }

// Report is everything one bench run measured. The headline figures are
// the worst over the runs measured; zero where a part did not run.
type Report struct {
	// OverheadRatio is the median wall time of PipelineWorkflow over that
	// of the bare loop, at the largest overhead size.
	OverheadRatio float64 `json:"overhead_ratio"`
	// RateUtilization is the lowest admitted requests/s ÷ allowed of the
	// rate-limit runs.
	RateUtilization float64 `json:"rate_utilization"`
	// Share429 is the highest share of calls answered 429.
	Share429 float64 `json:"share_429"`
	// CallsPerArtistRatio is the highest calls per artist ÷ the mode's
	// minimum.
	CallsPerArtistRatio float64 `json:"calls_per_artist_ratio"`
	// MaxHistoryEvents is the most events of any one workflow execution.
	MaxHistoryEvents int `json:"max_history_events"`
	// PeakRSSMB is the highest peak RSS of a worker process during the
	// clean, store and aggregate stages (from /proc: VmHWM reset as each
	// stage begins, and VmRSS sampled), in MiB.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// ScaleOutRatio is the wall time with Workers worker processes over
	// the wall time with one.
	ScaleOutRatio float64 `json:"scale_out_ratio"`
	// ScaleSeconds is the wall time of the run at scale.
	ScaleSeconds float64 `json:"scale_seconds"`
	// CapWindowRatio is the highest requests/s over the worst 10 s window
	// ÷ spotify.requests_per_second of the cap runs (the bound is 1.2:
	// 1.1 × the cap plus a burst of one second's worth).
	CapWindowRatio float64 `json:"cap_window_ratio"`
	// RequestFirstSpotifySeconds is how long after its signal an on-demand
	// request sent behind a backfill started its first Spotify activity,
	// with priorities (the run without them is under priority).
	RequestFirstSpotifySeconds float64 `json:"request_first_spotify_seconds"`

	Machine  Machine          `json:"machine"`
	Overhead []OverheadResult `json:"overhead,omitempty"`
	Rate     []RateResult     `json:"rate,omitempty"`
	ScaleOut *ScaleOutResult  `json:"scale_out,omitempty"`
	Cap      []CapResult      `json:"cap,omitempty"`
	Priority []PriorityResult `json:"priority,omitempty"`
	Scale    *WorkerRun       `json:"scale,omitempty"`
	Profiles []Profile        `json:"profiles,omitempty"`
}

// Machine describes where the bench ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Latency   string `json:"latency"`
}

// OverheadResult compares the two ways of running one size.
type OverheadResult struct {
	Artists         int       `json:"artists"`
	BareSeconds     []float64 `json:"bare_seconds"`
	TemporalSeconds []float64 `json:"temporal_seconds"`
	BareMedian      float64   `json:"bare_median"`
	TemporalMedian  float64   `json:"temporal_median"`
	Ratio           float64   `json:"ratio"`
	// BareStages and TemporalStages are the median seconds per stage.
	BareStages     map[string]float64 `json:"bare_stages"`
	TemporalStages map[string]float64 `json:"temporal_stages"`
	History        History            `json:"history"`
	// EventsPer1000 is the run's events over every execution, per 1,000
	// artists.
	EventsPer1000 float64 `json:"events_per_1000_artists"`
}

// RateResult is one run against the fake's rate limit.
type RateResult struct {
	Mode             string  `json:"mode"`
	Run              string  `json:"run"` // first or incremental
	Artists          int     `json:"artists"`
	Calls            int     `json:"calls"`
	RateLimited      int     `json:"rate_limited"`
	DuringRetryAfter int     `json:"during_retry_after"`
	CollectSeconds   float64 `json:"collect_seconds"`
	AllowedPerSecond float64 `json:"allowed_per_second"`
	AchievedPerSec   float64 `json:"achieved_per_second"`
	Utilization      float64 `json:"utilization"`
	Share429         float64 `json:"share_429"`
	CallsPerArtist   float64 `json:"calls_per_artist"`
	MinPerArtist     float64 `json:"min_calls_per_artist"`
	CallsRatio       float64 `json:"calls_per_artist_ratio"`
	History          History `json:"history"`
}

// WorkerRun is one run whose workers were separate processes.
type WorkerRun struct {
	Artists      int                `json:"artists"`
	Workers      int                `json:"workers"`
	Latency      string             `json:"latency"`
	Seconds      float64            `json:"seconds"`
	StageSeconds map[string]float64 `json:"stage_seconds"`
	// PeakRSSMB is the highest RSS of a worker process during the clean,
	// store and aggregate stages; RunPeakRSSMB over the whole run
	// (sampled); StagePeakRSSMB stage by stage.
	PeakRSSMB      float64            `json:"peak_rss_mb"`
	RunPeakRSSMB   float64            `json:"run_peak_rss_mb"`
	StagePeakRSSMB map[string]float64 `json:"stage_peak_rss_mb"`
	History        History            `json:"history"`
	EventsPer1000  float64            `json:"events_per_1000_artists"`
	Calls          int                `json:"calls"`
	CallsRatio     float64            `json:"calls_per_artist_ratio"`
	Share429       float64            `json:"share_429"`
	DominantStage  string             `json:"dominant_stage"`
	RowsOut        int                `json:"rows_out"`
	MemoryNote     string             `json:"memory_note,omitempty"`
}

// ScaleOutResult compares Workers worker processes with one.
type ScaleOutResult struct {
	One   WorkerRun `json:"one"`
	Many  WorkerRun `json:"many"`
	Ratio float64   `json:"ratio"`
}

// Profile is one in-process re-run of the CPU-heavy stages under pprof.
type Profile struct {
	Artists      int                `json:"artists"`
	Dir          string             `json:"dir"`
	StageSeconds map[string]float64 `json:"stage_seconds"`
}

// Dates of the bench runs: every run of a part writes the same date of its
// own lake; the rate-limit runs' incremental run is the next day.
const (
	benchDate = "2026-01-05"
	nextDate  = "2026-01-06"
)

type bencher struct {
	cfg    Config
	dir    string
	stack  *stack
	report *Report
	bin    string
}

// Run measures what cfg asks for and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	b := &bencher{cfg: cfg, report: &Report{Machine: Machine{
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Latency: cfg.Latency.String(),
	}}}
	b.dir = cfg.Dir
	if b.dir == "" {
		dir, err := os.MkdirTemp("", "metronome-bench-")
		if err != nil {
			return nil, fmt.Errorf("create bench directory: %w", err)
		}
		defer os.RemoveAll(dir)
		b.dir = dir
	} else if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create bench directory %s: %w", b.dir, err)
	}
	st, err := startStack(ctx)
	if err != nil {
		return nil, err
	}
	defer st.close()
	b.stack = st

	if cfg.has(PartOverhead) {
		if err := b.overhead(ctx); err != nil {
			return b.report, err
		}
	}
	if cfg.has(PartRate) {
		if err := b.rate(ctx); err != nil {
			return b.report, err
		}
	}
	if cfg.has(PartScaleOut) {
		if err := b.scaleOut(ctx); err != nil {
			return b.report, err
		}
	}
	if cfg.has(PartCap) {
		if err := b.capPart(ctx); err != nil {
			return b.report, err
		}
	}
	if cfg.has(PartPriority) {
		if err := b.priority(ctx); err != nil {
			return b.report, err
		}
	}
	if cfg.has(PartScale) && cfg.Scale > 0 {
		if err := b.scale(ctx); err != nil {
			return b.report, err
		}
	}
	return b.report, nil
}

func (b *bencher) logf(format string, args ...any) {
	fmt.Fprintf(b.cfg.Log, format+"\n", args...)
}

func (b *bencher) noteHistory(h History) {
	b.report.MaxHistoryEvents = max(b.report.MaxHistoryEvents, h.MaxEvents)
}

// overhead runs each size alternately through the bare loop and through
// PipelineWorkflow, each run on fresh backends.
func (b *bencher) overhead(ctx context.Context) error {
	f, err := startFake(ctx, spotifyfake.Options{
		Artists: max(slices.Max(b.cfg.Sizes), spotifyfake.MinArtists), Seed: 1,
		Mode: spotifyfake.ModeExtended, Latency: b.cfg.Latency,
	})
	if err != nil {
		return err
	}
	defer f.stop()
	addr := b.stack.srv.FrontendAddress()
	run := 0
	// fresh opens the backends of one run in a directory of its own.
	fresh := func(size int, queue string) (*runBackends, error) {
		run++
		dir := filepath.Join(b.dir, fmt.Sprintf("overhead-%d-%02d", size, run))
		cfg := runConfig(dir, addr, f, string(spotify.ModeExtended), f.artistIDs(size), queue, unlimitedRate)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		be, err := app.OpenBackends(ctx, cfg, zap.NewNop(), nil)
		if err != nil {
			return nil, fmt.Errorf("open backends in %s: %w", dir, err)
		}
		return &runBackends{Backends: be, cfg: cfg, dir: dir}, nil
	}

	// Warm-up: the first run of a process pays for loading what later
	// runs find ready (DuckDB, Parquet schemas, connections).
	warm := min(slices.Min(b.cfg.Sizes), 200)
	be, err := fresh(warm, "bench-warmup")
	if err != nil {
		return err
	}
	_, err = RunBare(ctx, be.Activities, benchDate, b.cfg.Parallelism)
	be.release()
	if err != nil {
		return err
	}

	for _, size := range b.cfg.Sizes {
		queue := fmt.Sprintf("bench-overhead-%d", size)
		res := OverheadResult{Artists: size}
		var bareStages, tempStages []map[string]float64
		for rep := 0; rep < b.cfg.Reps; rep++ {
			kinds := []string{"bare", "temporal"}
			if rep%2 == 1 {
				kinds = []string{"temporal", "bare"}
			}
			for _, kind := range kinds {
				be, err := fresh(size, queue)
				if err != nil {
					return err
				}
				if kind == "bare" {
					r, err := RunBare(ctx, be.Activities, benchDate, b.cfg.Parallelism)
					be.release()
					if err != nil {
						return err
					}
					res.BareSeconds = append(res.BareSeconds, r.Elapsed.Seconds())
					bareStages = append(bareStages, seconds(r.Manifest.StageMillis))
					b.logf("overhead %5d artists  rep %d  bare      %6.2fs", size, rep+1, r.Elapsed.Seconds())
					continue
				}
				// Workers of their own per run, started before the clock:
				// the run's backends are new.
				w, err := startInProcessWorker(ctx, b.stack.client, be.cfg, be.Activities)
				if err != nil {
					be.release()
					return err
				}
				id := fmt.Sprintf("bench-overhead-%d-%d", size, rep)
				tr, err := runWorkflow(ctx, b.stack.client, id, queue, benchDate, b.cfg.Parallelism, nil)
				var m activities.Manifest
				if err == nil {
					m, err = activities.ReadManifest(ctx, be.Activities.Lake, benchDate)
				}
				if serr := w.stop(); serr != nil && err == nil {
					err = fmt.Errorf("stop the in-process workers: %w", serr)
				}
				be.release()
				if err != nil {
					return err
				}
				res.TemporalSeconds = append(res.TemporalSeconds, tr.elapsed.Seconds())
				tempStages = append(tempStages, seconds(m.StageMillis))
				res.History = maxHistory(res.History, tr.history)
				b.noteHistory(tr.history)
				b.logf("overhead %5d artists  rep %d  temporal  %6.2fs  (%d events, largest execution %d)",
					size, rep+1, tr.elapsed.Seconds(), tr.history.TotalEvents, tr.history.MaxEvents)
			}
		}
		res.BareMedian, res.TemporalMedian = median(res.BareSeconds), median(res.TemporalSeconds)
		res.Ratio = res.TemporalMedian / res.BareMedian
		res.BareStages, res.TemporalStages = medianStages(bareStages), medianStages(tempStages)
		res.EventsPer1000 = 1000 * float64(res.History.TotalEvents) / float64(size)
		b.report.Overhead = append(b.report.Overhead, res)
	}
	largest := b.report.Overhead[0]
	for _, o := range b.report.Overhead {
		if o.Artists >= largest.Artists {
			largest = o
		}
	}
	b.report.OverheadRatio = largest.Ratio
	return nil
}

// runBackends are the backends of one overhead run, in a directory of
// their own.
type runBackends struct {
	*app.Backends
	cfg *config.Config
	dir string
}

// release closes the backends and removes their data.
func (r *runBackends) release() {
	_ = r.Close()
	_ = os.RemoveAll(r.dir)
}

// rate runs, in each API mode, a first and an incremental run against the
// fake's rolling-window limit. The in-process worker's Spotify client
// paces itself with a gate over the fake's window, as the worker's does
// over Spotify's 30 s, and spotify.requests_per_second is the allowed
// rate, the whole share of the one worker.
func (b *bencher) rate(ctx context.Context) error {
	allowed := float64(b.cfg.RateBudget) / b.cfg.RateWindow.Seconds()
	for _, mode := range []string{spotifyfake.ModeExtended, spotifyfake.ModeDevelopment} {
		if err := b.rateMode(ctx, mode, allowed); err != nil {
			return err
		}
	}
	first := true
	for _, r := range b.report.Rate {
		if first || r.Utilization < b.report.RateUtilization {
			b.report.RateUtilization = r.Utilization
		}
		first = false
		b.report.Share429 = max(b.report.Share429, r.Share429)
		b.report.CallsPerArtistRatio = max(b.report.CallsPerArtistRatio, r.CallsRatio)
	}
	return nil
}

func (b *bencher) rateMode(ctx context.Context, mode string, allowed float64) error {
	n := b.cfg.RateArtists
	if mode == spotifyfake.ModeDevelopment {
		n = b.cfg.RateDevArtists
	}
	f, err := startFake(ctx, spotifyfake.Options{
		Artists: max(n, spotifyfake.MinArtists), Seed: 1, Mode: mode, Latency: b.cfg.Latency,
		Budget: b.cfg.RateBudget, Window: b.cfg.RateWindow,
	})
	if err != nil {
		return err
	}
	defer f.stop()
	dir := filepath.Join(b.dir, "rate-"+mode)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	queue := "bench-rate-" + mode
	cfg := runConfig(dir, b.stack.srv.FrontendAddress(), f, mode, f.artistIDs(n), queue, allowed)
	be, err := app.OpenBackends(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		return fmt.Errorf("open backends in %s: %w", dir, err)
	}
	defer be.Close()
	sp, err := spotify.New(ctx, spotify.Options{
		ClientID: cfg.Spotify.ClientID, ClientSecret: cfg.Spotify.ClientSecret,
		BaseURL: cfg.Spotify.BaseURL, TokenURL: cfg.Spotify.TokenURL, Market: cfg.Spotify.Market,
		Timeout: cfg.Spotify.Timeout, Gate: spotify.NewGate(spotify.GateOptions{Window: b.cfg.RateWindow}),
	})
	if err != nil {
		return fmt.Errorf("create the Spotify client: %w", err)
	}
	be.Activities.Spotify = sp
	w, err := startInProcessWorker(ctx, b.stack.client, cfg, be.Activities)
	if err != nil {
		return err
	}
	defer w.stop()

	for i, run := range []string{"first", "incremental"} {
		date := []string{benchDate, nextDate}[i]
		f.srv.ResetStats()
		tr, err := runWorkflow(ctx, b.stack.client, fmt.Sprintf("bench-rate-%s-%s", mode, run), queue, date, b.cfg.Parallelism, nil)
		if err != nil {
			return err
		}
		st := f.srv.Stats()
		m, err := activities.ReadManifest(ctx, be.Activities.Lake, date)
		if err != nil {
			return err
		}
		ids, err := runArtists(ctx, be.Activities.Lake, date)
		if err != nil {
			return err
		}
		minimum := MinimumCalls(f.srv.Catalog(), mode, ids, m.Resolve.BatchSize, run == "incremental")
		r := RateResult{
			Mode: mode, Run: run, Artists: len(ids), Calls: st.APICalls(),
			RateLimited: st.RateLimited, DuringRetryAfter: st.DuringRetryAfter,
			CollectSeconds: float64(m.StageMillis[workflows.StageCollect]) / 1000, AllowedPerSecond: allowed,
			History: tr.history,
		}
		if r.CollectSeconds > 0 {
			r.AchievedPerSec = float64(r.Calls-r.RateLimited) / r.CollectSeconds
			r.Utilization = r.AchievedPerSec / allowed
		}
		if r.Calls > 0 {
			r.Share429 = float64(r.RateLimited) / float64(r.Calls)
		}
		r.CallsPerArtist = float64(r.Calls) / float64(len(ids))
		r.MinPerArtist = float64(minimum) / float64(len(ids))
		r.CallsRatio = float64(r.Calls) / float64(minimum)
		b.noteHistory(tr.history)
		b.report.Rate = append(b.report.Rate, r)
		b.logf("rate     %-11s %-11s %5d artists  %6d calls in %6.1fs  %.2f of allowed  %.2f%% 429  %.3f× min calls",
			mode, run, r.Artists, r.Calls, r.CollectSeconds, r.Utilization, 100*r.Share429, r.CallsRatio)
	}
	return nil
}

// scaleOut runs the same size with one worker process and with Workers,
// with no latency and no rate limit, so every stage is bound by CPU; the
// one-worker run also gives the memory figure.
func (b *bencher) scaleOut(ctx context.Context) error {
	one, err := b.workerRun(ctx, "scaleout-1", b.cfg.Artists, 1, 0)
	if err != nil {
		return err
	}
	res := &ScaleOutResult{One: one}
	if b.cfg.Workers >= 2 {
		many, err := b.workerRun(ctx, fmt.Sprintf("scaleout-%d", b.cfg.Workers), b.cfg.Artists, b.cfg.Workers, 0)
		if err != nil {
			return err
		}
		res.Many = many
		res.Ratio = many.Seconds / one.Seconds
		b.report.ScaleOutRatio = res.Ratio
	}
	b.report.ScaleOut = res
	return b.profile(ctx, "scaleout-1", b.cfg.Artists)
}

// scale is the one run at Config.Scale artists, one worker process, the
// fake's latency on and no rate limit.
func (b *bencher) scale(ctx context.Context) error {
	r, err := b.workerRun(ctx, "scale", b.cfg.Scale, 1, b.cfg.Latency)
	if err != nil {
		return err
	}
	b.report.Scale = &r
	b.report.ScaleSeconds = r.Seconds
	return b.profile(ctx, "scale", b.cfg.Scale)
}

// profile re-runs the CPU-heavy stages of the run in b.dir/name under the
// profiler, when Config.ProfileDir is set.
func (b *bencher) profile(ctx context.Context, name string, artists int) error {
	if b.cfg.ProfileDir == "" {
		return nil
	}
	dir := filepath.Join(b.dir, name)
	// Clean, store and aggregate call no Spotify API: the client is built
	// but never used, so it points nowhere.
	nowhere := &fake{url: "http://127.0.0.1:1"}
	cfg := runConfig(dir, b.stack.srv.FrontendAddress(), nowhere, string(spotify.ModeExtended), nil, "unused", unlimitedRate)
	cfg.Artists.File = filepath.Join(dir, "artists.txt")
	be, err := app.OpenBackends(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		return fmt.Errorf("open the backends of %s to profile: %w", dir, err)
	}
	defer be.Close()
	out := filepath.Join(b.cfg.ProfileDir, fmt.Sprint(artists))
	stages, err := ProfileStages(ctx, be.Activities, benchDate, string(spotify.ModeExtended), out)
	if err != nil {
		return err
	}
	p := Profile{Artists: artists, Dir: out, StageSeconds: map[string]float64{}}
	for s, d := range stages {
		p.StageSeconds[s] = d.Seconds()
	}
	b.report.Profiles = append(b.report.Profiles, p)
	b.logf("profile  %6d artists  clean %.1fs  store %.1fs  aggregate %.1fs  → %s", artists,
		p.StageSeconds[workflows.StageClean], p.StageSeconds[workflows.StageStore], p.StageSeconds[workflows.StageAggregate], out)
	return nil
}

// workerRun runs PipelineWorkflow over n artists with workers worker
// processes and follows their memory.
func (b *bencher) workerRun(ctx context.Context, name string, n, workers int, latency time.Duration) (WorkerRun, error) {
	res := WorkerRun{Artists: n, Workers: workers, Latency: latency.String()}
	if _, err := b.workerBin(ctx); err != nil {
		return res, err
	}
	f, err := startFake(ctx, spotifyfake.Options{
		Artists: max(n, spotifyfake.MinArtists), Seed: 1, Mode: spotifyfake.ModeExtended, Latency: latency,
	})
	if err != nil {
		return res, err
	}
	defer f.stop()
	dir := filepath.Join(b.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("create %s: %w", dir, err)
	}
	artistsFile := filepath.Join(dir, "artists.txt")
	if err := writeLines(artistsFile, f.artistIDs(n)); err != nil {
		return res, err
	}
	queue := "bench-" + name
	var procs []*workerProc
	defer func() {
		for _, p := range procs {
			p.Stop(30 * time.Second)
		}
	}()
	for i := range workers {
		p, err := startWorkerProc(fmt.Sprintf("worker-%d", i+1), b.bin, dir, func(metricsAddr string) []string {
			return workerEnv(b.stack.srv.FrontendAddress(), queue, dir, f.url, spotifyfake.ModeExtended, artistsFile, metricsAddr)
		})
		if err != nil {
			return res, err
		}
		procs = append(procs, p)
	}
	var pids []int
	for _, p := range procs {
		if err := p.waitReady(ctx, 2*time.Minute); err != nil {
			return res, err
		}
		pids = append(pids, p.PID())
	}

	watch := newMemoryWatch(pids)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { watch.run(watchCtx); close(watchDone) }()
	tr, err := runWorkflow(ctx, b.stack.client, "bench-"+name, queue, benchDate, b.cfg.Parallelism, watch.progress)
	stopWatch()
	<-watchDone
	if err != nil {
		return res, fmt.Errorf("%w (worker logs in %s)", err, dir)
	}
	window, runPeak, stagePeaks, werr := watch.finish()
	if werr != nil {
		res.MemoryNote = werr.Error()
	}
	res.Seconds = tr.elapsed.Seconds()
	res.PeakRSSMB, res.RunPeakRSSMB = mib(window), mib(runPeak)
	res.StagePeakRSSMB = map[string]float64{}
	for s, v := range stagePeaks {
		if slices.Contains(workflows.Stages, s) {
			res.StagePeakRSSMB[s] = mib(v)
		}
	}
	res.History = tr.history
	res.EventsPer1000 = 1000 * float64(tr.history.TotalEvents) / float64(n)
	b.noteHistory(tr.history)
	b.report.PeakRSSMB = max(b.report.PeakRSSMB, res.PeakRSSMB)

	m, ids, err := readRun(ctx, dir)
	if err != nil {
		return res, err
	}
	res.StageSeconds = seconds(m.StageMillis)
	res.DominantStage = dominant(res.StageSeconds)
	for _, rows := range m.Clean.Report.RowsOut {
		res.RowsOut += rows
	}
	st := f.srv.Stats()
	res.Calls = st.APICalls()
	if res.Calls > 0 {
		res.Share429 = float64(st.Status(429)) / float64(res.Calls)
	}
	if minimum := MinimumCalls(f.srv.Catalog(), spotifyfake.ModeExtended, ids, m.Resolve.BatchSize, false); minimum > 0 {
		res.CallsRatio = float64(res.Calls) / float64(minimum)
	}
	b.logf("workers  %6d artists  %d worker(s)  %7.1fs  peak RSS %.0f MiB (clean/store/aggregate)  %d events, largest execution %d  stages %v",
		n, workers, res.Seconds, res.PeakRSSMB, tr.history.TotalEvents, tr.history.MaxEvents, formatStages(res.StageSeconds))
	return res, nil
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

func seconds(millis map[string]int64) map[string]float64 {
	out := make(map[string]float64, len(millis))
	for k, v := range millis {
		out[k] = float64(v) / 1000
	}
	return out
}

func dominant(stages map[string]float64) string {
	best := ""
	for _, s := range workflows.Stages {
		if best == "" || stages[s] > stages[best] {
			best = s
		}
	}
	return best
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianStages(runs []map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, stage := range workflows.Stages {
		var xs []float64
		for _, r := range runs {
			if v, ok := r[stage]; ok {
				xs = append(xs, v)
			}
		}
		if len(xs) > 0 {
			out[stage] = median(xs)
		}
	}
	return out
}

func maxHistory(a, b History) History {
	if b.TotalEvents > a.TotalEvents {
		return b
	}
	return a
}
