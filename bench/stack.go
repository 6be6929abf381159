package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/metrics"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/worker/app"
	"github.com/metronome-data/metronome/workflows"
)

// stack is what every part of one bench invocation shares: the embedded
// Temporal server (in memory) and a client of it.
type stack struct {
	srv    *devserver.Server
	client client.Client
}

func startStack(ctx context.Context) (*stack, error) {
	srv, err := devserver.Start(ctx, devserver.Options{})
	if err != nil {
		return nil, fmt.Errorf("start the embedded Temporal server: %w", err)
	}
	cfg := &config.Config{Temporal: config.TemporalConfig{Address: srv.FrontendAddress(), Namespace: "default"}}
	c, err := app.Dial(ctx, cfg, zap.NewNop())
	if err != nil {
		return nil, errors.Join(err, srv.Stop())
	}
	return &stack{srv: srv, client: c}, nil
}

func (s *stack) close() {
	s.client.Close()
	_ = s.srv.Stop()
}

// fake is a fake Spotify API of the bench process, shared by in-process
// workers and worker processes alike.
type fake struct {
	url  string
	srv  *spotifyfake.Server
	stop func()
}

func startFake(ctx context.Context, opts spotifyfake.Options) (*fake, error) {
	url, srv, stop, err := spotifyfake.StartServer(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start the fake Spotify API (%d artists, %s mode): %w", opts.Artists, opts.Mode, err)
	}
	return &fake{url: url, srv: srv, stop: stop}, nil
}

// artistIDs returns the Spotify IDs of the first n artists of the catalog:
// a run given IDs searches nothing, so every run of a size does the same
// work.
func (f *fake) artistIDs(n int) []string {
	refs := f.srv.Catalog().Artists()
	ids := make([]string, 0, n)
	for _, r := range refs[:min(n, len(refs))] {
		ids = append(ids, r.ID)
	}
	return ids
}

// Settings a bench run shares with a worker started from the defaults of
// config/load.go; the in-process runs set them explicitly so neither the
// environment nor a config file changes what is measured.
const (
	defaultBatchSize     = 50
	defaultRejectRate    = 0.2
	defaultConcurrentAct = 8
	defaultMemoryLimit   = "1GB"
	// The memory of the bench's worker processes: DuckDB's limit and the
	// Go heap's soft limit, for a worker under 500 MB at 100,000 artists.
	workerDuckDBMemory = "256MB"
	workerGoMemory     = "200MiB"
	defaultTimeout     = 10 * time.Second
	// unlimitedRate turns the task-queue-wide Spotify cap off.
	unlimitedRate = 1e6
)

// runConfig is the config of one in-process run: its own lake and serving
// store under dir, the fake's catalog, the given task queues.
func runConfig(dir, temporalAddress string, f *fake, mode string, seeds []string, queue string, rate float64) *config.Config {
	return &config.Config{
		DataDir: dir,
		Temporal: config.TemporalConfig{
			Address: temporalAddress, Namespace: "default",
			TaskQueue: queue, SpotifyTaskQueue: queue + "-spotify",
		},
		Spotify: config.SpotifyConfig{
			ClientID: spotifyfake.DefaultClientID, ClientSecret: spotifyfake.DefaultClientSecret,
			BaseURL: f.url + "/v1/", TokenURL: f.url + "/api/token",
			Market: "US", APIMode: mode, RequestsPerSecond: rate, Timeout: defaultTimeout,
		},
		Artists:   config.ArtistsConfig{Seeds: seeds},
		Pipeline:  config.PipelineConfig{BatchSize: defaultBatchSize, MaxRejectRate: defaultRejectRate},
		Lake:      config.LakeConfig{URL: "file://" + filepath.ToSlash(filepath.Join(dir, "lake"))},
		Serving:   config.ServingConfig{URL: "sqlite://" + filepath.ToSlash(filepath.Join(dir, "serving.db"))},
		Analytics: config.AnalyticsConfig{Engine: "duckdb", MemoryLimit: defaultMemoryLimit},
		Worker:    config.WorkerConfig{MaxConcurrentActivities: defaultConcurrentAct},
	}
}

// inProcessWorker runs the pipeline and Spotify workers of cfg in this
// process over acts until stop is called.
type inProcessWorker struct {
	cancel context.CancelFunc
	done   chan error
}

// startInProcessWorker starts the workers and returns once both poll.
func startInProcessWorker(ctx context.Context, c client.Client, cfg *config.Config, acts *activities.Activities) (*inProcessWorker, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &inProcessWorker{cancel: cancel, done: make(chan error, 1)}
	ready := &metrics.Readiness{}
	ready.SetNotReady("starting")
	go func() { w.done <- app.RunWorkers(ctx, c, cfg, acts, ready) }()
	deadline := time.After(time.Minute)
	for ready.Check() != nil {
		select {
		case err := <-w.done:
			cancel()
			return nil, fmt.Errorf("start the in-process workers on %s: %w", cfg.Temporal.TaskQueue, err)
		case <-deadline:
			_ = w.stop()
			return nil, fmt.Errorf("the in-process workers on %s did not start within a minute", cfg.Temporal.TaskQueue)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return w, nil
}

func (w *inProcessWorker) stop() error {
	w.cancel()
	return <-w.done
}

// temporalRun is one PipelineWorkflow run as the bench saw it.
type temporalRun struct {
	result  workflows.PipelineResult
	elapsed time.Duration
	history History
}

// runWorkflow starts PipelineWorkflow for date on queue, waits for it and
// counts its history. progress, when set, receives the run's progress
// every pollEvery until it ends.
func runWorkflow(ctx context.Context, c client.Client, id, queue, date string, parallelism int,
	progress func(workflows.Progress)) (temporalRun, error) {
	start := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: queue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, workflows.PipelineWorkflow, workflows.PipelineInput{
		Date: date, Trigger: "bench", Parallelism: parallelism, SpotifyTaskQueue: queue + "-spotify",
		// The bench's dates are fixed and past: every run captures them
		// again, as a late capture, so each one measures the whole pipeline.
		CaptureNow: true,
	})
	if err != nil {
		return temporalRun{}, fmt.Errorf("start %s on task queue %s: %w", id, queue, err)
	}
	var wg sync.WaitGroup
	pollCtx, stopPoll := context.WithCancel(ctx)
	if progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pollProgress(pollCtx, c, run, progress)
		}()
	}
	var res temporalRun
	err = run.Get(ctx, &res.result)
	res.elapsed = time.Since(start)
	stopPoll()
	wg.Wait()
	if err != nil {
		return res, fmt.Errorf("run %s: %w", id, err)
	}
	if res.history, err = CountHistory(ctx, c, run.GetID(), run.GetRunID()); err != nil {
		return res, err
	}
	return res, nil
}

// pollEvery is how often a watched run's progress is queried.
const pollEvery = 100 * time.Millisecond

func pollProgress(ctx context.Context, c client.Client, run client.WorkflowRun, progress func(workflows.Progress)) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ProgressQuery)
		if err != nil {
			continue // not started yet, or between workflow tasks
		}
		var p workflows.Progress
		if v.Get(&p) == nil {
			progress(p)
		}
	}
}

// History counts the events of a run's workflow executions: the run's own
// and those of every child workflow it started, recursively.
type History struct {
	Executions  int `json:"executions"`
	MaxEvents   int `json:"max_events"`
	TotalEvents int `json:"total_events"`
	// MaxExecution is the workflow ID of the longest history.
	MaxExecution string `json:"max_execution"`
}

func (h *History) add(o History) {
	h.Executions += o.Executions
	h.TotalEvents += o.TotalEvents
	if o.MaxEvents > h.MaxEvents {
		h.MaxEvents, h.MaxExecution = o.MaxEvents, o.MaxExecution
	}
}

// CountHistory reads the history of the execution id/runID and of its
// children with client.GetWorkflowHistory.
func CountHistory(ctx context.Context, c client.Client, id, runID string) (History, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := History{Executions: 1, MaxExecution: id}
	type child struct{ id, runID string }
	var children []child
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return h, fmt.Errorf("read history of %s: %w", id, err)
		}
		h.TotalEvents++
		if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
			children = append(children, child{a.GetWorkflowExecution().GetWorkflowId(), a.GetWorkflowExecution().GetRunId()})
		}
	}
	h.MaxEvents = h.TotalEvents
	for _, ch := range children {
		ho, err := CountHistory(ctx, c, ch.id, ch.runID)
		if err != nil {
			return h, err
		}
		h.add(ho)
	}
	return h, nil
}

// writeLines writes one string a line to path.
func writeLines(path string, lines []string) error {
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
