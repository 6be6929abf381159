// Package partitions reads what the lake holds of each date — its capture
// record and run manifest — for `starter partitions` and the data console.
package partitions

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/workflows"
	"golang.org/x/sync/errgroup"
)

const (
	// MaxDays is the longest range read at once: ten years, far more than
	// a lake holds, small enough to print.
	MaxDays = 3660
	// DefaultDays is the range read when the lake holds no date up to the
	// range's end and no start is given.
	DefaultDays = 30
	// readers is how many dates are read at once: an S3 lake answers one
	// Get in tens of milliseconds, so a long range read one by one would
	// take minutes.
	readers = 16
)

// Capture states of a date, the capture_status field of the JSON.
const (
	CaptureComplete = "captured"
	CaptureLate     = "late_capture"
	CaptureNone     = "none"
	// CaptureUnknown: processed by a run from before capture records
	// existed, so nothing says whether its raw data is complete.
	CaptureUnknown = "unknown"
	// CaptureRemoved: processed, but the capture record is gone since: a
	// new capture of the date started and has not completed.
	CaptureRemoved = "removed"
)

// Row is one date. The JSON names are a contract with scripts (`starter
// partitions --output json`): add fields, never rename or remove one.
type Row struct {
	Date          string           `json:"date"`
	Captured      bool             `json:"captured"`
	LateCapture   bool             `json:"late_capture"`
	CaptureStatus string           `json:"capture_status"`
	Processed     bool             `json:"processed"`
	Kind          string           `json:"kind"`
	Rows          map[string]int   `json:"rows"`
	Marts         map[string]int64 `json:"marts"`
	Rejected      int              `json:"rejected"`
	WorkflowID    string           `json:"workflow_id"`
	RunID         string           `json:"run_id"`
	CaptureWF     string           `json:"capture_workflow_id"`
	CapturedAt    string           `json:"captured_at"`
	WrittenAt     string           `json:"written_at"`
	// Note says what to do about the date, if anything.
	Note string `json:"note,omitempty"`
	// Error is why the date's capture record or manifest could not be read.
	Error string `json:"error,omitempty"`
}

// Gap reports a date with neither a capture record nor a manifest.
func (r Row) Gap() bool { return !r.Captured && !r.Processed && r.Error == "" }

// Report is a range of dates, newest first, and its gaps.
type Report struct {
	From  string   `json:"from"`
	To    string   `json:"to"`
	Dates []Row    `json:"dates"`
	Gaps  []string `json:"gaps"`
}

// Errors counts the dates that could not be read.
func (r Report) Errors() int {
	n := 0
	for _, d := range r.Dates {
		if d.Error != "" {
			n++
		}
	}
	return n
}

// Date is one date with the documents it was read from; Capture and
// Manifest are nil when the date has none. From Range (and Read) they are
// heads: the capture record's Objects and the manifest's RawObjects are
// nil; One reads them whole. They may be shared with a Reader's cache: do
// not modify them.
type Date struct {
	Row      Row
	Capture  *activities.Capture
	Manifest *activities.Manifest
}

// Read reads the dates from from to to of store without a cache; a zero
// from is the earliest date held up to to (at most MaxDays), or the
// DefaultDays ending at to when it holds none.
func Read(ctx context.Context, store lake.Store, from, to time.Time) (Report, error) {
	return NewReader(store).Read(ctx, from, to)
}

// Reader reads dates of a lake, through a cache when it has one.
type Reader struct {
	store lake.Store
	cache *cache
}

// Option configures a Reader.
type Option func(*Reader)

// WithCache keeps the documents read, keyed by what changes when one is
// rewritten: the size and modification time of the object in a local lake;
// in a remote lake (no cheap stat) a document is read again after ttl.
func WithCache(ttl time.Duration) Option {
	return func(r *Reader) { r.cache = newCache(ttl) }
}

// NewReader reads store.
func NewReader(store lake.Store, opts ...Option) *Reader {
	r := &Reader{store: store}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Read is Read of the package, through r's cache.
func (r *Reader) Read(ctx context.Context, from, to time.Time) (Report, error) {
	toDate := to.Format(workflows.DateLayout)
	held, err := activities.ListPartitions(ctx, r.store, "", toDate)
	if err != nil {
		return Report{}, err
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -(DefaultDays - 1))
		if earliest := firstDate(held); earliest != "" {
			from, _ = time.Parse(workflows.DateLayout, earliest)
			// A lake older than the longest range shows its newest part.
			from = maxTime(from, to.AddDate(0, 0, -(MaxDays-1)))
		}
	}
	dates, err := r.read(ctx, held, from, to, false)
	rep := Report{From: from.Format(workflows.DateLayout), To: toDate, Dates: make([]Row, 0, len(dates)), Gaps: []string{}}
	for _, d := range dates {
		rep.Dates = append(rep.Dates, d.Row)
		if d.Row.Gap() {
			rep.Gaps = append(rep.Gaps, d.Row.Date)
		}
	}
	return rep, err
}

// Range reads every date from from to to, newest first, with its
// documents: one listing of the range's manifests, then only the dates
// that have files.
func (r *Reader) Range(ctx context.Context, from, to time.Time) ([]Date, error) {
	if from.After(to) {
		return nil, fmt.Errorf("range %s .. %s is reversed", from.Format(workflows.DateLayout), to.Format(workflows.DateLayout))
	}
	held, err := activities.ListPartitions(ctx, r.store, from.Format(workflows.DateLayout), to.Format(workflows.DateLayout))
	if err != nil {
		return nil, err
	}
	return r.read(ctx, held, from, to, false)
}

// One reads one date, its documents whole.
func (r *Reader) One(ctx context.Context, date string) (Date, error) {
	if err := lake.CheckDate(date); err != nil {
		return Date{}, err
	}
	held, err := activities.ListPartitions(ctx, r.store, date, date)
	if err != nil {
		return Date{}, err
	}
	day, _ := time.Parse(workflows.DateLayout, date)
	dates, err := r.read(ctx, held, day, day, true)
	if err != nil {
		return Date{}, err
	}
	return dates[0], nil
}

// read reads the capture record and manifest of only the dates of held, so
// a long run of gaps costs nothing.
func (r *Reader) read(ctx context.Context, held contract.PartitionsResult, from, to time.Time, whole bool) ([]Date, error) {
	fromDate := from.Format(workflows.DateLayout)
	captured, processed := dateSet(held.Captured, fromDate), dateSet(held.Processed, fromDate)
	// Newest first, as `starter status` lists runs.
	var dates []Date
	for d := to; !d.Before(from); d = d.AddDate(0, 0, -1) {
		dates = append(dates, Date{Row: Row{Date: d.Format(workflows.DateLayout),
			CaptureStatus: CaptureNone, Rows: map[string]int{}, Marts: map[string]int64{}}})
	}
	var g errgroup.Group
	g.SetLimit(readers)
	for i := range dates {
		d := &dates[i]
		if !captured[d.Row.Date] && !processed[d.Row.Date] {
			continue
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil // the read was given up while this date waited for a slot
			}
			r.readDate(ctx, d, captured[d.Row.Date], processed[d.Row.Date], whole)
			return nil
		})
	}
	_ = g.Wait() // readDate keeps each date's error in its row
	return dates, ctx.Err()
}

// readDate fills d from the date's capture record and manifest. A file
// that does not read is the row's error, so one broken date does not hide
// the others.
func (r *Reader) readDate(ctx context.Context, d *Date, hasCapture, hasManifest, whole bool) {
	row := &d.Row
	if hasCapture {
		c, err := r.capture(ctx, row.Date, whole)
		if err != nil {
			row.Error = err.Error()
			return
		}
		d.Capture = c
	}
	if hasManifest {
		m, err := r.manifest(ctx, row.Date, whole)
		if err != nil {
			fillCapture(row, d.Capture)
			row.Error = err.Error()
			return
		}
		d.Manifest = m
	}
	fill(row, d.Capture, d.Manifest)
}

// fill sets row from what the date holds: c and m may be nil.
func fill(row *Row, c *activities.Capture, m *activities.Manifest) {
	fillCapture(row, c)
	if m == nil {
		if row.Captured {
			row.Note = fmt.Sprintf("captured, not processed: run `starter backfill --from %s --to %s`", row.Date, row.Date)
		}
		return
	}
	row.Processed = true
	row.Kind = m.Kind
	if row.Kind == "" {
		// Manifests written before kinds existed were all captures.
		row.Kind = contract.KindCapture
	}
	row.WorkflowID, row.RunID, row.WrittenAt = m.WorkflowID, m.RunID, m.WrittenAt
	if m.Clean.Report.RowsOut != nil {
		row.Rows = m.Clean.Report.RowsOut
	}
	if m.Aggregate.Rows != nil {
		row.Marts = m.Aggregate.Rows
	}
	row.Rejected = m.Clean.Report.RejectedTotal()
	switch {
	case row.Captured:
		if m.CapturedAt != "" && m.CapturedAt != c.CapturedAt {
			row.Note = fmt.Sprintf("raw captured again at %s, after the data processed here: run `starter backfill --from %s --to %s --rerun`",
				c.CapturedAt, row.Date, row.Date)
		}
	case m.CapturedAt == "":
		row.CaptureStatus, row.LateCapture = CaptureUnknown, m.LateCapture
	default:
		// The manifest saw a capture record that is gone: BeginCapture
		// removed it for a new capture, which has not completed.
		row.CaptureStatus, row.LateCapture, row.CapturedAt = CaptureRemoved, m.LateCapture, m.CapturedAt
		row.Note = "capture record removed since processing: a new capture of the date started and has not completed"
	}
}

func fillCapture(row *Row, c *activities.Capture) {
	if c == nil {
		return
	}
	row.Captured, row.LateCapture = true, c.LateCapture || c.Kind == contract.KindLateCapture
	row.CaptureStatus = CaptureComplete
	if row.LateCapture {
		row.CaptureStatus = CaptureLate
	}
	row.Kind, row.CaptureWF, row.CapturedAt = c.Kind, c.WorkflowID, c.CapturedAt
	row.WorkflowID, row.RunID = c.WorkflowID, c.RunID
}

// firstDate is the earliest date with a capture record or a manifest.
func firstDate(p contract.PartitionsResult) string {
	all := append(append([]string{}, p.Captured...), p.Processed...)
	if len(all) == 0 {
		return ""
	}
	sort.Strings(all)
	return all[0]
}

// dateSet holds the dates from from on.
func dateSet(dates []string, from string) map[string]bool {
	set := make(map[string]bool, len(dates))
	for _, d := range dates {
		if d >= from {
			set[d] = true
		}
	}
	return set
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
