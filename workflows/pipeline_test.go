package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
)

// recorder notes the order in which activities run.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, name)
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c == name {
			n++
		}
	}
	return n
}

// newEnv returns a test environment whose activities succeed and record
// themselves, except the named ones, which the test mocks itself.
func newEnv(t *testing.T, batches int, mockedByTest ...string) (*testsuite.TestWorkflowEnvironment, *recorder) {
	env := newTestEnvironment()
	rec := &recorder{}
	var a *activities.Activities
	env.RegisterActivity(a)
	over := map[string]bool{}
	for _, name := range mockedByTest {
		over[name] = true
	}

	// The workflow clock is inside the capture window of 2026-11-01, the
	// date of most tests, so runs of it capture.
	env.SetStartTime(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	mockCaptureActivities(env, rec, batches, over)

	if !over["Resolve"] {
		env.OnActivity(a.Resolve, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in contract.ResolveInput) (contract.ResolveResult, error) {
				rec.add("Resolve")
				return contract.ResolveResult{
					ArtistsKey: contract.ArtistsListKey(in.Date), Artists: batches * 50,
					Batches: batches, BatchSize: 50, Mode: "extended",
				}, nil
			}).Maybe()
	}
	if !over["CollectBatch"] {
		env.OnActivity(a.CollectBatch, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in contract.CollectInput) (contract.CollectResult, error) {
				rec.add("CollectBatch")
				return contract.CollectResult{
					Batch: in.Batch, Records: map[string]int{"artists": 50, "top_tracks": 50},
					Calls: map[string]int{"/v1/artists": 1, "/v1/artists/{id}/top-tracks": 50},
				}, nil
			}).Maybe()
	}
	if !over["Clean"] {
		env.OnActivity(a.Clean, mock.Anything, mock.Anything).Return(
			func(_ context.Context, _ contract.CleanInput) (contract.CleanResult, error) {
				rec.add("Clean")
				return contract.CleanResult{Report: contract.QualityReport{
					RowsOut:  map[string]int{"artists": batches * 50},
					Rejected: map[string]map[string]int{"artists": {"invalid_id": 2}},
				}}, nil
			}).Maybe()
	}
	if !over["Store"] {
		env.OnActivity(a.Store, mock.Anything, mock.Anything).Return(
			func(_ context.Context, _ contract.StoreInput) (contract.StoreResult, error) {
				rec.add("Store")
				return contract.StoreResult{Artists: batches * 50}, nil
			}).Maybe()
	}
	if !over["Aggregate"] {
		env.OnActivity(a.Aggregate, mock.Anything, mock.Anything).Return(
			func(_ context.Context, _ contract.AggregateInput) (contract.AggregateResult, error) {
				rec.add("Aggregate")
				return contract.AggregateResult{Rows: map[string]int64{"artist_daily": int64(batches * 50)}}, nil
			}).Maybe()
	}
	if !over["WriteManifest"] {
		env.OnActivity(a.WriteManifest, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in contract.ManifestInput) (contract.ManifestResult, error) {
				rec.add("WriteManifest")
				return contract.ManifestResult{Key: "manifests/dt=" + in.Date + "/pipeline.json"}, nil
			}).Maybe()
	}
	return env, rec
}

func TestPipelineRunsStagesInOrder(t *testing.T) {
	env, rec := newEnv(t, 3)
	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01"})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"Partition", "BeginCapture", "Resolve", "CollectBatch", "CollectBatch", "CollectBatch",
		"CompleteCapture", "Clean", "Store", "Aggregate", "WriteManifest"}, rec.calls)

	var res PipelineResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "2026-11-01", res.Date)
	require.Equal(t, 150, res.Artists)
	require.Equal(t, 3, res.Collect.Batches)
	require.Equal(t, 150, res.Collect.Records["artists"])
	require.Equal(t, 3, res.Collect.Calls["/v1/artists"])
	require.Equal(t, "manifests/dt=2026-11-01/pipeline.json", res.ManifestKey)
}

func TestPipelineBoundsCollectParallelism(t *testing.T) {
	env, _ := newEnv(t, 10, "CollectBatch")
	var a *activities.Activities
	var mu sync.Mutex
	inFlight, peak := 0, 0
	env.OnActivity(a.CollectBatch, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.CollectInput) (contract.CollectResult, error) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			return contract.CollectResult{Batch: in.Batch, Records: map[string]int{"artists": 50}}, nil
		})
	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01", Parallelism: 3})
	require.NoError(t, env.GetWorkflowError())
	require.LessOrEqual(t, peak, 3, "more collect batches in flight than the parallelism")
	require.GreaterOrEqual(t, peak, 2, "collect batches never overlapped")
}

func TestPipelineRetriesFailingActivity(t *testing.T) {
	env, rec := newEnv(t, 1, "Clean")
	var a *activities.Activities
	attempts := 0
	env.OnActivity(a.Clean, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ contract.CleanInput) (contract.CleanResult, error) {
			attempts++
			if attempts < 3 {
				return contract.CleanResult{}, errors.New("lake unavailable")
			}
			rec.add("Clean")
			return contract.CleanResult{}, nil
		})
	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01"})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 3, attempts)
	require.Equal(t, 1, rec.count("WriteManifest"))
}

func TestPipelineStopsOnNonRetryableError(t *testing.T) {
	env, rec := newEnv(t, 1, "Clean")
	var a *activities.Activities
	attempts := 0
	env.OnActivity(a.Clean, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ contract.CleanInput) (contract.CleanResult, error) {
			attempts++
			return contract.CleanResult{}, temporal.NewNonRetryableApplicationError(
				"42% of artists rejected (invalid_id)", contract.ErrDataQuality, nil)
		})
	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01"})

	err := env.GetWorkflowError()
	require.Error(t, err)
	require.ErrorContains(t, err, "stage clean of 2026-11-01")
	var actErr *temporal.ActivityError
	require.True(t, errors.As(err, &actErr), "want an activity error, got %v", err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(actErr.Unwrap(), &appErr), "want an application error cause, got %v", actErr.Unwrap())
	require.Equal(t, contract.ErrDataQuality, appErr.Type())
	require.Equal(t, 1, attempts, "a non-retryable error was retried")
	require.Zero(t, rec.count("Store"), "the run went on after a failed stage")
}

func TestPipelineRateLimitRetriesAfterRetryAfter(t *testing.T) {
	env, _ := newEnv(t, 1, "CollectBatch")
	var a *activities.Activities
	attempts := 0
	env.OnActivity(a.CollectBatch, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.CollectInput) (contract.CollectResult, error) {
			attempts++
			if attempts == 1 {
				return contract.CollectResult{}, temporal.NewApplicationErrorWithOptions("429", contract.ErrQuotaExceeded,
					temporal.ApplicationErrorOptions{NextRetryDelay: time.Hour})
			}
			return contract.CollectResult{Batch: in.Batch, Records: map[string]int{"artists": 50}}, nil
		})
	start := env.Now()
	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01"})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 2, attempts)
	require.GreaterOrEqual(t, env.Now().Sub(start), time.Hour, "the retry did not wait for Retry-After")
}

func TestPipelineProgressQuery(t *testing.T) {
	env, _ := newEnv(t, 4, "Clean")
	var a *activities.Activities
	// Clean blocks on a timer of the test clock, so the query sees the run
	// between stages.
	env.OnActivity(a.Clean, mock.Anything, mock.Anything).After(time.Minute).Return(contract.CleanResult{}, nil)
	var mid Progress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&mid))
	}, 30*time.Second)
	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01"})
	require.NoError(t, env.GetWorkflowError())

	require.Equal(t, StageClean, mid.Stage)
	require.Equal(t, []string{StageResolve, StageCollect}, mid.StagesDone)
	require.Equal(t, 4, mid.BatchesDone)
	require.Equal(t, 4, mid.BatchesTotal)
	require.Equal(t, 200, mid.Artists)

	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	var end Progress
	require.NoError(t, v.Get(&end))
	require.Equal(t, StageDone, end.Stage)
	require.Equal(t, Stages, end.StagesDone)
}

func TestLogicalDate(t *testing.T) {
	tests := []struct {
		name      string
		in        PipelineInput
		scheduled time.Time
		start     time.Time
		want      string
		wantErr   string
	}{
		{name: "explicit date", in: PipelineInput{Date: "2026-11-01"}, want: "2026-11-01"},
		{name: "scheduled start time, not wall clock", scheduled: time.Date(2026, 10, 3, 3, 0, 0, 0, time.UTC),
			start: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), want: "2026-10-03"},
		{name: "schedule time zone", in: PipelineInput{TimeZone: "America/Los_Angeles"},
			scheduled: time.Date(2026, 10, 3, 3, 0, 0, 0, time.UTC), want: "2026-10-02"},
		{name: "workflow start time without schedule", start: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), want: "2026-11-20"},
		{name: "bad date", in: PipelineInput{Date: "2026-13-01"}, wantErr: `date "2026-13-01"`},
		{name: "bad zone", in: PipelineInput{TimeZone: "Mars/Base"}, wantErr: `time zone "Mars/Base"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, rec := newEnv(t, 1)
			if !tt.start.IsZero() {
				env.SetStartTime(tt.start)
			}
			if !tt.scheduled.IsZero() {
				require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStart.ValueSet(tt.scheduled))))
			}
			if tt.wantErr != "" {
				env.ExecuteWorkflow(PipelineWorkflow, tt.in)
				require.ErrorContains(t, env.GetWorkflowError(), tt.wantErr)
				require.Zero(t, rec.count("Resolve"))
				return
			}
			// The date alone: a scheduled PipelineWorkflow under a
			// timestamped ID hands its date to pipeline-D (scheduled.go).
			env.RegisterWorkflow(logicalDateWorkflow)
			env.ExecuteWorkflow(logicalDateWorkflow, tt.in)
			require.NoError(t, env.GetWorkflowError())
			var date string
			require.NoError(t, env.GetWorkflowResult(&date))
			require.Equal(t, tt.want, date)
		})
	}
}

// Well-formed IDs Spotify does not know skip the name search; the run must
// fail before clean publishes empty tables over the date.
func TestPipelineFailsWhenNoArtistExists(t *testing.T) {
	env, rec := newEnv(t, 1, "CollectBatch")
	var a *activities.Activities
	env.OnActivity(a.CollectBatch, mock.Anything, mock.Anything).Return(
		contract.CollectResult{Missing: []string{"0000000000000000000000"}}, nil)
	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01", Artists: []string{"0000000000000000000000"}})
	err := env.GetWorkflowError()
	require.ErrorContains(t, err, "Spotify knows none of the 50 artists")
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Zero(t, rec.count("Clean"), "clean ran over nothing")
}
