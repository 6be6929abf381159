package console

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/partitions"
	"github.com/metronome-data/metronome/internal/runs"
	"github.com/metronome-data/metronome/workflows"
)

// dateData is the content of /dates/D.
type dateData struct {
	Date     string
	Row      partitions.Row
	State    string
	Capture  *activities.Capture
	Manifest *activities.Manifest
	// RunURL is the Web UI page of the run that wrote the manifest (or the
	// capture record, before processing).
	RunURL string
	// LatestRun is the date's latest pipeline run, when Temporal answered.
	LatestRun *runLine
	// Quality is the report by entity and reason, largest first.
	Quality []qualityLine
	// RawObjects are the manifest's, else the capture record's.
	RawObjects []activities.RawObject
	RawBytes   int64
	Curated    []keyList
	Marts      []martLine
	Stages     []stageLine
}

type qualityLine struct {
	Entity, Reason string
	Count, RowsIn  int
}

type keyList struct {
	Table string
	Rows  int
	Keys  []string
}

type martLine struct {
	Name, Skipped string
	Rows          int64
	HasRows       bool
}

type stageLine struct {
	Stage string
	Took  time.Duration
}

func (c *Console) datePage(w http.ResponseWriter, r *http.Request) {
	date := r.PathValue("date")
	if _, err := time.Parse(workflows.DateLayout, date); err != nil || lake.CheckDate(date) != nil {
		c.fail(w, r, http.StatusBadRequest, "Bad date",
			fmt.Sprintf("%q is not a date: the date pages are /dates/YYYY-MM-DD, such as /dates/%s.", date, c.o.Now().UTC().Format(workflows.DateLayout)))
		return
	}
	d, err := c.lake.One(r.Context(), date)
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "Lake not readable", fmt.Sprintf("The lake at %s could not be listed: %v", c.o.LakeURL, err))
		return
	}
	if d.Row.Error != "" {
		c.fail(w, r, http.StatusInternalServerError, "Date not readable", d.Row.Error)
		return
	}
	p := page{Name: "date", Title: date}
	day, _ := time.Parse(workflows.DateLayout, date)
	latest, err := c.pipelineRuns(r.Context(), day, day)
	if err != nil {
		p.Banners = append(p.Banners, c.temporalBanner(err, "the date's latest run is"))
	}
	run, hasRun := latest[date]
	if d.Row.Gap() && !hasRun {
		c.fail(w, r, http.StatusNotFound, "Date not in the lake",
			fmt.Sprintf("The lake at %s holds no capture record and no manifest of %s, and Temporal knows no run of it: the date was never captured. The partitions page lists the dates it holds.", c.o.LakeURL, date))
		return
	}
	data := dateData{Date: date, Row: d.Row, Capture: d.Capture, Manifest: d.Manifest,
		RunURL: c.runURL(d.Row.WorkflowID, d.Row.RunID)}
	if hasRun {
		data.LatestRun = &runLine{Run: run, URL: c.runURL(run.WorkflowID, run.RunID)}
		if failedStatus(run.Status) {
			c.withTemporal(r.Context(), func(ctx context.Context, tc client.Client) error {
				errorOf(ctx, tc, data.LatestRun)
				return nil
			})
		}
	}
	data.State = dateState(d.Row, data.latestRun())
	if d.Capture != nil {
		data.RawObjects = d.Capture.Objects
	}
	if m := d.Manifest; m != nil {
		data.RawObjects = m.RawObjects
		data.Quality = qualityLines(m.Clean.Report)
		data.Curated = curatedLists(m)
		data.Marts = martLines(m.Aggregate)
		for s, ms := range m.StageMillis {
			data.Stages = append(data.Stages, stageLine{Stage: s, Took: time.Duration(ms) * time.Millisecond})
		}
		sort.Slice(data.Stages, func(i, j int) bool { return data.Stages[i].Took > data.Stages[j].Took })
	}
	for _, o := range data.RawObjects {
		data.RawBytes += o.Size
	}
	p.Data = data
	c.render(w, r, http.StatusOK, "date", p)
}

func qualityLines(q contract.QualityReport) []qualityLine {
	var lines []qualityLine
	for entity, reasons := range q.Rejected {
		for reason, n := range reasons {
			lines = append(lines, qualityLine{Entity: entity, Reason: reason, Count: n, RowsIn: q.RowsIn[entity]})
		}
	}
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].Count != lines[j].Count {
			return lines[i].Count > lines[j].Count
		}
		return lines[i].Entity+lines[i].Reason < lines[j].Entity+lines[j].Reason
	})
	return lines
}

func curatedLists(m *activities.Manifest) []keyList {
	var lists []keyList
	for table, keys := range m.Clean.CuratedKeys {
		lists = append(lists, keyList{Table: table, Rows: m.Clean.Report.RowsOut[table], Keys: keys})
	}
	sort.Slice(lists, func(i, j int) bool { return lists[i].Table < lists[j].Table })
	return lists
}

func martLines(a contract.AggregateResult) []martLine {
	var lines []martLine
	for name, n := range a.Rows {
		lines = append(lines, martLine{Name: name, Rows: n, HasRows: true})
	}
	for name, why := range a.Skipped {
		lines = append(lines, martLine{Name: name, Skipped: why})
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].Name < lines[j].Name })
	return lines
}

func (d dateData) latestRun() *runs.Run {
	if d.LatestRun == nil {
		return nil
	}
	return &d.LatestRun.Run
}
