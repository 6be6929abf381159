package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
)

// quotaWaitsChangeID versions the durable quota waits: histories recorded
// before them replay with the Spotify activities' plain retries.
const quotaWaitsChangeID = "quota-waits"

// Quota waits.
const (
	// DefaultQuotaWait is the first wait after a quota 429 without
	// Retry-After when the worker did not say its spotify.quota_wait.
	DefaultQuotaWait = time.Hour
	// MaxQuotaWait caps the doubling of waits without Retry-After.
	MaxQuotaWait = 6 * time.Hour
)

// spotifyCalls runs the activities that call Spotify and waits out quota
// 429s durably. Spotify's quota (per developer account in development
// mode) can be gone for hours, so a QuotaExceeded error is no failure to
// retry against the activity's attempts: the activity's retry policy lists
// it as non-retryable, and the workflow sleeps on a timer (which survives
// worker and server restarts) until the quota should be back, then runs the
// activity again with a fresh retry budget. The wait is Spotify's
// Retry-After, or else the worker's spotify.quota_wait, doubled for every
// further quota 429 without Retry-After up to MaxQuotaWait; a successful
// call resets the doubling. One spotifyCalls serves a whole workflow, so
// the batches in flight share one wait rather than doubling it each.
type spotifyCalls struct {
	on       bool
	progress *Progress
	// until is the end of the wait in force (zero: none yet).
	until time.Time
	// streak counts the waits without Retry-After since the last success.
	streak int
}

// newSpotifyCalls decides once per workflow whether quota waits apply;
// progress shows the wait while it lasts.
func newSpotifyCalls(ctx workflow.Context, progress *Progress) *spotifyCalls {
	v := workflow.GetVersion(ctx, quotaWaitsChangeID, workflow.DefaultVersion, 1)
	return &spotifyCalls{on: v != workflow.DefaultVersion, progress: progress}
}

// execute runs activity with opts and returns its future, settled once it
// succeeds or fails for another reason than the quota.
func (q *spotifyCalls) execute(ctx workflow.Context, opts workflow.ActivityOptions, activity any, args ...any) workflow.Future {
	if !q.on {
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activity, args...)
	}
	policy := *opts.RetryPolicy
	policy.NonRetryableErrorTypes = append(append([]string(nil), policy.NonRetryableErrorTypes...), contract.ErrQuotaExceeded)
	opts.RetryPolicy = &policy
	actx := workflow.WithActivityOptions(ctx, opts)

	result, settle := workflow.NewFuture(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			f := workflow.ExecuteActivity(actx, activity, args...)
			err := f.Get(ctx, nil)
			wait, quota := quotaWaitOf(err)
			if !quota {
				if err == nil {
					q.streak = 0
				}
				settle.Chain(f)
				return
			}
			until := q.begin(workflow.Now(ctx), wait)
			q.progress.QuotaWaitUntil = until.UTC()
			workflow.GetLogger(ctx).Warn("waiting for the Spotify quota", "until", until, "error", err)
			if err := workflow.Sleep(ctx, until.Sub(workflow.Now(ctx))); err != nil {
				settle.Set(nil, err)
				return
			}
			if !workflow.Now(ctx).Before(q.until) {
				q.progress.QuotaWaitUntil = time.Time{}
			}
		}
	})
	return result
}

// begin returns the end of the wait after a quota 429 at now: Spotify's
// Retry-After when given, the wait in force when one is (the other batches
// in flight hit the same quota), else the next doubling of the quota wait.
func (q *spotifyCalls) begin(now time.Time, w contract.QuotaWait) time.Time {
	if w.RetryAfter > 0 {
		if until := now.Add(w.RetryAfter); until.After(q.until) {
			q.until = until
		}
		return q.until
	}
	if now.Before(q.until) {
		return q.until
	}
	d := w.QuotaWait
	if d <= 0 {
		d = DefaultQuotaWait
	}
	for i := 0; i < q.streak && d < MaxQuotaWait; i++ {
		d *= 2
	}
	q.streak++
	q.until = now.Add(min(d, MaxQuotaWait))
	return q.until
}

// quotaWaitOf reports whether err is a QuotaExceeded activity error, and
// the wait its details carry.
func quotaWaitOf(err error) (contract.QuotaWait, bool) {
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || appErr.Type() != contract.ErrQuotaExceeded {
		return contract.QuotaWait{}, false
	}
	var w contract.QuotaWait
	if appErr.HasDetails() {
		// A detail of another shape leaves the defaults.
		_ = appErr.Details(&w)
	}
	return w, true
}
