package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/partitions"
	"github.com/metronome-data/metronome/internal/runs"
	"github.com/metronome-data/metronome/internal/tables"
	"github.com/metronome-data/metronome/workflows"
)

// gridDays is how many dates the partitions grid shows a page.
const gridDays = 30

// Cell states of the grid (class state-STATE).
const (
	stateComplete    = "complete"
	stateFailed      = "failed"
	stateRunning     = "running"
	stateNotCaptured = "not-captured"
	// stateCaptured: raw sealed by a capture record, not processed yet.
	stateCaptured = "captured"
)

// gridData is the content of /.
type gridData struct {
	From, To string
	// Columns are the curated tables, then the marts.
	Columns []gridColumn
	Rows    []gridRow
	// Older is the ?before= of the previous page; Newer the link to the
	// next one, "" on the newest.
	Older, Newer string
	LakeURL      string
	Counts       map[string]int
}

type gridColumn struct {
	Name string
	Mart bool
}

// gridRow is one date.
type gridRow struct {
	Date, State, Kind string
	Cells             []gridCell
	Rejected, Checked int
	// Run is the latest pipeline run of the date, when Temporal answered.
	Run    *runs.Run
	RunURL string
	Note   string
	Error  string
}

type gridCell struct {
	Table, State, Kind string
	Rows               int64
	HasRows            bool
	// Skipped is why a mart was not published for the date.
	Skipped string
}

func (c *Console) partitionsPage(w http.ResponseWriter, r *http.Request) {
	today := c.o.Now().UTC().Truncate(24 * time.Hour)
	to := today
	if before := r.URL.Query().Get("before"); before != "" {
		day, err := time.Parse(workflows.DateLayout, before)
		if err != nil {
			c.fail(w, r, http.StatusBadRequest, "Bad date",
				fmt.Sprintf("?before=%q is not a date: want YYYY-MM-DD, such as %s.", before, today.Format(workflows.DateLayout)))
			return
		}
		to = day.AddDate(0, 0, -1)
	}
	from := to.AddDate(0, 0, -(gridDays - 1))
	// Temporal answers while the lake is read.
	type runsAnswer struct {
		latest map[string]runs.Run
		err    error
	}
	runsc := make(chan runsAnswer, 1)
	go func() {
		latest, err := c.pipelineRuns(r.Context(), from, to)
		runsc <- runsAnswer{latest, err}
	}()
	dates, err := c.lake.Range(r.Context(), from, to)
	answer := <-runsc
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "Lake not readable",
			fmt.Sprintf("The lake at %s could not be listed: %v", c.o.LakeURL, err))
		return
	}
	p := page{Name: "partitions", Title: "Partitions"}
	latest := answer.latest
	if err := answer.err; err != nil {
		p.Banners = append(p.Banners, c.temporalBanner(err, "running and failed runs are"))
	}
	data := gridData{From: from.Format(workflows.DateLayout), To: to.Format(workflows.DateLayout),
		Columns: gridColumns(), Older: from.Format(workflows.DateLayout), LakeURL: c.o.LakeURL, Counts: map[string]int{}}
	if next := to.AddDate(0, 0, gridDays+1); to.Before(today) {
		data.Newer = "/"
		if next.Before(today) {
			data.Newer = "/?before=" + next.Format(workflows.DateLayout)
		}
	}
	for _, d := range dates {
		row := c.gridRow(d, latest, data.Columns)
		data.Counts[row.State]++
		data.Rows = append(data.Rows, row)
	}
	p.Data = data
	c.render(w, r, http.StatusOK, "partitions", p)
}

// gridColumns are the curated tables and the marts, in build order.
func gridColumns() []gridColumn {
	var cols []gridColumn
	for _, t := range tables.All {
		cols = append(cols, gridColumn{Name: t})
	}
	for _, m := range analytics.Marts {
		cols = append(cols, gridColumn{Name: m, Mart: true})
	}
	return cols
}

// gridRow is the row of date d: its state from the lake, unless Temporal
// says a run of it is running, or failed without a manifest to show.
func (c *Console) gridRow(d partitions.Date, latest map[string]runs.Run, cols []gridColumn) gridRow {
	row := gridRow{Date: d.Row.Date, Kind: kindClass(d.Row.Kind), Note: d.Row.Note, Error: d.Row.Error}
	if run, ok := latest[d.Row.Date]; ok {
		row.Run, row.RunURL = &run, c.runURL(run.WorkflowID, run.RunID)
	}
	row.State = dateState(d.Row, row.Run)
	if m := d.Manifest; m != nil {
		row.Rejected = m.Clean.Report.RejectedTotal()
		for _, n := range m.Clean.Report.RowsIn {
			row.Checked += n
		}
	}
	for _, col := range cols {
		cell := gridCell{Table: col.Name, State: row.State, Kind: row.Kind}
		if col.Mart {
			cell.Rows, cell.HasRows = d.Row.Marts[col.Name]
			if d.Manifest != nil {
				cell.Skipped = d.Manifest.Aggregate.Skipped[col.Name]
			}
		} else {
			n, ok := d.Row.Rows[col.Name]
			cell.Rows, cell.HasRows = int64(n), ok
		}
		row.Cells = append(row.Cells, cell)
	}
	return row
}

// dateState is the state of a date: running while a run of it runs;
// complete with a manifest; failed when its files do not read or its
// latest run failed without writing one; captured with a capture record
// only; else not captured (a gap).
func dateState(row partitions.Row, run *runs.Run) string {
	switch {
	case run != nil && run.Status == "Running":
		return stateRunning
	case row.Error != "":
		return stateFailed
	case row.Processed:
		return stateComplete
	case run != nil && failedStatus(run.Status):
		return stateFailed
	case row.Captured:
		return stateCaptured
	}
	return stateNotCaptured
}

// kindClass is the kind-KIND class: capture, reprocess, late-capture, none.
func kindClass(kind string) string {
	if kind == "" {
		return "none"
	}
	return strings.ReplaceAll(kind, "_", "-")
}
