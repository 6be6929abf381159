package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/metrics"
	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/workflows"
)

// Backends are the opened dependencies of the activities. Close releases
// them in reverse order.
type Backends struct {
	Activities *activities.Activities
	closers    []func() error
}

// Close closes every backend.
func (b *Backends) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	return errors.Join(errs...)
}

// StartFake serves the built-in sample catalog in-process when enabled and
// points cfg's Spotify client at it. It returns a stop function.
func StartFake(ctx context.Context, cfg *config.Config) (stop func(), err error) {
	_, stop, err = StartFakeServer(ctx, cfg)
	return stop, err
}

// StartFakeServer is StartFake that also returns the fake, whose Stats
// count the requests it served.
func StartFakeServer(ctx context.Context, cfg *config.Config) (*spotifyfake.Server, func(), error) {
	f := cfg.Spotify.Fake
	url, srv, stop, err := spotifyfake.StartServer(ctx, spotifyfake.Options{
		Artists: f.Artists, Seed: f.Seed, Mode: f.Mode, Latency: f.Latency,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start the sample Spotify catalog: %w", err)
	}
	cfg.Spotify.BaseURL = url + "/v1/"
	cfg.Spotify.TokenURL = url + "/api/token"
	cfg.Spotify.ClientID = spotifyfake.DefaultClientID
	cfg.Spotify.ClientSecret = spotifyfake.DefaultClientSecret
	if len(cfg.Artists.Seeds) == 0 && cfg.Artists.File == "" {
		for _, a := range spotifyfake.NewCatalog(f.Artists, f.Seed).Artists() {
			cfg.Artists.Seeds = append(cfg.Artists.Seeds, a.Name)
		}
	}
	return srv, stop, nil
}

// OpenBackends opens the lake, serving store, analytics engine and Spotify
// client of cfg. m records the pipeline's metrics; nil records nothing.
func OpenBackends(ctx context.Context, cfg *config.Config, logger *zap.Logger, m *metrics.Pipeline) (*Backends, error) {
	if !cfg.HasSpotifyCredentials() {
		return nil, errors.New("no Spotify credentials: set SPOTIFY_ID and SPOTIFY_SECRET, or METRONOME_SPOTIFY_FAKE=true to collect from the built-in sample catalog")
	}
	seeds, err := Seeds(cfg)
	if err != nil {
		return nil, err
	}
	b := &Backends{}
	fail := func(err error) (*Backends, error) {
		return nil, errors.Join(err, b.Close())
	}

	store, err := lake.Open(ctx, cfg.Lake.URL)
	if err != nil {
		return fail(fmt.Errorf("open lake.url %s: %w", cfg.Lake.URL, err))
	}
	srv, err := serving.Open(ctx, cfg.Serving.URL)
	if err != nil {
		return fail(fmt.Errorf("open serving.url %s: %w", cfg.Serving.URL, err))
	}
	b.closers = append(b.closers, srv.Close)
	engine, err := openEngine(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	if c, ok := engine.(interface{ Close() error }); ok {
		b.closers = append(b.closers, c.Close)
	}
	sp, err := spotify.New(ctx, spotify.Options{
		ClientID: cfg.Spotify.ClientID, ClientSecret: cfg.Spotify.ClientSecret,
		BaseURL: cfg.Spotify.BaseURL, TokenURL: cfg.Spotify.TokenURL,
		Market: cfg.Spotify.Market, Timeout: cfg.Spotify.Timeout,
		HTTPClient: &http.Client{Transport: meteredTransport{next: http.DefaultTransport, metrics: m}},
	})
	if err != nil {
		return fail(fmt.Errorf("create Spotify client for %s: %w", cfg.Spotify.BaseURL, err))
	}

	b.Activities = &activities.Activities{
		Spotify: sp, Lake: store, Serving: srv, Analytics: engine, Logger: logger, Metrics: m,
		Settings: activities.Settings{
			APIMode: cfg.Spotify.APIMode, Market: cfg.Spotify.Market,
			BatchSize: cfg.Pipeline.BatchSize, MaxRejectRate: cfg.Pipeline.MaxRejectRate,
			Seeds: seeds, QuotaWait: cfg.Spotify.QuotaWait,
		},
		Replies: reply.Sender{SlackBotToken: cfg.Slack.BotToken, Callbacks: CallbackPolicy(cfg)},
	}
	b.Activities.Settings.ServingURL = cfg.Serving.URL
	lin, err := newLineage(cfg, logger)
	if err != nil {
		return fail(err)
	}
	if lin != nil { // a nil *Client would be a non-nil Emitter
		b.Activities.Lineage = lin
	}
	return b, nil
}

// Seeds are the configured artists: artists.seeds and the lines of
// artists.file (blank lines and # comments skipped).
func Seeds(cfg *config.Config) ([]string, error) {
	seeds := append([]string(nil), cfg.Artists.Seeds...)
	if cfg.Artists.File == "" {
		return seeds, nil
	}
	lines, err := ReadArtistsFile(cfg.Artists.File)
	if err != nil {
		return nil, err
	}
	return append(seeds, lines...), nil
}

// ReadArtistsFile reads names or Spotify IDs, one a line.
func ReadArtistsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("artists file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsRune(line, '\x00') || !isPrintable(line) {
			return nil, fmt.Errorf("artists file %s line %d is not text: want one artist name or Spotify ID a line", path, n)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("artists file %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("artists file %s names no artist: want one artist name or Spotify ID a line", path)
	}
	return out, nil
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || (r < 0x20 && r != '\t') {
			return false
		}
	}
	return true
}

// RunWorkers runs the pipeline worker (workflows and storage activities) and
// the Spotify worker (activities that call Spotify) until ctx is done, then
// stops them gracefully: activities in flight get the stop timeout to
// finish, and any that do not are retried by another worker.
//
// spotify.requests_per_second caps the requests of every worker process
// together, in both API modes: the Spotify worker's gate sends at most its
// share, the cap ÷ the workers polling the Spotify task queue (share.go;
// docs/ARCHITECTURE.md, "The Spotify request cap"). A cap on activities
// (TaskQueueActivitiesPerSecond) cannot do it: a collect batch costs from
// about 56 requests (extended) to 420 (development, first capture), and
// each starts them at once.
// ready, when not nil, turns ready once both workers poll and the share is
// known, and not ready when they stop.
func RunWorkers(ctx context.Context, c client.Client, cfg *config.Config, acts *activities.Activities, ready *metrics.Readiness) error {
	if acts.Temporal == nil {
		// RunPipeline starts or joins pipeline-D with the worker's own
		// client.
		acts.Temporal = c
	}
	main := worker.New(c, cfg.Temporal.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.Worker.MaxConcurrentActivities,
		WorkerStopTimeout:                  workerStopTimeout,
	})
	workflows.Register(main)
	activities.Register(main, acts)

	identity := workerIdentity()
	sp := worker.New(c, cfg.Temporal.SpotifyTaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.Worker.MaxConcurrentActivities,
		Identity:                           identity,
		WorkerStopTimeout:                  workerStopTimeout,
	})
	activities.Register(sp, acts)
	var share *capShare
	if acts.Spotify != nil {
		logger := acts.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		share = newCapShare(c, cfg.Temporal.SpotifyTaskQueue, identity, cfg.Spotify.RequestsPerSecond,
			acts.Spotify.Gate(), logger)
		share.hold()
	}

	if err := main.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", cfg.Temporal.TaskQueue, err)
	}
	defer main.Stop()
	if err := sp.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", cfg.Temporal.SpotifyTaskQueue, err)
	}
	defer sp.Stop()
	if share != nil {
		if ready != nil {
			ready.SetNotReady("learning this worker's share of spotify.requests_per_second")
		}
		go share.run(ctx)
		select {
		case <-share.settled:
		case <-ctx.Done():
			return nil
		}
	}
	if ready != nil {
		ready.SetReady()
		defer ready.SetNotReady("stopping")
	}
	<-ctx.Done()
	return nil
}

// workerStopTimeout is how long a stopping worker lets activities in flight
// finish before their tasks are left to time out and retry elsewhere.
const workerStopTimeout = 30 * time.Second

// Serve connects to Temporal, opens the backends, serves /metrics, /healthz
// and /readyz on worker.metrics_addr and runs the workers until ctx is done.
func Serve(ctx context.Context, cfg *config.Config, logger *zap.Logger) error {
	if limit, err := cfg.Worker.GoMemoryLimitBytes(); err != nil {
		return fmt.Errorf("worker.go_memory_limit: %w", err)
	} else if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	reg := metrics.NewRegistry()
	pipeline, err := metrics.NewPipeline(reg)
	if err != nil {
		return fmt.Errorf("register pipeline metrics: %w", err)
	}
	pipeline.SetMaxRejectRate(maxRejectRate(cfg))
	sdkMetrics, flush := metrics.TemporalHandler(reg, logger)
	defer flush.Close()
	ready := &metrics.Readiness{}
	ready.SetNotReady("connecting to Temporal at " + cfg.Temporal.Address)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// Metrics are worth a warning, not a stopped worker: a second
		// worker on the same host may hold the port.
		if err := metrics.Serve(ctx, cfg.Worker.MetricsAddr, reg, ready.Check); err != nil {
			logger.Warn("metrics, health and readiness not served", zap.String("addr", cfg.Worker.MetricsAddr), zap.Error(err))
		}
	}()

	c, err := dial(ctx, cfg, logger, sdkMetrics)
	if err != nil {
		return err
	}
	defer c.Close()
	b, err := OpenBackends(ctx, cfg, logger, pipeline)
	if err != nil {
		return err
	}
	defer b.Close()
	registerLineageMetrics(reg, b.Activities, logger)
	logger.Info("worker polling", zap.String("temporal", cfg.Temporal.Address),
		zap.String("task_queue", cfg.Temporal.TaskQueue), zap.String("spotify_task_queue", cfg.Temporal.SpotifyTaskQueue),
		zap.String("lake", cfg.Lake.URL), zap.String("serving", cfg.Serving.URL),
		zap.String("lineage", cfg.Lineage.URL))
	exported := make(chan struct{})
	go func() {
		defer close(exported)
		exportServingStats(ctx, b.Activities.Serving, pipeline, servingStatsEvery)
	}()
	looked := make(chan struct{})
	go func() {
		defer close(looked)
		exportLastPartition(ctx, b.Activities.Lake, pipeline, logger, lastPartitionEvery)
	}()
	err = RunWorkers(ctx, c, cfg, b.Activities, ready)
	cancel()
	<-exported
	<-looked
	return err
}

// servingStatsEvery is how often the serving store's own counters reach
// /metrics.
const servingStatsEvery = 5 * time.Second

// exportServingStats adds what the serving store counted since the last
// look to the pipeline's metrics, every interval and once more when ctx
// ends. The store counts every write of every activity, so concurrent runs
// are counted once each.
func exportServingStats(ctx context.Context, store *serving.Store, m *metrics.Pipeline, every time.Duration) {
	var last serving.Stats
	export := func() {
		now := store.Stats()
		m.RecordServingWrites(int(now.ItemsWritten - last.ItemsWritten))
		m.RecordServingRetries(int(now.Retries - last.Retries))
		last = now
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			export()
		case <-ctx.Done():
			export()
			return
		}
	}
}

// openEngine builds the analytics engine of analytics.engine.
func openEngine(ctx context.Context, cfg *config.Config) (analytics.Engine, error) {
	if cfg.Analytics.Engine == "athena" {
		a := cfg.Analytics.Athena
		engine, err := analytics.NewAthena(ctx, analytics.AthenaConfig{
			Database: a.Database, WorkGroup: a.WorkGroup, OutputLocation: a.OutputLocation,
			Heartbeat: activities.AnalyticsHeartbeat,
		})
		if err != nil {
			return nil, fmt.Errorf("create athena client (database %s, workgroup %s): %w", a.Database, a.WorkGroup, err)
		}
		return engine, nil
	}
	engine, err := analytics.NewDuckDB(analytics.WithMemoryLimit(cfg.Analytics.MemoryLimit),
		analytics.WithHeartbeat(activities.AnalyticsHeartbeat))
	if err != nil {
		return nil, fmt.Errorf("start duckdb: %w", err)
	}
	return engine, nil
}

// CallbackPolicy is where callback_url posts may go (api.callback_hosts):
// the worker posts there and `starter serve` checks requests against it.
func CallbackPolicy(cfg *config.Config) reply.CallbackPolicy {
	return reply.CallbackPolicy{Hosts: cfg.API.CallbackHosts, AllowLoopback: cfg.API.CallbackAllowLoopback}
}
