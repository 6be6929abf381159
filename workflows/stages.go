package workflows

import (
	"fmt"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
)

// stageActivities are the activities a run's resolve, collect, clean and
// store stages call, by name.
type stageActivities struct{ resolve, collect, clean, store string }

// pipelineStages are the stage activities of every run: a request run
// calls the same ones as the daily pipeline, with its scope in their
// inputs.
var pipelineStages = stageActivities{
	resolve: contract.ActivityResolve, collect: contract.ActivityCollectBatch,
	clean: contract.ActivityClean, store: contract.ActivityStore,
}

// stageRun drives the stages a pipeline run and a request run share:
// resolve, collect, clean and store, each with its activity options, the
// quota waits of the calls to Spotify, and the progress the progress query
// answers. A request run's stages work in its lake scope (requests/<run>/);
// a pipeline run's scope is empty, the lake itself.
type stageRun struct {
	ctx      workflow.Context
	progress *Progress
	// millis is how long each finished stage took.
	millis       map[string]int64
	date, scope  string
	parallelism  int
	spotifyQueue string
	activities   stageActivities
	calls        *spotifyCalls
}

// newStageRun starts the stages of a run of date in scope and answers the
// progress query with their progress. parallelism and spotifyQueue are the
// run's input; zero values take the defaults.
func newStageRun(ctx workflow.Context, date, scope string, parallelism int, spotifyQueue string) (*stageRun, error) {
	s := &stageRun{
		ctx:      ctx,
		progress: &Progress{Date: date, Stage: StageResolve, Details: map[string]string{}},
		millis:   map[string]int64{}, date: date, scope: scope,
		parallelism: parallelismOrDefault(parallelism), spotifyQueue: spotifyQueueOrDefault(spotifyQueue),
		activities: pipelineStages,
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		return *s.progress, nil
	}); err != nil {
		return nil, fmt.Errorf("register progress query: %w", err)
	}
	return s, nil
}

// begin shows stage name as running; the returned func marks it done.
func (s *stageRun) begin(name string) (done func()) {
	s.progress.Stage = name
	t0 := workflow.Now(s.ctx)
	logger := workflow.GetLogger(s.ctx)
	if s.scope != "" {
		logger = log.With(logger, "scope", s.scope)
	}
	logger.Info("stage started", "stage", name, "date", s.date)
	return func() {
		s.millis[name] = workflow.Now(s.ctx).Sub(t0).Milliseconds()
		s.progress.StagesDone = append(s.progress.StagesDone, name)
	}
}

// failed records that stage name failed with err, for the progress query,
// and returns err.
func (s *stageRun) failed(name string, err error) error {
	s.progress.Errors = append(s.progress.Errors, fmt.Sprintf("%s: %v", name, err))
	return err
}

// resolve runs the resolve activity. It is the run's first call to
// Spotify: quota waits are decided here, once per run.
func (s *stageRun) resolve(in contract.ResolveInput) (contract.ResolveResult, error) {
	s.calls = newSpotifyCalls(s.ctx, s.progress)
	in.Scope = s.scope
	var res contract.ResolveResult
	if err := s.calls.execute(s.ctx, resolveOptions(s.spotifyQueue), s.activities.resolve, in).Get(s.ctx, &res); err != nil {
		return contract.ResolveResult{}, err
	}
	s.progress.Artists, s.progress.BatchesTotal = res.Artists, res.Batches
	return res, nil
}

// clean runs the clean activity.
func (s *stageRun) clean(in contract.CleanInput) (contract.CleanResult, error) {
	in.Scope = s.scope
	var res contract.CleanResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(s.ctx, cleanOptions()),
		s.activities.clean, in).Get(s.ctx, &res); err != nil {
		return contract.CleanResult{}, err
	}
	s.progress.Rejected = res.Report.RejectedTotal()
	return res, nil
}

// store runs the store activity.
func (s *stageRun) store(in contract.StoreInput) (contract.StoreResult, error) {
	in.Scope = s.scope
	var res contract.StoreResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(s.ctx, storeOptions()),
		s.activities.store, in).Get(s.ctx, &res); err != nil {
		return contract.StoreResult{}, err
	}
	s.progress.Details[StageStore] = fmt.Sprintf("%d artists, %d top tracks, %d releases", res.Artists, res.TopTracks, res.Releases)
	return res, nil
}

// parallelismOrDefault is a run's bound on collect batches in flight.
func parallelismOrDefault(n int) int {
	if n <= 0 {
		return contract.DefaultParallelism
	}
	return n
}

// spotifyQueueOrDefault is the task queue of a run's calls to Spotify.
func spotifyQueueOrDefault(q string) string {
	if q == "" {
		return contract.DefaultSpotifyTaskQueue
	}
	return q
}
