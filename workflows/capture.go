package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/activities"
)

// DefaultCaptureGrace is how long after the end of a date a run may still
// call Spotify for it when the input does not say: enough for a schedule's
// catch-up after an outage of a day.
const DefaultCaptureGrace = 24 * time.Hour

// Kinds of work on a logical date. A run says which one it does in its
// progress, its result and the manifest.
const (
	// KindCapture calls Spotify and writes raw/…/dt=D during D or its grace.
	KindCapture = activities.KindCapture
	// KindLateCapture calls Spotify after D's window (--capture-now) and
	// labels the present state D; every row and the manifest say so.
	KindLateCapture = activities.KindLateCapture
	// KindReprocess rebuilds curated, serving and marts of D from the raw
	// objects already captured for D, with no Spotify call.
	KindReprocess = activities.KindReprocess
)

// ErrCaptureRefused is the error type of a run that would have to call
// Spotify for a date outside its capture window, with no capture of the
// date to reprocess.
const ErrCaptureRefused = "CaptureRefused"

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
			fmt.Sprintf("date %q is not a date of the form YYYY-MM-DD", date), activities.ErrBadInput, err)
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

// refusal explains why a capture of date at now is refused, and what to do
// instead.
func (w CaptureWindow) refusal(date string, now time.Time) string {
	when := "ended at " + w.End.UTC().Format(time.RFC3339)
	if now.Before(w.Start) {
		when = "opens at " + w.Start.UTC().Format(time.RFC3339)
	}
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
			fmt.Sprintf("time zone %q is not an IANA zone such as Europe/Berlin", tz), activities.ErrBadInput, err)
	}
	return l, nil
}
