package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
)

// Defaults and limits of a backfill.
const (
	// DefaultBackfillParallel is the number of dates run at once when the
	// input does not say.
	DefaultBackfillParallel = 2
	// MaxBackfillParallel bounds the dates run at once.
	MaxBackfillParallel = 64
	// MaxBackfillDays is the longest range a backfill accepts (ten years);
	// the starter refuses much shorter ranges by default.
	MaxBackfillDays = 3660
	// DefaultChildrenPerRun is how many child runs one execution of the
	// backfill starts before it continues as new, which keeps its history
	// at about a thousand events.
	DefaultChildrenPerRun = 100
)

// ErrBackfillFailed is the error type of a backfill whose every date was
// tried but some failed. Starting the same range again re-runs only those.
const ErrBackfillFailed = "BackfillFailed"

// BackfillInput runs PipelineWorkflow for every date from From to To.
type BackfillInput struct {
	// From and To are the first and last logical dates, YYYY-MM-DD,
	// inclusive.
	From string `json:"from"`
	To   string `json:"to"`
	// Parallel bounds the child runs in flight; default 2.
	Parallel int `json:"parallel,omitempty"`
	// Artists are names or Spotify IDs; empty collects the tracked set.
	Artists []string `json:"artists,omitempty"`
	// Rerun runs dates whose pipeline-D already completed again (their
	// data is replaced); by default they are skipped.
	Rerun bool `json:"rerun,omitempty"`
	// Parallelism bounds the collect batches in flight of each child run.
	Parallelism int `json:"parallelism,omitempty"`
	// SpotifyTaskQueue is passed to every child run.
	SpotifyTaskQueue string `json:"spotify_task_queue,omitempty"`
	// ChildrenPerRun is how many child runs one execution starts before it
	// continues as new; default DefaultChildrenPerRun.
	ChildrenPerRun int `json:"children_per_run,omitempty"`
	// State is carried from one execution to the next by continue-as-new;
	// nil at the first start.
	State *BackfillState `json:"state,omitempty"`
}

// BackfillState is what a backfill has done so far.
type BackfillState struct {
	// Next is the index of the first date not started yet. Every date
	// before it has settled: an execution continues as new only once its
	// children are done.
	Next int `json:"next"`
	// Completed are the dates whose child run completed.
	Completed []string `json:"completed,omitempty"`
	// Skipped are the dates whose pipeline-D had already completed, or was
	// running outside this backfill, so no child was started.
	Skipped []string `json:"skipped,omitempty"`
	// NotCaptured are the dates without a complete capture: a backfill
	// reprocesses raw and never calls Spotify, so they stay gaps.
	NotCaptured []string `json:"not_captured,omitempty"`
	// Failed are the dates whose child run failed, with the error.
	Failed []DateFailure `json:"failed,omitempty"`
	// PeakRunning is the largest number of child runs in flight at once.
	PeakRunning int `json:"peak_running"`
	// StartedAt is the workflow time of the first execution.
	StartedAt time.Time `json:"started_at"`
	// Executions counts the executions of this backfill (1 + continues).
	Executions int `json:"executions"`
}

// DateFailure is a date whose run failed.
type DateFailure struct {
	Date  string `json:"date"`
	Error string `json:"error"`
}

// BackfillProgress is what the progress query of a backfill answers.
type BackfillProgress struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Total    int    `json:"total"`
	Parallel int    `json:"parallel"`
	// Running are the dates whose child run is in flight, in date order.
	Running     []string      `json:"running"`
	Completed   []string      `json:"completed"`
	Skipped     []string      `json:"skipped"`
	NotCaptured []string      `json:"not_captured"`
	Failed      []DateFailure `json:"failed"`
	PeakRunning int           `json:"peak_running"`
	StartedAt   time.Time     `json:"started_at"`
	// Now is the workflow time of the answer, for ETAs without the
	// caller's clock skew.
	Now        time.Time `json:"now"`
	Executions int       `json:"executions"`
	// Done is true once every date has settled.
	Done bool `json:"done"`
}

// Settled is the number of dates completed, skipped, not captured or
// failed.
func (p BackfillProgress) Settled() int {
	return len(p.Completed) + len(p.Skipped) + len(p.NotCaptured) + len(p.Failed)
}

// BackfillResult summarizes a backfill.
type BackfillResult struct {
	From        string        `json:"from"`
	To          string        `json:"to"`
	Total       int           `json:"total"`
	Completed   []string      `json:"completed"`
	Skipped     []string      `json:"skipped"`
	NotCaptured []string      `json:"not_captured"`
	Failed      []DateFailure `json:"failed"`
	PeakRunning int           `json:"peak_running"`
	Executions  int           `json:"executions"`
}

// BackfillWorkflowID is the deterministic ID of the backfill of a range:
// backfill-FROM-TO.
func BackfillWorkflowID(from, to string) string { return "backfill-" + from + "-" + to }

// BackfillDates returns the dates from from to to, inclusive, or a
// non-retryable BadInput error naming the bad value.
func BackfillDates(from, to string) ([]string, error) {
	f, err := time.Parse(DateLayout, from)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("backfill from %q is not a date of the form YYYY-MM-DD", from), contract.ErrBadInput, err)
	}
	t, err := time.Parse(DateLayout, to)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("backfill to %q is not a date of the form YYYY-MM-DD", to), contract.ErrBadInput, err)
	}
	if f.After(t) {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("backfill from %s is after to %s: give the earlier date first", from, to), contract.ErrBadInput, nil)
	}
	days := int(t.Sub(f)/(24*time.Hour)) + 1
	if days > MaxBackfillDays {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("backfill %s..%s spans %d days, more than the %d a backfill may", from, to, days, MaxBackfillDays),
			contract.ErrBadInput, nil)
	}
	dates := make([]string, 0, days)
	for d := f; !d.After(t); d = d.AddDate(0, 0, 1) {
		dates = append(dates, d.Format(DateLayout))
	}
	return dates, nil
}

// BackfillWorkflow reprocesses the dates of the range: a child
// PipelineWorkflow (ID pipeline-D, ReprocessOnly) rebuilds each date that
// has a complete capture from its raw objects, oldest first, with at most
// Parallel in flight, and never calls Spotify. A date without a capture is
// listed as not captured: Spotify keeps no history, so it stays a gap. A
// date already processed (it has a run manifest) is skipped unless Rerun.
// A failed date does not stop the others; the backfill fails at the end,
// naming the failed dates, and a new start of the same range runs only the
// dates not completed. A date whose pipeline-D is running elsewhere is
// skipped: that run is the date's one writer. Cancelling the backfill cancels its
// children and waits for them. Before its history grows large it stops
// starting children, lets those in flight finish and continues as new with
// its state. The progress query answers BackfillProgress.
func BackfillWorkflow(ctx workflow.Context, in BackfillInput) (BackfillResult, error) {
	dates, err := BackfillDates(in.From, in.To)
	if err != nil {
		return BackfillResult{}, err
	}
	if in.Parallel <= 0 {
		in.Parallel = DefaultBackfillParallel
	}
	if in.Parallel > MaxBackfillParallel {
		return BackfillResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("backfill parallel %d: want 1 to %d dates at once", in.Parallel, MaxBackfillParallel), contract.ErrBadInput, nil)
	}
	if in.ChildrenPerRun <= 0 {
		in.ChildrenPerRun = DefaultChildrenPerRun
	}
	st := BackfillState{StartedAt: workflow.Now(ctx)}
	if in.State != nil {
		st = *in.State
	}
	st.Executions++
	var running []string

	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (BackfillProgress, error) {
		return BackfillProgress{
			From: in.From, To: in.To, Total: len(dates), Parallel: in.Parallel,
			Running: append([]string{}, running...), Completed: orEmpty(st.Completed),
			Skipped: orEmpty(st.Skipped), NotCaptured: orEmpty(st.NotCaptured), Failed: append([]DateFailure{}, st.Failed...),
			PeakRunning: st.PeakRunning, StartedAt: st.StartedAt, Now: workflow.Now(ctx),
			Executions: st.Executions, Done: st.Next >= len(dates) && len(running) == 0,
		}, nil
	}); err != nil {
		return BackfillResult{}, fmt.Errorf("register progress query: %w", err)
	}

	logger := workflow.GetLogger(ctx)
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	if in.Rerun {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	// A backfill reprocesses: it rebuilds the dates the lake holds a
	// complete capture of and lists the others. Backfills recorded before
	// this collected every date, and replay so.
	reprocess := workflow.GetVersion(ctx, backfillReprocessChangeID, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	var lakeDates lakePartitions
	if reprocess {
		var parts contract.PartitionsResult
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, partitionOptions()), contract.ActivityPartitions,
			contract.PartitionsInput{From: in.From, To: in.To}).Get(ctx, &parts); err != nil {
			return BackfillResult{}, fmt.Errorf("list the partitions of %s..%s: %w", in.From, in.To, err)
		}
		lakeDates = newLakePartitions(parts)
		// Which dates are done is the lake's word (a manifest), not the
		// server's: executions outlive neither retention nor a new server.
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	settle := func(date string, err error) {
		running = remove(running, date)
		var canceled *temporal.CanceledError
		switch {
		case err == nil:
			st.Completed = append(st.Completed, date)
		case temporal.IsWorkflowExecutionAlreadyStartedError(err):
			logger.Info("date skipped: pipeline already completed or running", "date", date)
			st.Skipped = append(st.Skipped, date)
		case errors.As(err, &canceled) && ctx.Err() != nil:
			// The backfill is being cancelled; the date stays undone.
		default:
			logger.Warn("date failed", "date", date, "error", err)
			st.Failed = append(st.Failed, DateFailure{Date: date, Error: err.Error()})
		}
	}

	selector := workflow.NewSelector(ctx)
	startedHere := 0
	stopStarting := false
	for {
		for ctx.Err() == nil && !stopStarting && st.Next < len(dates) && len(running) < in.Parallel {
			if startedHere >= in.ChildrenPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
				stopStarting = true
				break
			}
			date := dates[st.Next]
			st.Next++
			if reprocess && !lakeDates.captured[date] {
				st.NotCaptured = append(st.NotCaptured, date)
				continue
			}
			if reprocess && !in.Rerun && lakeDates.processed[date] {
				st.Skipped = append(st.Skipped, date)
				continue
			}
			startedHere++
			running = append(running, date)
			st.PeakRunning = max(st.PeakRunning, len(running))
			day, _ := time.Parse(DateLayout, date)
			childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:            PipelineWorkflowID(date),
				WorkflowIDReusePolicy: reuse,
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
				WaitForCancellation:   true,
				TypedSearchAttributes: temporal.NewSearchAttributes(PipelineDateKey.ValueSet(day)),
			})
			f := workflow.ExecuteChildWorkflow(childCtx, PipelineWorkflow, PipelineInput{
				Date: date, Artists: in.Artists, Trigger: "backfill",
				Parallelism: in.Parallelism, SpotifyTaskQueue: in.SpotifyTaskQueue,
				ReprocessOnly: reprocess,
			})
			selector.AddFuture(f, func(f workflow.Future) { settle(date, f.Get(ctx, nil)) })
		}
		if len(running) == 0 {
			break
		}
		selector.Select(ctx)
	}

	res := BackfillResult{
		From: in.From, To: in.To, Total: len(dates), Completed: orEmpty(st.Completed),
		Skipped: orEmpty(st.Skipped), NotCaptured: orEmpty(st.NotCaptured), Failed: st.Failed,
		PeakRunning: st.PeakRunning, Executions: st.Executions,
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if st.Next < len(dates) {
		in.State = &st
		logger.Info("continuing as new", "next", dates[st.Next], "settled", st.Next)
		return BackfillResult{}, workflow.NewContinueAsNewError(ctx, BackfillWorkflow, in)
	}
	if len(st.Failed) > 0 {
		failed := make([]string, len(st.Failed))
		for i, f := range st.Failed {
			failed[i] = f.Date
		}
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("backfill %s..%s: %d of %d dates failed (%s); start the same range again to re-run only those",
				in.From, in.To, len(st.Failed), len(dates), joinFirst(failed, 10)), ErrBackfillFailed, nil, res)
	}
	return res, nil
}

func remove(list []string, s string) []string {
	for i, x := range list {
		if x == s {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return append([]string{}, s...)
}

// joinFirst joins the first n items and says how many more there are.
func joinFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// backfillReprocessChangeID versions the backfill's look at the lake:
// backfills recorded before it collected every date.
const backfillReprocessChangeID = "backfill-reprocess"

// lakePartitions are the dates of a backfill's range with a complete
// capture and with a run manifest.
type lakePartitions struct {
	captured, processed map[string]bool
}

func newLakePartitions(r contract.PartitionsResult) lakePartitions {
	p := lakePartitions{captured: map[string]bool{}, processed: map[string]bool{}}
	for _, d := range r.Captured {
		p.captured[d] = true
	}
	for _, d := range r.Processed {
		p.processed[d] = true
	}
	return p
}
