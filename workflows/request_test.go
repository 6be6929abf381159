package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
)

// requestRecorder records what the request activities were asked.
type requestRecorder struct {
	mu       sync.Mutex
	resolved [][]string // artists of each Resolve call
	scopes   []string   // scope of each Resolve call
	// stages are the stage activities called, each with its scope.
	stages []string
	stored int
	marks  []contract.RequestUpdate
	runs   []time.Time // when each request run resolved (test clock)
}

func (r *requestRecorder) lastMark(id string) contract.RequestUpdate {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.marks) - 1; i >= 0; i-- {
		if r.marks[i].ID == id {
			return r.marks[i]
		}
	}
	return contract.RequestUpdate{}
}

// fakeID is the Spotify ID the fake resolver gives a name; names starting
// with "unknown" do not resolve.
func fakeID(name string) string {
	return fmt.Sprintf("%022d", len(name)*7919+int(name[0]))
}

// requestFakes change the fake activities: Store takes storeAfter of test
// time, and Clean fails with cleanErr.
type requestFakes struct {
	storeAfter time.Duration
	cleanErr   error
}

func newRequestEnv(t *testing.T, fakes ...requestFakes) (*testsuite.TestWorkflowEnvironment, *requestRecorder) {
	t.Helper()
	env := newTestEnvironment()
	rec := &requestRecorder{}
	var f requestFakes
	if len(fakes) > 0 {
		f = fakes[0]
	}
	var a *activities.Activities
	env.RegisterActivity(a)
	env.RegisterWorkflow(ArtistRequestWorkflow)
	env.RegisterWorkflow(ArtistRequestRunWorkflow)

	env.OnActivity(a.MarkRequests, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.MarkRequestsInput) error {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.marks = append(rec.marks, in.Updates...)
			return nil
		}).Maybe()
	stage := func(name, scope string) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.stages = append(rec.stages, name+" "+scope)
	}
	env.OnActivity(a.Resolve, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.ResolveInput) (contract.ResolveResult, error) {
			stage("Resolve", in.Scope)
			rec.mu.Lock()
			rec.resolved = append(rec.resolved, in.Artists)
			rec.runs = append(rec.runs, env.Now())
			rec.scopes = append(rec.scopes, in.Scope)
			rec.mu.Unlock()
			var res contract.ResolveResult
			for _, name := range in.Artists {
				if strings.HasPrefix(name, "unknown") {
					res.Unresolved = append(res.Unresolved, name)
					continue
				}
				res.Resolved = append(res.Resolved, contract.ResolvedArtist{Artist: name, ID: fakeID(name)})
			}
			res.Mode = "extended"
			if n := len(res.Resolved); n > 0 {
				res.ArtistsKey, res.Artists, res.BatchSize, res.Batches = "artists.txt", n, 50, (n+49)/50
			}
			return res, nil
		}).Maybe()
	env.OnActivity(a.CollectBatch, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.CollectInput) (contract.CollectResult, error) {
			stage("CollectBatch", in.Scope)
			return contract.CollectResult{Batch: in.Batch, Records: map[string]int{"artists": 1}}, nil
		}).Maybe()
	env.OnActivity(a.Clean, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.CleanInput) (contract.CleanResult, error) {
			stage("Clean", in.Scope)
			return contract.CleanResult{}, f.cleanErr
		}).Maybe()
	env.OnActivity(a.Store, mock.Anything, mock.Anything).After(f.storeAfter).Return(
		func(_ context.Context, in contract.StoreInput) (contract.StoreResult, error) {
			stage("Store", in.Scope)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.stored++
			return contract.StoreResult{Artists: 1}, nil
		}).Maybe()
	return env, rec
}

func signalAt(env *testsuite.TestWorkflowEnvironment, d time.Duration, id, artist string) {
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ArtistRequestSignal, ArtistRequest{ID: id, Artist: artist})
	}, d)
}

// continuedWith returns the input the workflow continued as new with.
func continuedWith(t *testing.T, env *testsuite.TestWorkflowEnvironment) ArtistRequestInput {
	t.Helper()
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "want continue-as-new, got %v", err)
	var next ArtistRequestInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	return next
}

func TestRequestsWithinTheWindowMakeOneRun(t *testing.T) {
	env, rec := newRequestEnv(t)
	// 20 requests over 5 seconds: 10 artists, each asked twice in
	// different spellings.
	for i := range 20 {
		artist := fmt.Sprintf("Artist %02d", i%10)
		if i >= 10 {
			artist = strings.ToUpper(artist)
		}
		signalAt(env, time.Duration(i)*250*time.Millisecond, fmt.Sprintf("req-%02d", i), artist)
	}
	begin := env.Now()
	env.ExecuteWorkflow(ArtistRequestWorkflow, ArtistRequestInput{IdleTimeout: time.Hour})

	next := continuedWith(t, env)
	require.Len(t, rec.runs, 1, "one request run for the window")
	require.Len(t, rec.resolved, 1)
	require.Len(t, rec.resolved[0], 10, "each artist once")
	require.Equal(t, 1, rec.stored)
	require.Equal(t, 1, next.Runs)
	require.Empty(t, next.Pending)
	require.Len(t, next.Recent, 20)
	for _, o := range next.Recent {
		require.Equal(t, contract.RequestStored, o.State, o.ID)
		require.Equal(t, fakeID(o.Artist), o.ArtistID)
		require.Equal(t, contract.RequestStored, rec.lastMark(o.ID).State)
	}
	require.True(t, strings.HasPrefix(rec.scopes[0], "requests/artist-requests-"), rec.scopes[0])
	// The window opened with the first request and ran its 10 seconds.
	require.GreaterOrEqual(t, rec.runs[0].Sub(begin), 10*time.Second)
	require.Less(t, rec.runs[0].Sub(begin), 11*time.Second)
}

func TestRequestWindowTiming(t *testing.T) {
	tests := []struct {
		name       string
		in         ArtistRequestInput
		requests   int
		wantRuns   int
		wantArtist []int // artists per run
		maxDelay   time.Duration
	}{
		{name: "window closes after 10s", in: ArtistRequestInput{}, requests: 3,
			wantRuns: 1, wantArtist: []int{3}, maxDelay: 10 * time.Second},
		{name: "a full batch starts at once", in: ArtistRequestInput{MaxArtists: 5}, requests: 12,
			wantRuns: 3, wantArtist: []int{5, 5, 2}, maxDelay: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, rec := newRequestEnv(t)
			begin := env.Now()
			for i := range tt.requests {
				signalAt(env, time.Millisecond, fmt.Sprintf("r%d", i), fmt.Sprintf("Band %d", i))
			}
			tt.in.IdleTimeout = time.Hour
			env.ExecuteWorkflow(ArtistRequestWorkflow, tt.in)
			next := continuedWith(t, env)
			require.Len(t, rec.runs, tt.wantRuns)
			for i, n := range tt.wantArtist {
				require.Len(t, rec.resolved[i], n, "run %d", i)
			}
			require.Equal(t, tt.wantRuns, next.Runs)
			require.Len(t, next.Recent, tt.requests)
			if tt.in.MaxArtists > 0 {
				require.Less(t, rec.runs[0].Sub(begin), time.Second, "a full batch waited for the window")
			} else {
				require.GreaterOrEqual(t, rec.runs[0].Sub(begin), tt.maxDelay, "the run started before the window closed")
			}
		})
	}
}

func TestRequestsDuringARunWaitForTheNext(t *testing.T) {
	// The store of each run takes a minute of test time.
	env, rec := newRequestEnv(t, requestFakes{storeAfter: time.Minute})
	signalAt(env, 0, "first", "Early Band")
	signalAt(env, 20*time.Second, "second", "Late Band")
	signalAt(env, 21*time.Second, "first", "Early Band") // a retried signal
	signalAt(env, 5*time.Minute, "first", "Early Band")  // retried after it settled
	var mid RequestProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&mid))
	}, 30*time.Second)
	env.ExecuteWorkflow(ArtistRequestWorkflow, ArtistRequestInput{IdleTimeout: time.Hour})

	next := continuedWith(t, env)
	require.Equal(t, []ArtistRequest{{ID: "first", Artist: "Early Band"}}, mid.Running)
	require.Len(t, mid.Pending, 1)
	require.Equal(t, "second", mid.Pending[0].ID)
	require.NotEmpty(t, mid.CurrentRun)

	require.Len(t, rec.runs, 2)
	require.Equal(t, [][]string{{"Early Band"}, {"Late Band"}}, rec.resolved)
	require.Len(t, next.Recent, 2, "the retried signal was not a third request")
	require.Equal(t, 2, next.Runs)
}

func TestRequestOutcomes(t *testing.T) {
	env, rec := newRequestEnv(t)
	signalAt(env, 0, "known", "Known Band")
	signalAt(env, 0, "unknown", "unknown band")
	signalAt(env, 0, "empty", "   ")
	env.ExecuteWorkflow(ArtistRequestWorkflow, ArtistRequestInput{IdleTimeout: time.Hour})

	next := continuedWith(t, env)
	got := RequestProgress{Recent: next.Recent}
	o, ok := got.Outcome("known")
	require.True(t, ok)
	require.Equal(t, contract.RequestStored, o.State)
	o, ok = got.Outcome("unknown")
	require.True(t, ok)
	require.Equal(t, contract.RequestNotFound, o.State)
	require.Contains(t, o.Detail, `no single artist "unknown band"`)
	require.Equal(t, contract.RequestNotFound, rec.lastMark("unknown").State)
	o, ok = got.Outcome("empty")
	require.True(t, ok)
	require.Equal(t, contract.RequestFailed, o.State)
	require.Equal(t, [][]string{{"Known Band", "unknown band"}}, rec.resolved)
}

func TestRequestRunFailureFailsItsRequests(t *testing.T) {
	env, rec := newRequestEnv(t, requestFakes{cleanErr: errors.New("lake unavailable")})
	signalAt(env, 0, "r1", "Some Band")
	env.ExecuteWorkflow(ArtistRequestWorkflow, ArtistRequestInput{IdleTimeout: time.Hour})

	next := continuedWith(t, env)
	require.Len(t, next.Recent, 1)
	require.Equal(t, contract.RequestFailed, next.Recent[0].State)
	require.Contains(t, next.Recent[0].Detail, "lake unavailable")
	mark := rec.lastMark("r1")
	require.Equal(t, contract.RequestFailed, mark.State)
	require.Contains(t, mark.Detail, "clean failed")
	require.Zero(t, rec.stored)
}

func TestRequestWorkflowContinuesAsNewWithPendingRequests(t *testing.T) {
	// The second request arrives while the first run is in flight; the
	// execution is then at its run limit and must hand it on.
	env, rec := newRequestEnv(t, requestFakes{storeAfter: time.Minute})
	signalAt(env, 0, "a", "Band A")
	signalAt(env, 15*time.Second, "b", "Band B")
	env.ExecuteWorkflow(ArtistRequestWorkflow, ArtistRequestInput{RunsPerExecution: 1, Window: time.Second})

	next := continuedWith(t, env)
	require.Len(t, rec.runs, 1)
	require.Equal(t, 1, next.Runs)
	require.Len(t, next.Pending, 1)
	require.Equal(t, "b", next.Pending[0].ID)
	require.Equal(t, time.Second, next.Window, "settings carried over")
	require.Len(t, next.Recent, 1)
}

// A request run is the pipeline's stages with a scope: Resolve,
// CollectBatch, Clean and Store, each in the run's lake scope, none of the
// request-only activities of runs recorded before requestStagesChangeID,
// and the pipeline's progress.
func TestRequestRunRunsThePipelineStagesInItsScope(t *testing.T) {
	env, rec := newRequestEnv(t)
	var a *activities.Activities
	env.OnActivity(a.Notify, mock.Anything, mock.Anything).Return(contract.NotifyResult{Delivery: "none"}, nil)
	var started []string
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		started = append(started, info.ActivityType.Name)
	})
	env.ExecuteWorkflow(ArtistRequestRunWorkflow, RequestRunInput{Date: "2026-11-01", Requests: []ArtistRequest{
		{ID: "r1", Artist: "Band One"}, {ID: "r2", Artist: " band one"}, {ID: "r3", Artist: "unknown band"},
	}})
	require.NoError(t, env.GetWorkflowError())
	var res RequestRunResult
	require.NoError(t, env.GetWorkflowResult(&res))

	require.True(t, strings.HasPrefix(res.Scope, "requests/"), res.Scope)
	require.Equal(t, []string{"Resolve " + res.Scope, "CollectBatch " + res.Scope, "Clean " + res.Scope, "Store " + res.Scope}, rec.stages)
	require.Equal(t, [][]string{{"Band One", "unknown band"}}, rec.resolved, "one spelling per artist")
	for _, name := range started {
		require.NotContains(t, name, "Requested", "the run called a request-only activity")
	}
	require.Len(t, res.Outcomes, 3)
	require.Equal(t, contract.RequestStored, res.Outcomes[1].State)
	require.Equal(t, contract.RequestNotFound, res.Outcomes[2].State)

	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	var p Progress
	require.NoError(t, v.Get(&p))
	require.Equal(t, StageDone, p.Stage)
	require.Equal(t, []string{StageResolve, StageCollect, StageClean, StageStore}, p.StagesDone)
	require.Equal(t, 1, p.Artists)
	require.Equal(t, 1, p.BatchesDone)
	require.Equal(t, 1, p.BatchesTotal)
	require.Equal(t, map[string]int{"artists": 1}, p.Records)
	require.Contains(t, p.Details[StageStore], "1 artists")
}
