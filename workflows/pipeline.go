// Package workflows holds metronome's deterministic workflow code. It imports
// only the Temporal SDK and internal/contract, the activities' names and
// their input and output types: no I/O, no clients, no wall clock, and no
// backend package (deps_test.go).
package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
)

// Stage names, in order, as the progress query reports them.
const (
	StageResolve   = "resolve"
	StageCollect   = "collect"
	StageClean     = "clean"
	StageStore     = "store"
	StageAggregate = "aggregate"
	StageManifest  = "manifest"
	StageDone      = "done"
)

// Stages lists the stages of a pipeline run in order.
var Stages = []string{StageResolve, StageCollect, StageClean, StageStore, StageAggregate, StageManifest}

// ProgressQuery is the name of the query handler of every workflow here.
const ProgressQuery = "progress"

// Search attributes set by every pipeline run.
var (
	PipelineDateKey = contract.PipelineDateKey
	ArtistCountKey  = temporal.NewSearchAttributeKeyInt64("ArtistCount")
	scheduledStart  = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")
)

// DateLayout is the layout of logical dates.
const DateLayout = "2006-01-02"

// PipelineInput starts one run for a logical date.
type PipelineInput struct {
	// Date is the logical date YYYY-MM-DD. Empty takes it from the
	// schedule's scheduled start time (in TimeZone), or else from the
	// workflow's start time.
	Date string `json:"date,omitempty"`
	// TimeZone of the schedule, an IANA name; default UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Artists are names or Spotify IDs; empty collects the tracked set.
	Artists []string `json:"artists,omitempty"`
	// Trigger says who started the run: manual, schedule, backfill, request.
	Trigger string `json:"trigger,omitempty"`
	// Parallelism bounds the collect batches in flight; default
	// contract.DefaultParallelism.
	Parallelism int `json:"parallelism,omitempty"`
	// SpotifyTaskQueue carries the activities that call Spotify; default
	// contract.DefaultSpotifyTaskQueue.
	SpotifyTaskQueue string `json:"spotify_task_queue,omitempty"`
	// CaptureGrace is how long after the end of the date Spotify may still
	// be called for it; 0 takes DefaultCaptureGrace.
	CaptureGrace time.Duration `json:"capture_grace,omitempty"`
	// CaptureNow captures the present state even outside the date's
	// capture window and labels it with the date, as a late capture.
	CaptureNow bool `json:"capture_now,omitempty"`
	// ReprocessOnly rebuilds the date from its raw capture and never calls
	// Spotify; a date without a complete capture fails with NotCaptured.
	ReprocessOnly bool `json:"reprocess_only,omitempty"`
}

// PipelineResult summarizes a finished run.
type PipelineResult struct {
	Date string `json:"date"`
	// Kind is capture, late_capture or reprocess.
	Kind string `json:"kind"`
	// Capture is the capture the run made or reprocessed.
	Capture     contract.CaptureSummary  `json:"capture"`
	Mode        string                   `json:"mode"`
	Artists     int                      `json:"artists"`
	Collect     contract.CollectSummary  `json:"collect"`
	Quality     contract.QualityReport   `json:"quality"`
	Store       contract.StoreResult     `json:"store"`
	Aggregate   contract.AggregateResult `json:"aggregate"`
	ManifestKey string                   `json:"manifest_key"`
	Unresolved  []string                 `json:"unresolved,omitempty"`
}

// Progress is what the progress query answers.
type Progress struct {
	Date string `json:"date"`
	// Kind is capture, late_capture or reprocess once the run has planned.
	Kind         string         `json:"kind,omitempty"`
	Stage        string         `json:"stage"`
	StagesDone   []string       `json:"stages_done"`
	Artists      int            `json:"artists"`
	BatchesDone  int            `json:"batches_done"`
	BatchesTotal int            `json:"batches_total"`
	Records      map[string]int `json:"records,omitempty"`
	Rejected     int            `json:"rejected"`
	Errors       []string       `json:"errors,omitempty"`
	// Details is a one-line summary of each finished stage.
	Details map[string]string `json:"details,omitempty"`
	// QuotaWaitUntil is set while the run waits for the Spotify quota: the
	// workflow time (UTC) at which it calls Spotify again.
	QuotaWaitUntil time.Time `json:"quota_wait_until,omitzero"`
}

// PipelineWorkflow runs resolve → collect → clean → store → aggregate →
// manifest for one logical date. Its workflow ID is pipeline-D.
func PipelineWorkflow(ctx workflow.Context, in PipelineInput) (PipelineResult, error) {
	date, err := LogicalDate(ctx, in)
	if err != nil {
		return PipelineResult{}, err
	}
	// A schedule created before ScheduledPipelineWorkflow starts this
	// workflow under pipeline-<scheduled time>: hand the date to pipeline-D
	// (workflows/scheduled.go), the one writer of the date.
	if res, joined, err := joinPipelineOfScheduledRun(ctx, in, date); joined {
		return res, err
	}
	if in.Trigger == "" {
		in.Trigger = "manual"
	}

	run, err := newStageRun(ctx, date, "", in.Parallelism, in.SpotifyTaskQueue)
	if err != nil {
		return PipelineResult{}, err
	}
	progress := run.progress
	dayStart, _ := time.Parse(DateLayout, date)
	if err := workflow.UpsertTypedSearchAttributes(ctx, PipelineDateKey.ValueSet(dayStart)); err != nil {
		return PipelineResult{}, fmt.Errorf("set PipelineDate: %w", err)
	}

	started := workflow.Now(ctx)
	fail := func(name string, err error) (PipelineResult, error) {
		return PipelineResult{}, fmt.Errorf("stage %s of %s: %w", name, date, run.failed(name, err))
	}

	// 0 plan: capture, late capture or reprocess. Runs recorded before
	// kinds existed were all captures.
	plan := runPlan{Kind: KindCapture}
	kinds := workflow.GetVersion(ctx, captureKindsChangeID, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	if kinds {
		if plan, err = planRun(ctx, in, date); err != nil {
			progress.Errors = append(progress.Errors, err.Error())
			return PipelineResult{}, err
		}
	}
	progress.Kind = plan.Kind

	var resolved contract.ResolveResult
	var summary contract.CollectSummary
	var capture contract.CaptureSummary
	if plan.Kind == KindReprocess {
		resolved, capture = plan.reprocessed(), plan.Partition.Capture
		skipped := "skipped: reprocess of the capture of " + capture.CapturedAt
		progress.Artists, progress.BatchesTotal = resolved.Artists, resolved.Batches
		progress.StagesDone = append(progress.StagesDone, StageResolve, StageCollect)
		progress.Details[StageResolve], progress.Details[StageCollect] = skipped, skipped
	} else {
		if kinds {
			if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, partitionOptions()),
				contract.ActivityBeginCapture, date).Get(ctx, nil); err != nil {
				return fail(StageResolve, err)
			}
		}

		// 1 resolve
		done := run.begin(StageResolve)
		if resolved, err = run.resolve(contract.ResolveInput{Date: date, Artists: in.Artists}); err != nil {
			return fail(StageResolve, err)
		}
		done()
		if err := workflow.UpsertTypedSearchAttributes(ctx, ArtistCountKey.ValueSet(int64(resolved.Artists))); err != nil {
			return PipelineResult{}, fmt.Errorf("set ArtistCount: %w", err)
		}

		// 2 collect: batches of ≤50 artists, at most Parallelism in flight.
		done = run.begin(StageCollect)
		if err := run.collect(resolved, &summary); err != nil {
			return fail(StageCollect, err)
		}
		if summary.Records["artists"] == 0 {
			// Cleaning nothing would publish empty tables over the date.
			return fail(StageCollect, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("Spotify knows none of the %d artists of the run (e.g. %s): check the IDs; the date's data is left as it was",
					resolved.Artists, strings.Join(firstN(summary.Missing, 3), ", ")), contract.ErrBadInput, nil))
		}
		if kinds {
			// Seal the capture: from here on the date can be reprocessed.
			info := workflow.GetInfo(ctx)
			if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, cleanOptions()),
				contract.ActivityCompleteCapture, contract.CaptureInput{
					Date: date, Kind: plan.Kind, Mode: resolved.Mode, Artists: resolved.Artists,
					Batches: resolved.Batches, BatchSize: resolved.BatchSize, Calls: summary.Calls,
					WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
				}).Get(ctx, &capture); err != nil {
				return fail(StageCollect, err)
			}
			progress.Details[StageCollect] = fmt.Sprintf("%d raw objects, fetched %s .. %s",
				capture.Objects, capture.Window.First, capture.Window.Last)
		}
		done()
	}

	// 3 clean
	done := run.begin(StageClean)
	cleanIn := contract.CleanInput{Date: date, Mode: resolved.Mode, Batches: resolved.Batches}
	if kinds {
		// The capture removed stale batches already; raw stays as sealed.
		cleanIn.Batches, cleanIn.LateCapture = 0, capture.LateCapture
	}
	cleaned, err := run.clean(cleanIn)
	if err != nil {
		return fail(StageClean, err)
	}
	done()

	// 4 store
	done = run.begin(StageStore)
	stored, err := run.store(contract.StoreInput{Date: date, Mode: resolved.Mode})
	if err != nil {
		return fail(StageStore, err)
	}
	done()

	// 5 aggregate
	done = run.begin(StageAggregate)
	var aggregated contract.AggregateResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, aggregateOptions()),
		contract.ActivityAggregate, contract.AggregateInput{Date: date}).Get(ctx, &aggregated); err != nil {
		return fail(StageAggregate, err)
	}
	progress.Details[StageAggregate] = fmt.Sprintf("%d marts, %d similar-artist pairs", len(aggregated.Rows), aggregated.Similar)
	done()

	// 6 manifest
	done = run.begin(StageManifest)
	info := workflow.GetInfo(ctx)
	var manifest contract.ManifestResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, manifestOptions()),
		contract.ActivityWriteManifest, contract.ManifestInput{
			Date: date, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
			Trigger: in.Trigger, StartedAt: started.UTC().Format(time.RFC3339),
			Resolve: resolved, Collect: summary, Clean: cleaned, Store: stored,
			Aggregate: aggregated, StageMillis: run.millis,
			Kind: plan.Kind, TimeZone: in.TimeZone, Capture: capture,
		}).Get(ctx, &manifest); err != nil {
		return fail(StageManifest, err)
	}
	progress.Details[StageManifest] = manifest.Key
	done()
	progress.Stage = StageDone

	return PipelineResult{
		Date: date, Kind: plan.Kind, Capture: capture, Mode: resolved.Mode, Artists: resolved.Artists, Collect: summary,
		Quality: cleaned.Report, Store: stored, Aggregate: aggregated,
		ManifestKey: manifest.Key, Unresolved: resolved.Unresolved,
	}, nil
}

// LogicalDate is the date a run is for: the input's date, else the
// schedule's scheduled start time in the schedule's time zone, else the
// workflow's start time. It never reads the wall clock, so a backfilled run
// for 2026-11-01 writes dt=2026-11-01.
func LogicalDate(ctx workflow.Context, in PipelineInput) (string, error) {
	if in.Date != "" {
		d, err := time.Parse(DateLayout, in.Date)
		if err != nil {
			return "", temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("date %q is not a date of the form YYYY-MM-DD", in.Date), contract.ErrBadInput, err)
		}
		return d.Format(DateLayout), nil
	}
	loc := time.UTC
	if in.TimeZone != "" {
		l, err := time.LoadLocation(in.TimeZone)
		if err != nil {
			return "", temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("time zone %q is not an IANA zone such as Europe/Berlin", in.TimeZone), contract.ErrBadInput, err)
		}
		loc = l
	}
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStart); ok && !t.IsZero() {
		return t.In(loc).Format(DateLayout), nil
	}
	return workflow.GetInfo(ctx).WorkflowStartTime.In(loc).Format(DateLayout), nil
}

// PipelineWorkflowID is the deterministic ID of the run for date.
func PipelineWorkflowID(date string) string { return contract.PipelineWorkflowID(date) }

// forEachBounded starts n futures with at most limit in flight and hands
// each to collect as it completes. The first error stops new starts and is
// returned after the futures in flight have settled.
func forEachBounded(ctx workflow.Context, n, limit int,
	start func(i int) workflow.Future, collect func(workflow.Future) error) error {
	selector := workflow.NewSelector(ctx)
	var firstErr error
	inFlight, next := 0, 0
	for next < n || inFlight > 0 {
		for firstErr == nil && next < n && inFlight < limit {
			selector.AddFuture(start(next), func(f workflow.Future) {
				inFlight--
				if err := collect(f); err != nil && firstErr == nil {
					firstErr = err
				}
			})
			inFlight++
			next++
		}
		if inFlight == 0 {
			break
		}
		selector.Select(ctx)
	}
	return firstErr
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
