// Package curate is the clean stage of the pipeline: it turns the raw
// JSONL.gz objects of one logical date into the curated Parquet tables of
// package tables (validated, normalized, de-duplicated), and quarantines
// what it rejects with a reason code.
//
// Run works in two phases:
//
//  1. Clean: every raw object of the date is read in a fixed order (entity
//     of Entities, then batch number) and its records are validated and
//     normalized into rows; rejects go at once to the object's quarantine
//     object (a deterministic key, so rewriting it is harmless). The rows
//     are staged in the lake under StagingPrefix(dt), in segments covering
//     a few dozen objects, each followed by a checkpoint; a resumed attempt
//     continues after the last checkpoint. At the end, quarantine objects of
//     the date that this run did not write (left by an earlier run) are
//     deleted, and a rejection rate above Options.MaxRejectRate stops the
//     run with a *DataQualityError.
//  2. Merge: per table, the staged rows are de-duplicated by ID and written
//     as the table's partition; all partitions are published at the end
//     (see lake.PartitionWriter for what readers observe).
//
// Rows depend on the raw objects and the options alone: capture times come
// from raw (fetched_at), never from the clock, and rows are written in read
// order, so reprocessing a date gives the same rows.
//
// De-duplication keeps, for each ID, the row from a full object over one
// from a simplified object (a listing or an album's track list), then the
// latest fetched_at, then the one read last. Duplicates are dropped and
// counted (Report.Duplicates), not quarantined: they are not bad data.
// Top tracks are de-duplicated per (artist, market) as a whole list.
//
// Memory: phase 1 holds at most one segment of rows (segmentMaxRows);
// phase 2 holds, one table at a time, a map entry per distinct ID (about
// 50–100 bytes), plus one per album, never the rows or the raw JSON. A day
// of a million tracks peaks at about 325 MB of heap.
package curate

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/metronome-data/metronome/internal/lake"
)

// DefaultMaxRejectRate is the rejection rate above which Run fails when
// Options.MaxRejectRate is zero.
const DefaultMaxRejectRate = 0.05

// DefaultCheckpointEvery is how many raw objects a segment covers when
// Options.CheckpointEvery is zero.
const DefaultCheckpointEvery = 64

// Options configures Run.
type Options struct {
	// MaxRejectRate is the highest tolerated share of rejected units
	// (Report.RejectRate), in [0, 1]. Zero means DefaultMaxRejectRate; 1
	// tolerates everything.
	MaxRejectRate float64
	// Market is the market of top tracks whose endpoint has no market=
	// query (ISO 3166-1 alpha-2).
	Market string
	// Progress, if set, is called after each raw object with the number of
	// objects done (resumed ones included) and the object's key. It is the
	// place to heartbeat.
	Progress func(doneObjects int, key string)
	// ResumeAfter is the progress a previous attempt of this same step
	// reported (its last heartbeat). Zero starts from scratch, discarding
	// any staged state. Non-zero resumes from the last checkpoint that
	// attempt left in the lake, provided it was made from the same raw
	// objects; otherwise Run starts from scratch. Either way the output is
	// the same.
	ResumeAfter int
	// CheckpointEvery is how many raw objects are cleaned between two
	// checkpoints; zero means DefaultCheckpointEvery.
	CheckpointEvery int
	// TempDir holds the Parquet part being written; empty means os.TempDir().
	TempDir string
	// LateCapture sets late_capture on every row: the raw data of the date
	// was captured after the date's window (--capture-now), so its values
	// are of the capture's day, not of the date.
	LateCapture bool
}

// Report is the data-quality report of a clean run.
type Report struct {
	DT string `json:"dt"`
	// Objects is the number of raw objects read.
	Objects int `json:"objects"`
	// Resumed is how many of them a checkpoint of an earlier attempt
	// already covered.
	Resumed int `json:"resumed"`
	// RowsIn counts, per raw entity, the units checked: each raw record,
	// plus each item of the list it carries (the tracks of a top_tracks,
	// album_tracks or albums record; the albums of an artist_albums page).
	// Each unit is kept or rejected on its own.
	RowsIn map[string]int `json:"rows_in"`
	// RowsOut counts the rows of each curated table.
	RowsOut map[string]int `json:"rows_out"`
	// Rejected counts rejected units per entity and reason code.
	Rejected map[string]map[string]int `json:"rejected"`
	// Duplicates counts, per table, the rows dropped by de-duplication.
	Duplicates map[string]int `json:"duplicates"`
	// QuarantineKeys are the quarantine objects written, in read order.
	QuarantineKeys []string `json:"quarantine_keys"`
	// CuratedKeys are the published part files of each table.
	CuratedKeys map[string][]string `json:"curated_keys"`
}

func newReport(dt string) Report {
	return Report{
		DT:          dt,
		RowsIn:      map[string]int{},
		RowsOut:     map[string]int{},
		Rejected:    map[string]map[string]int{},
		Duplicates:  map[string]int{},
		CuratedKeys: map[string][]string{},
	}
}

// Checked is the number of units checked, over all entities.
func (r Report) Checked() int {
	n := 0
	for _, v := range r.RowsIn {
		n += v
	}
	return n
}

// RejectedTotal is the number of units rejected, over all entities and
// reasons.
func (r Report) RejectedTotal() int {
	n := 0
	for _, reasons := range r.Rejected {
		for _, v := range reasons {
			n += v
		}
	}
	return n
}

// RejectRate is RejectedTotal / Checked, 0 when nothing was checked.
func (r Report) RejectRate() float64 {
	if c := r.Checked(); c > 0 {
		return float64(r.RejectedTotal()) / float64(c)
	}
	return 0
}

// ReasonCount is how often one reason rejected units of one entity.
type ReasonCount struct {
	Entity string `json:"entity"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// worstReasons returns the n most frequent (entity, reason) pairs.
func (r Report) worstReasons(n int) []ReasonCount {
	var all []ReasonCount
	for e, reasons := range r.Rejected {
		for reason, count := range reasons {
			all = append(all, ReasonCount{Entity: e, Reason: reason, Count: count})
		}
	}
	slices.SortFunc(all, func(a, b ReasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Entity, b.Entity), cmp.Compare(a.Reason, b.Reason))
	})
	return all[:min(n, len(all))]
}

// DataQualityError is returned by Run when the rejection rate exceeds
// Options.MaxRejectRate. The quarantine is written by then; the curated
// partitions are left as they were.
type DataQualityError struct {
	DT       string
	Rate     float64 // rejected / checked
	MaxRate  float64
	Rejected int
	Checked  int
	// Worst are the most frequent reasons, most frequent first.
	Worst []ReasonCount
}

func (e *DataQualityError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data quality of %s: %.2f%% of %d units rejected, more than the allowed %.2f%%",
		e.DT, 100*e.Rate, e.Checked, 100*e.MaxRate)
	for i, w := range e.Worst {
		sep := ", "
		if i == 0 {
			sep = "; worst: "
		}
		fmt.Fprintf(&b, "%s%s/%s=%d", sep, w.Entity, w.Reason, w.Count)
	}
	return b.String()
}

// StagingPrefix is where Run keeps its state for date dt while it runs:
// staged rows, the checkpoint and the partitions before publication. Run
// removes it when it ends, successfully or with a DataQualityError; an
// interrupted run leaves it for the next attempt to resume from or clear.
// Two runs of the same date must not overlap (the pipeline's deterministic
// workflow ID ensures it).
func StagingPrefix(dt string) string {
	return lake.StagingRoot + "curate/dt=" + dt + "/"
}

// Run cleans every raw object of date dt in store and publishes the curated
// partitions of every table of tables.All, and the quarantine of every
// entity. It is idempotent: a re-run replaces all of them with the same
// content. With opts.ResumeAfter it continues an attempt that crashed; see
// Options.
//
// The report is returned with the error too when it is meaningful, in
// particular with a *DataQualityError.
func Run(ctx context.Context, store lake.Store, dt string, opts Options) (Report, error) {
	report := newReport(dt)
	if err := lake.CheckDate(dt); err != nil {
		return report, fmt.Errorf("curate: %w", err)
	}
	if opts.MaxRejectRate < 0 || opts.MaxRejectRate > 1 {
		return report, fmt.Errorf("curate %s: max reject rate %v is outside [0, 1]", dt, opts.MaxRejectRate)
	}
	if opts.MaxRejectRate == 0 {
		opts.MaxRejectRate = DefaultMaxRejectRate
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = DefaultCheckpointEvery
	}
	if opts.Market != "" {
		m, rej := market(opts.Market)
		if rej != nil {
			return report, fmt.Errorf("curate %s: option Market: %s", dt, rej.detail)
		}
		opts.Market = m
	}

	objects, err := listRaw(ctx, store, dt)
	if err != nil {
		return report, fmt.Errorf("curate %s: %w", dt, err)
	}
	st, err := startStage(ctx, store, dt, objects, opts)
	if err != nil {
		return report, fmt.Errorf("curate %s: %w", dt, err)
	}
	if err := st.clean(ctx, objects, opts); err != nil {
		return st.cp.Report, fmt.Errorf("curate %s: %w", dt, err)
	}
	report = st.cp.Report

	// The quarantine is complete before the quality gate, so a failing run
	// still leaves every rejected record where it can be inspected.
	if err := st.pruneQuarantine(ctx); err != nil {
		return report, fmt.Errorf("curate %s: %w", dt, err)
	}
	if rate := report.RejectRate(); rate > opts.MaxRejectRate {
		if err := store.DeletePrefix(ctx, st.prefix); err != nil {
			return report, fmt.Errorf("curate %s: remove staging: %w", dt, err)
		}
		return report, &DataQualityError{
			DT: dt, Rate: rate, MaxRate: opts.MaxRejectRate,
			Rejected: report.RejectedTotal(), Checked: report.Checked(), Worst: report.worstReasons(3),
		}
	}

	if err := st.merge(ctx, &report, opts); err != nil {
		return report, fmt.Errorf("curate %s: %w", dt, err)
	}
	if err := store.DeletePrefix(ctx, st.prefix); err != nil {
		return report, fmt.Errorf("curate %s: remove staging: %w", dt, err)
	}
	return report, nil
}

// rawObject is one raw object of the run.
type rawObject struct {
	Entity string
	Key    string
	Batch  int
}

// listRaw lists the raw objects of dt in read order.
func listRaw(ctx context.Context, store lake.Store, dt string) ([]rawObject, error) {
	var objects []rawObject
	for _, e := range Entities {
		keys, err := store.List(ctx, lake.RawPrefix(e, dt))
		if err != nil {
			return nil, fmt.Errorf("list raw %s: %w", e, err)
		}
		start := len(objects)
		for _, k := range keys {
			batch, err := lake.ParseBatchKey(k)
			if err != nil {
				return nil, fmt.Errorf("unexpected raw object: %w", err)
			}
			objects = append(objects, rawObject{Entity: e, Key: k, Batch: batch})
		}
		// By number: batch=100000 sorts before batch=99999 as text.
		slices.SortFunc(objects[start:], func(a, b rawObject) int { return cmp.Compare(a.Batch, b.Batch) })
	}
	return objects, nil
}
