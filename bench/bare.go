package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/workflows"
	"golang.org/x/sync/errgroup"
)

// BareRun is what one run of the bare loop did.
type BareRun struct {
	Elapsed  time.Duration
	Stages   map[string]time.Duration
	Manifest contract.ManifestInput
}

// RunBare calls the pipeline's activities in-process, stage after stage as
// PipelineWorkflow does, without Temporal: the collect batches run at most
// parallelism at a time (the workflow's forEachBounded), the other stages
// one call each. It is the baseline the workflow's overhead is measured
// against.
func RunBare(ctx context.Context, a *activities.Activities, date string, parallelism int) (BareRun, error) {
	if parallelism <= 0 {
		parallelism = 4
	}
	res := BareRun{Stages: map[string]time.Duration{}}
	start := time.Now()
	timed := func(stage string, fn func() error) error {
		t0 := time.Now()
		if err := fn(); err != nil {
			return fmt.Errorf("bare loop, stage %s of %s: %w", stage, date, err)
		}
		res.Stages[stage] = time.Since(t0)
		return nil
	}
	m := &res.Manifest
	m.Date, m.Trigger, m.WorkflowID = date, "bench-bare", "bare-"+date
	m.StartedAt = start.UTC().Format(time.RFC3339)
	steps := []struct {
		stage string
		fn    func() error
	}{
		{workflows.StageResolve, func() (err error) {
			m.Resolve, err = a.Resolve(ctx, contract.ResolveInput{Date: date})
			return err
		}},
		{workflows.StageCollect, func() (err error) {
			m.Collect, err = collectBounded(ctx, a, date, m.Resolve, parallelism)
			return err
		}},
		{workflows.StageClean, func() (err error) {
			m.Clean, err = a.Clean(ctx, contract.CleanInput{Date: date, Mode: m.Resolve.Mode})
			return err
		}},
		{workflows.StageStore, func() (err error) {
			m.Store, err = a.Store(ctx, contract.StoreInput{Date: date, Mode: m.Resolve.Mode})
			return err
		}},
		{workflows.StageAggregate, func() (err error) {
			m.Aggregate, err = a.Aggregate(ctx, contract.AggregateInput{Date: date})
			return err
		}},
	}
	for _, s := range steps {
		if err := timed(s.stage, s.fn); err != nil {
			return res, err
		}
	}
	m.StageMillis = map[string]int64{}
	for stage, d := range res.Stages {
		m.StageMillis[stage] = d.Milliseconds()
	}
	if err := timed(workflows.StageManifest, func() error {
		_, err := a.WriteManifest(ctx, *m)
		return err
	}); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// collectBounded runs the batches of a resolved run with at most
// parallelism in flight; the first error stops new batches.
func collectBounded(ctx context.Context, a *activities.Activities, date string, r contract.ResolveResult, parallelism int) (contract.CollectSummary, error) {
	var (
		mu      sync.Mutex
		summary contract.CollectSummary
	)
	g, inner := errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	for b := 0; b < r.Batches; b++ {
		if inner.Err() != nil {
			break
		}
		g.Go(func() error {
			if inner.Err() != nil {
				return nil // an earlier batch failed while this one waited for a slot
			}
			res, err := a.CollectBatch(inner, contract.CollectInput{
				Date: date, ArtistsKey: r.ArtistsKey, Batch: b, BatchSize: r.BatchSize, Mode: r.Mode,
			})
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			summary.Add(res)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return summary, err
	}
	return summary, ctx.Err()
}

// ProfileStages re-runs the clean, store and aggregate stages of a date
// whose collect already ran, in-process, each under the CPU profiler, and
// writes DIR/cpu-<stage>.pprof. It returns each stage's duration. Each
// stage is idempotent, so re-running it over a finished date leaves the
// same data.
func ProfileStages(ctx context.Context, a *activities.Activities, date, mode, dir string) (map[string]time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create profile directory %s: %w", dir, err)
	}
	stages := []struct {
		name string
		fn   func() error
	}{
		{workflows.StageClean, func() error {
			_, err := a.Clean(ctx, contract.CleanInput{Date: date, Mode: mode})
			return err
		}},
		{workflows.StageStore, func() error {
			_, err := a.Store(ctx, contract.StoreInput{Date: date, Mode: mode})
			return err
		}},
		{workflows.StageAggregate, func() error {
			_, err := a.Aggregate(ctx, contract.AggregateInput{Date: date})
			return err
		}},
	}
	out := map[string]time.Duration{}
	for _, s := range stages {
		path := filepath.Join(dir, "cpu-"+s.name+".pprof")
		f, err := os.Create(path)
		if err != nil {
			return out, fmt.Errorf("create %s: %w", path, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return out, fmt.Errorf("profile %s: %w", s.name, err)
		}
		t0 := time.Now()
		err = s.fn()
		out[s.name] = time.Since(t0)
		pprof.StopCPUProfile()
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			return out, fmt.Errorf("profile stage %s of %s: %w", s.name, date, err)
		}
	}
	return out, nil
}
