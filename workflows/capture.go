package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
)

// DefaultCaptureGrace is how long after the end of a date a run may still
// call Spotify for it when the input does not say: enough for a schedule's
// catch-up after an outage of a day.
const DefaultCaptureGrace = 24 * time.Hour

// Kinds of work on a logical date. A run says which one it does in its
// progress, its result and the manifest.
const (
	// KindCapture calls Spotify and writes raw/…/dt=D during D or its grace.
	KindCapture = contract.KindCapture
	// KindLateCapture calls Spotify after D's window (--capture-now) and
	// labels the present state D; every row and the manifest say so.
	KindLateCapture = contract.KindLateCapture
	// KindReprocess rebuilds curated, serving and marts of D from the raw
	// objects already captured for D, with no Spotify call.
	KindReprocess = contract.KindReprocess
)

// ErrCaptureRefused is the error type of a run that would have to call
// Spotify for a date outside its capture window, with no capture of the
// date to reprocess.
const ErrCaptureRefused = "CaptureRefused"

// HasErrorType reports whether an application error of type typ is in
// err's chain: the workflow's own error may wrap a child's or an
// activity's, each wrapped again by the SDK.
func HasErrorType(err error, typ string) bool {
	for err != nil {
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) {
			return false
		}
		if appErr.Type() == typ {
			return true
		}
		err = appErr.Unwrap()
	}
	return false
}

// CaptureWindow is when a run may call Spotify for a date: from the start
// of the date in the run's time zone to its end plus the grace.
type CaptureWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// CaptureWindowOf is the capture window of date in the IANA zone tz (empty
// is UTC) with the grace after the end of the date (0 takes
// DefaultCaptureGrace).
func CaptureWindowOf(date, tz string, grace time.Duration) (CaptureWindow, error) {
	loc, err := location(tz)
	if err != nil {
		return CaptureWindow{}, err
	}
	d, err := time.ParseInLocation(DateLayout, date, loc)
	if err != nil {
		return CaptureWindow{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("date %q is not a date of the form YYYY-MM-DD", date), contract.ErrBadInput, err)
	}
	if grace <= 0 {
		grace = DefaultCaptureGrace
	}
	return CaptureWindow{Start: d, End: d.AddDate(0, 0, 1).Add(grace)}, nil
}

// Contains reports whether t falls inside the window.
func (w CaptureWindow) Contains(t time.Time) bool {
	return !t.Before(w.Start) && t.Before(w.End)
}

// closedAt says, of a time outside the window, when the window opens or
// when it ended.
func (w CaptureWindow) closedAt(now time.Time) string {
	if now.Before(w.Start) {
		return "opens at " + w.Start.UTC().Format(time.RFC3339)
	}
	return "ended at " + w.End.UTC().Format(time.RFC3339)
}

// refusal explains why a capture of date at now is refused, and what to do
// instead.
func (w CaptureWindow) refusal(date string, now time.Time) string {
	when := w.closedAt(now)
	return fmt.Sprintf("%s has no capture, and its capture window (%s .. %s) %s: Spotify keeps no history, "+
		"so what it says now is not the state of %s. Reprocess a date that was captured, "+
		"or run with --capture-now to capture the present state and label it %s as a late capture",
		date, w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), when, date, date)
}

func location(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	l, err := time.LoadLocation(tz)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("time zone %q is not an IANA zone such as Europe/Berlin", tz), contract.ErrBadInput, err)
	}
	return l, nil
}

// ErrNotCaptured is the error type of a reprocess of a date that has no
// complete capture in the lake.
const ErrNotCaptured = "NotCaptured"

// captureKindsChangeID versions PipelineWorkflow's plan step: runs recorded
// before it always captured and replay without it.
const captureKindsChangeID = "capture-kinds"

// runPlan is what one run of a date does.
type runPlan struct {
	Kind      string
	Window    CaptureWindow
	Partition contract.PartitionState
}

// reprocessed is the resolve result a reprocess takes from the capture it
// rebuilds: the mode and batches of the capture, no Spotify call.
func (p runPlan) reprocessed() contract.ResolveResult {
	c := p.Partition.Capture
	return contract.ResolveResult{Mode: c.Mode, Artists: c.Artists, Batches: c.Batches, BatchSize: c.BatchSize}
}

// planRun decides the kind of work of a run on date from the run's wishes,
// the workflow clock against the date's capture window, and what the lake
// holds of the date:
//   - ReprocessOnly reprocesses, or fails with NotCaptured;
//   - inside the window a run captures;
//   - outside it, CaptureNow captures as a late capture (refused over a
//     capture made inside the window: that one is the true state of D);
//   - else a date with a complete capture is reprocessed, and one without
//     is refused with CaptureRefused before anything is called or written.
func planRun(ctx workflow.Context, in PipelineInput, date string) (runPlan, error) {
	window, err := CaptureWindowOf(date, in.TimeZone, in.CaptureGrace)
	if err != nil {
		return runPlan{}, err
	}
	var st contract.PartitionState
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, partitionOptions()),
		contract.ActivityPartition, date).Get(ctx, &st); err != nil {
		return runPlan{}, fmt.Errorf("read the partition of %s: %w", date, err)
	}
	plan := runPlan{Window: window, Partition: st}
	now := workflow.Now(ctx)
	switch {
	case in.ReprocessOnly:
		if !st.Captured {
			return plan, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s has no complete capture to reprocess (no %s): it was never captured, or its capture did not finish",
					date, "manifests/dt="+date+"/capture.json"), ErrNotCaptured, nil)
		}
		plan.Kind = KindReprocess
	case window.Contains(now):
		plan.Kind = KindCapture
	case now.Before(window.Start):
		return plan, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s has not begun (its capture window opens at %s): a run cannot capture a future date",
				date, window.Start.UTC().Format(time.RFC3339)), ErrCaptureRefused, nil)
	case in.CaptureNow:
		if st.Captured && !st.Capture.LateCapture {
			return plan, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s was captured during its own window (at %s): --capture-now would replace that true state with today's numbers; "+
					"reprocess it instead (starter run --date %s, without --capture-now)", date, st.Capture.CapturedAt, date),
				ErrCaptureRefused, nil)
		}
		plan.Kind = KindLateCapture
	case st.Captured:
		plan.Kind = KindReprocess
	default:
		return plan, temporal.NewNonRetryableApplicationError(window.refusal(date, now), ErrCaptureRefused, nil)
	}
	return plan, nil
}
