package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
)

// childRuns records the child pipeline runs of a backfill test: which
// dates ran, how many were in flight at once, and which saw a cancel.
type childRuns struct {
	mu       sync.Mutex
	dates    []string
	inFlight int
	peak     int
	canceled []string
	// processed are the dates whose run completed: they have a manifest.
	processed []string
}

func (c *childRuns) processedDates() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string{}, c.processed...)
}

func (c *childRuns) start(date string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dates = append(c.dates, date)
	c.inFlight++
	c.peak = max(c.peak, c.inFlight)
}

func (c *childRuns) end(date string, canceled bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	if canceled {
		c.canceled = append(c.canceled, date)
	}
}

// newBackfillEnv mocks the child PipelineWorkflow: each run takes an hour
// of test time, and the dates in fail fail.
func newBackfillEnv(t *testing.T, fail ...string) (*testsuite.TestWorkflowEnvironment, *childRuns) {
	t.Helper()
	env := newTestEnvironment()
	runs := &childRuns{}
	env.RegisterWorkflow(BackfillWorkflow)
	// Every date of the range was captured; the processed ones are those
	// whose child run completed, as their manifests would say.
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.Partitions, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.PartitionsInput) (contract.PartitionsResult, error) {
			dates, err := BackfillDates(in.From, in.To)
			return contract.PartitionsResult{Captured: dates, Processed: runs.processedDates()}, err
		}).Maybe()
	// A stand-in registered under PipelineWorkflow's name, so cancellation
	// reaches it as it would a real child.
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in PipelineInput) (PipelineResult, error) {
		require.Equal(t, PipelineWorkflowID(in.Date), workflow.GetInfo(ctx).WorkflowExecution.ID)
		require.Equal(t, "backfill", in.Trigger)
		require.True(t, in.ReprocessOnly, "a backfill reprocesses")
		runs.start(in.Date)
		err := workflow.Sleep(ctx, time.Hour)
		runs.end(in.Date, err != nil)
		if err != nil {
			return PipelineResult{}, err
		}
		for _, f := range fail {
			if f == in.Date {
				return PipelineResult{}, temporal.NewNonRetryableApplicationError("spotify said no", "BadCredentials", nil)
			}
		}
		runs.mu.Lock()
		runs.processed = append(runs.processed, in.Date)
		runs.mu.Unlock()
		return PipelineResult{Date: in.Date}, nil
	}, workflow.RegisterOptions{Name: "PipelineWorkflow"})
	return env, runs
}

func dateRange(from string, n int) []string {
	d, _ := time.Parse(DateLayout, from)
	out := make([]string, n)
	for i := range out {
		out[i] = d.AddDate(0, 0, i).Format(DateLayout)
	}
	return out
}

func TestBackfillRunsEveryDateWithBoundedParallelism(t *testing.T) {
	env, runs := newBackfillEnv(t)
	var mid BackfillProgress
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&mid))
	}, 90*time.Minute)
	env.ExecuteWorkflow(BackfillWorkflow, BackfillInput{From: "2026-10-01", To: "2026-10-10", Parallel: 3})
	require.NoError(t, env.GetWorkflowError())

	var res BackfillResult
	require.NoError(t, env.GetWorkflowResult(&res))
	want := dateRange("2026-10-01", 10)
	require.ElementsMatch(t, want, res.Completed)
	require.ElementsMatch(t, want, runs.dates, "each date ran once")
	require.Equal(t, 3, runs.peak, "children in flight")
	require.Equal(t, 3, res.PeakRunning, "the workflow's own accounting")
	require.Empty(t, res.Skipped)
	require.Empty(t, res.Failed)

	// After 90 minutes: dates 1-3 done, 4-6 running.
	require.Equal(t, 10, mid.Total)
	require.Equal(t, []string{"2026-10-04", "2026-10-05", "2026-10-06"}, mid.Running)
	require.Len(t, mid.Completed, 3)
	require.Equal(t, 3, mid.Settled())
	require.False(t, mid.Done)
}

func TestBackfillFailedDateDoesNotStopOthers(t *testing.T) {
	env, runs := newBackfillEnv(t, "2026-10-02")
	env.ExecuteWorkflow(BackfillWorkflow, BackfillInput{From: "2026-10-01", To: "2026-10-04", Parallel: 2})

	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	require.Equal(t, ErrBackfillFailed, appErr.Type())
	require.Contains(t, appErr.Error(), "1 of 4 dates failed (2026-10-02)")
	var res BackfillResult
	require.NoError(t, appErr.Details(&res))
	require.ElementsMatch(t, []string{"2026-10-01", "2026-10-03", "2026-10-04"}, res.Completed)
	require.Len(t, res.Failed, 1)
	require.Equal(t, "2026-10-02", res.Failed[0].Date)
	require.Contains(t, res.Failed[0].Error, "spotify said no")
	require.Len(t, runs.dates, 4)
}

// backfillTwice runs the same backfill twice in one test environment, as
// a second `starter backfill` of the same range would: the pipeline runs of
// the first are known to the second.
func backfillTwice(ctx workflow.Context, in BackfillInput) ([2]BackfillResult, error) {
	var out [2]BackfillResult
	for i := range out {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: fmt.Sprintf("backfill-%d", i)})
		err := workflow.ExecuteChildWorkflow(cctx, BackfillWorkflow, in).Get(ctx, &out[i])
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == ErrBackfillFailed {
			if derr := appErr.Details(&out[i]); derr != nil {
				return out, derr
			}
			continue
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func TestBackfillSecondRunSkipsCompletedDates(t *testing.T) {
	tests := []struct {
		name          string
		rerun         bool
		wantRuns      int
		wantSecond    []string
		wantSkipped   []string
		wantSecondErr bool
	}{
		{name: "completed dates are skipped, the failed one runs again", wantRuns: 5,
			wantSecond: []string{}, wantSkipped: []string{"2026-10-01", "2026-10-03", "2026-10-04"}, wantSecondErr: true},
		{name: "rerun runs every date again", rerun: true, wantRuns: 8,
			wantSecond: []string{"2026-10-01", "2026-10-03", "2026-10-04"}, wantSkipped: []string{}, wantSecondErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, runs := newBackfillEnv(t, "2026-10-02")
			env.RegisterWorkflow(backfillTwice)
			env.ExecuteWorkflow(backfillTwice, BackfillInput{From: "2026-10-01", To: "2026-10-04", Parallel: 4, Rerun: tt.rerun})
			require.NoError(t, env.GetWorkflowError())
			var res [2]BackfillResult
			require.NoError(t, env.GetWorkflowResult(&res))

			require.Len(t, runs.dates, tt.wantRuns, "child runs over both backfills: %v", runs.dates)
			require.ElementsMatch(t, tt.wantSecond, res[1].Completed)
			require.ElementsMatch(t, tt.wantSkipped, res[1].Skipped)
			require.Len(t, res[1].Failed, 1, "the failed date ran again and failed again")
			require.Equal(t, "2026-10-02", res[1].Failed[0].Date)
		})
	}
}

func TestBackfillContinuesAsNewAndCarriesState(t *testing.T) {
	in := BackfillInput{From: "2026-10-01", To: "2026-10-10", Parallel: 3, ChildrenPerRun: 4}
	var all []string
	var res BackfillResult
	for exec := 1; ; exec++ {
		require.LessOrEqual(t, exec, 5, "the backfill never finished")
		env, runs := newBackfillEnv(t)
		env.ExecuteWorkflow(BackfillWorkflow, in)
		require.Zero(t, runs.inFlight, "children left running across continue-as-new")
		require.LessOrEqual(t, runs.peak, 3)
		all = append(all, runs.dates...)
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			require.LessOrEqual(t, len(runs.dates), 4, "children started by one execution")
			var next BackfillInput
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
			require.NotNil(t, next.State)
			require.Equal(t, len(all), next.State.Next, "every started date settled before continuing")
			require.ElementsMatch(t, dateRange("2026-10-01", len(all)), next.State.Completed, "oldest dates first")
			in = next
			continue
		}
		require.NoError(t, err)
		require.NoError(t, env.GetWorkflowResult(&res))
		break
	}
	require.ElementsMatch(t, dateRange("2026-10-01", 10), all, "each date ran once")
	require.Len(t, res.Completed, 10)
	require.Equal(t, 3, res.Executions)
}

func TestBackfillCancelCancelsChildren(t *testing.T) {
	env, runs := newBackfillEnv(t)
	env.RegisterDelayedCallback(env.CancelWorkflow, 90*time.Minute)
	env.ExecuteWorkflow(BackfillWorkflow, BackfillInput{From: "2026-10-01", To: "2026-10-10", Parallel: 3})

	err := env.GetWorkflowError()
	var canceled *temporal.CanceledError
	require.True(t, errors.As(err, &canceled), "want a canceled backfill, got %v", err)
	require.ElementsMatch(t, dateRange("2026-10-01", 6), runs.dates, "no child started after the cancel")
	require.ElementsMatch(t, []string{"2026-10-04", "2026-10-05", "2026-10-06"}, runs.canceled,
		"the children in flight were cancelled and awaited")
	require.Zero(t, runs.inFlight)
}

func TestBackfillDates(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		want     []string
		wantErr  string
	}{
		{name: "one day", from: "2026-10-01", to: "2026-10-01", want: []string{"2026-10-01"}},
		{name: "across a month and a leap day", from: "2028-02-28", to: "2028-03-01",
			want: []string{"2028-02-28", "2028-02-29", "2028-03-01"}},
		{name: "bad from", from: "2026-10-32", to: "2026-11-01", wantErr: `backfill from "2026-10-32" is not a date`},
		{name: "bad to", from: "2026-10-01", to: "tomorrow", wantErr: `backfill to "tomorrow" is not a date`},
		{name: "from after to", from: "2026-10-02", to: "2026-10-01", wantErr: "from 2026-10-02 is after to 2026-10-01"},
		{name: "too long", from: "2000-01-01", to: "2026-01-01", wantErr: "spans 9498 days, more than the 3660"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BackfillDates(tt.from, tt.to)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr))
				require.True(t, appErr.NonRetryable())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestBackfillRefusesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		in      BackfillInput
		wantErr string
	}{
		{name: "reversed range", in: BackfillInput{From: "2026-10-05", To: "2026-10-01"}, wantErr: "is after to"},
		{name: "too parallel", in: BackfillInput{From: "2026-10-01", To: "2026-10-05", Parallel: 65}, wantErr: "parallel 65"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, runs := newBackfillEnv(t)
			env.ExecuteWorkflow(BackfillWorkflow, tt.in)
			require.ErrorContains(t, env.GetWorkflowError(), tt.wantErr)
			require.Empty(t, runs.dates)
		})
	}
}

func TestBackfillReprocessesOnlyCapturedDates(t *testing.T) {
	tests := []struct {
		name            string
		rerun           bool
		wantRuns        []string
		wantSkipped     []string
		wantNotCaptured []string
	}{
		{name: "dates never captured are gaps; processed ones are skipped",
			wantRuns: []string{"2026-10-03"}, wantSkipped: []string{"2026-10-01"},
			wantNotCaptured: []string{"2026-10-02", "2026-10-04"}},
		{name: "rerun rebuilds processed dates too",
			rerun: true, wantRuns: []string{"2026-10-01", "2026-10-03"}, wantSkipped: []string{},
			wantNotCaptured: []string{"2026-10-02", "2026-10-04"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnvironment()
			env.RegisterWorkflow(BackfillWorkflow)
			var a *activities.Activities
			env.RegisterActivity(a)
			env.OnActivity(a.Partitions, mock.Anything, contract.PartitionsInput{From: "2026-10-01", To: "2026-10-04"}).Return(
				contract.PartitionsResult{Captured: []string{"2026-10-01", "2026-10-03"}, Processed: []string{"2026-10-01"}}, nil)
			var ran []string
			env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in PipelineInput) (PipelineResult, error) {
				require.True(t, in.ReprocessOnly)
				ran = append(ran, in.Date)
				return PipelineResult{Date: in.Date, Kind: KindReprocess}, nil
			}, workflow.RegisterOptions{Name: "PipelineWorkflow"})

			env.ExecuteWorkflow(BackfillWorkflow, BackfillInput{From: "2026-10-01", To: "2026-10-04", Parallel: 2, Rerun: tt.rerun})
			require.NoError(t, env.GetWorkflowError(), "not captured dates do not fail a backfill")
			var res BackfillResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.ElementsMatch(t, tt.wantRuns, ran)
			require.ElementsMatch(t, tt.wantRuns, res.Completed)
			require.Equal(t, tt.wantSkipped, res.Skipped)
			require.Equal(t, tt.wantNotCaptured, res.NotCaptured)
			require.Equal(t, 4, len(res.Completed)+len(res.Skipped)+len(res.NotCaptured))
		})
	}
}
