package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/workflows"
)

const (
	// maxPartitionDays is the longest range `starter partitions` lists: ten
	// years, far more than a lake holds, small enough to print.
	maxPartitionDays = 3660
	// defaultPartitionDays is the range shown when the lake holds no date
	// up to --to and no --from is given.
	defaultPartitionDays = 30
	// partitionReaders is how many manifests are read at once: an S3 lake
	// answers one Get in tens of milliseconds, so a long range read one by
	// one would take minutes.
	partitionReaders = 16
)

// Capture states of a date, the capture_status field of the JSON.
const (
	captureComplete = "captured"
	captureLate     = "late_capture"
	captureNone     = "none"
	// captureUnknown: processed by a run from before capture records
	// existed, so nothing says whether its raw data is complete.
	captureUnknown = "unknown"
	// captureRemoved: processed, but the capture record is gone since: a
	// new capture of the date started and has not completed.
	captureRemoved = "removed"
)

// partitionRow is one date of `starter partitions`. The JSON names are a
// contract with scripts: add fields, never rename or remove one.
type partitionRow struct {
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

func (r partitionRow) gap() bool { return !r.Captured && !r.Processed && r.Error == "" }

// partitionsReport is the JSON of `starter partitions`.
type partitionsReport struct {
	From  string         `json:"from"`
	To    string         `json:"to"`
	Dates []partitionRow `json:"dates"`
	Gaps  []string       `json:"gaps"`
}

func newPartitionsCommand(g *globalFlags) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "partitions [--from DATE] [--to DATE]",
		Short: "List the dates of the lake: captured, processed, how, and the gaps",
		Long: `partitions reads the lake's manifests (manifests/dt=D/capture.json and
pipeline.json) and prints one line per date from --from to --to, newest
first: whether D has a complete capture (late when captured after its
window), whether it was processed and by which kind of run (capture,
late_capture, reprocess), the rows of each curated table and mart, the
rejected records, and the workflow that wrote it. Dates with neither file
are gaps; consecutive gaps are shown as one line, and --output json lists
every date.

--to defaults to today (UTC); --from defaults to the earliest date the
lake holds up to --to (at most ` + fmt.Sprint(maxPartitionDays) + ` dates), or the ` + fmt.Sprint(defaultPartitionDays) + ` dates ending
at --to when it holds none. It reads only the lake: no Temporal server is
needed. The exit code is 1 when a manifest cannot be read, 2 for bad usage.`,
		Example: `  starter partitions
  starter partitions --from 2026-11-01 --to 2026-11-30
  starter partitions --output json | jq -r '.gaps[]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			toDay := time.Now().UTC().Truncate(24 * time.Hour)
			var fromDay time.Time
			var err error
			if to != "" {
				if toDay, err = parseDay("to", to); err != nil {
					return err
				}
			}
			if from != "" {
				if fromDay, err = parseDay("from", from); err != nil {
					return err
				}
				if err := checkPartitionRange(fromDay, toDay, to == ""); err != nil {
					return err
				}
			}
			cfg, err := loadConfig(cmd, g, nil)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			store, err := openLake(ctx, cfg)
			if err != nil {
				return err
			}
			rep, err := readPartitions(ctx, store, fromDay, toDay)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.output == "json" {
				err = writeJSON(out, rep)
			} else {
				renderPartitions(out, rep, cfg.Lake.URL)
			}
			if err != nil {
				return err
			}
			if n := countErrors(rep); n > 0 {
				return fmt.Errorf("%d of %d dates could not be read: see their lines above", n, len(rep.Dates))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first date YYYY-MM-DD (default: the earliest date in the lake)")
	cmd.Flags().StringVar(&to, "to", "", "last date YYYY-MM-DD, inclusive (default: today, UTC)")
	return cmd
}

// checkPartitionRange refuses reversed and over-long ranges.
func checkPartitionRange(from, to time.Time, toDefaulted bool) error {
	f, t := from.Format(workflows.DateLayout), to.Format(workflows.DateLayout)
	if from.After(to) {
		if toDefaulted {
			return usagef("--from %s is after --to %s (today, UTC): give a past --from or a later --to", f, t)
		}
		return usagef("--from %s is after --to %s: give the earlier date first", f, t)
	}
	if days := dayCount(from, to); days > maxPartitionDays {
		return usagef("%s .. %s spans %d days, more than %d: list a shorter range", f, t, days, maxPartitionDays)
	}
	return nil
}

// dayCount is the number of dates from from to to, inclusive.
func dayCount(from, to time.Time) int { return int(to.Sub(from)/(24*time.Hour)) + 1 }

// readPartitions lists the manifests once and reads the capture record and
// manifest of only the dates that have them, so a long run of gaps costs
// nothing. A zero from is the default: the earliest date held up to to.
func readPartitions(ctx context.Context, store lake.Store, from, to time.Time) (partitionsReport, error) {
	toDate := to.Format(workflows.DateLayout)
	held, err := activities.ListPartitions(ctx, store, "", toDate)
	if err != nil {
		return partitionsReport{}, err
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -(defaultPartitionDays - 1))
		if earliest := firstDate(held); earliest != "" {
			from, _ = time.Parse(workflows.DateLayout, earliest)
			// A lake older than the longest range shows its newest part.
			from = maxTime(from, to.AddDate(0, 0, -(maxPartitionDays-1)))
		}
	}
	fromDate := from.Format(workflows.DateLayout)
	captured, processed := dateSet(held.Captured, fromDate), dateSet(held.Processed, fromDate)

	rep := partitionsReport{From: fromDate, To: toDate, Dates: []partitionRow{}, Gaps: []string{}}
	// Newest first, as `starter status` lists runs.
	for d := to; !d.Before(from); d = d.AddDate(0, 0, -1) {
		rep.Dates = append(rep.Dates, partitionRow{Date: d.Format(workflows.DateLayout),
			CaptureStatus: captureNone, Rows: map[string]int{}, Marts: map[string]int64{}})
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, partitionReaders)
	for i := range rep.Dates {
		row := &rep.Dates[i]
		if !captured[row.Date] && !processed[row.Date] {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			readPartition(ctx, store, row, captured[row.Date], processed[row.Date])
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	for _, r := range rep.Dates {
		if r.gap() {
			rep.Gaps = append(rep.Gaps, r.Date)
		}
	}
	return rep, nil
}

// readPartition fills row from the date's capture record and manifest. A
// file that does not read is the row's error, so one broken date does not
// hide the others.
func readPartition(ctx context.Context, store lake.Store, row *partitionRow, hasCapture, hasManifest bool) {
	var c activities.Capture
	if hasCapture {
		var found bool
		var err error
		c, found, err = activities.ReadCapture(ctx, store, row.Date)
		switch {
		case err != nil:
			row.Error = err.Error()
			return
		case found:
			row.Captured, row.LateCapture = true, c.LateCapture || c.Kind == activities.KindLateCapture
			row.CaptureStatus = captureComplete
			if row.LateCapture {
				row.CaptureStatus = captureLate
			}
			row.Kind, row.CaptureWF, row.CapturedAt = c.Kind, c.WorkflowID, c.CapturedAt
			row.WorkflowID, row.RunID = c.WorkflowID, c.RunID
		}
	}
	if !hasManifest {
		if row.Captured {
			row.Note = fmt.Sprintf("captured, not processed: run `starter backfill --from %s --to %s`", row.Date, row.Date)
		}
		return
	}
	m, err := activities.ReadManifest(ctx, store, row.Date)
	if err != nil {
		row.Error = err.Error()
		return
	}
	row.Processed = true
	row.Kind = m.Kind
	if row.Kind == "" {
		// Manifests written before kinds existed were all captures.
		row.Kind = activities.KindCapture
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
		row.CaptureStatus, row.LateCapture = captureUnknown, m.LateCapture
	default:
		// The manifest saw a capture record that is gone: BeginCapture
		// removed it for a new capture, which has not completed.
		row.CaptureStatus, row.LateCapture, row.CapturedAt = captureRemoved, m.LateCapture, m.CapturedAt
		row.Note = "capture record removed since processing: a new capture of the date started and has not completed"
	}
}

func renderPartitions(out io.Writer, rep partitionsReport, lakeURL string) {
	wfWidth := len("WORKFLOW")
	for _, r := range rep.Dates {
		wfWidth = max(wfWidth, len(r.WorkflowID))
	}
	fmt.Fprintf(out, "%-10s  %-8s  %-9s  %-12s  %8s  %-*s  %s\n",
		"DATE", "CAPTURED", "PROCESSED", "KIND", "REJECTED", wfWidth, "WORKFLOW", "ROWS / MARTS")
	var processed, unprocessed int
	for i := 0; i < len(rep.Dates); i++ {
		r := rep.Dates[i]
		if r.gap() {
			// Dates run newest first: the run of gaps ends at the oldest.
			j := i
			for j+1 < len(rep.Dates) && rep.Dates[j+1].gap() {
				j++
			}
			if j == i {
				fmt.Fprintf(out, "%s  gap — not captured\n", r.Date)
			} else {
				fmt.Fprintf(out, "%s .. %s  gap (%d dates) — not captured\n", rep.Dates[j].Date, r.Date, j-i+1)
			}
			i = j
			continue
		}
		if r.Error != "" {
			fmt.Fprintf(out, "%s  unreadable: %s\n", r.Date, r.Error)
			continue
		}
		if r.Processed {
			processed++
		} else {
			unprocessed++
		}
		kind, rejected, counts := dash(r.Kind), "-", "-"
		if r.Processed {
			rejected = fmt.Sprint(r.Rejected)
			counts = formatCounts(r.Rows)
			if len(r.Marts) > 0 {
				counts += " / " + formatCounts64(r.Marts)
			}
		}
		fmt.Fprintf(out, "%-10s  %-8s  %-9s  %-12s  %8s  %-*s  %s\n",
			r.Date, captureWord(r), yesNo(r.Processed), kind, rejected, wfWidth, dash(r.WorkflowID), counts)
		if r.Note != "" {
			fmt.Fprintf(out, "%10s  ↳ %s\n", "", r.Note)
		}
	}
	fmt.Fprintf(out, "%s .. %s: %d dates, %d processed, %d captured not processed, %d gaps",
		rep.From, rep.To, len(rep.Dates), processed, unprocessed, len(rep.Gaps))
	if n := countErrors(rep); n > 0 {
		fmt.Fprintf(out, ", %d unreadable", n)
	}
	fmt.Fprintln(out)
	if processed+unprocessed == 0 {
		fmt.Fprintf(out, "lake %s holds no capture or manifest in this range: run `starter run` to capture today\n", lakeURL)
	}
}

// captureWord is the CAPTURED column.
func captureWord(r partitionRow) string {
	switch r.CaptureStatus {
	case captureComplete:
		return "yes"
	case captureLate:
		return "late"
	case captureUnknown:
		return "unknown"
	case captureRemoved:
		return "removed"
	}
	return "no"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func countErrors(rep partitionsReport) int {
	n := 0
	for _, r := range rep.Dates {
		if r.Error != "" {
			n++
		}
	}
	return n
}

// firstDate is the earliest date with a capture record or a manifest.
func firstDate(p activities.PartitionsResult) string {
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
