package console

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/partitions"
)

// qualityPageDays is how many dates /quality shows at once, as the grid does.
const qualityPageDays = 30

// qualityDay is one date's row of /quality: its rejects by reason, summed
// over the raw entities, from the date's run manifest.
type qualityDay struct {
	Date      string
	Processed bool
	// Error is why the date's manifest could not be read.
	Error    string
	Checked  int
	Rejected int
	ByReason map[string]int
}

// qualityData is the content of /quality.
type qualityData struct {
	Chart template.HTML
	// Reasons are the table's columns, most rejects first.
	Reasons []string
	// Days are newest first.
	Days         []qualityDay
	From, To     string
	Older, Newer string // the before= of the neighbouring pages; "" when none
	// Empty: the lake has no processed date.
	Empty bool
}

// qualityPage is /quality: rejects per reason per date as a chart and a
// table, for the 30 dates ending at the newest processed one, paged back
// with ?before=YYYY-MM-DD.
func (c *Console) qualityPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	before := r.URL.Query().Get("before")
	if before != "" {
		if err := lake.CheckDate(before); err != nil {
			c.fail(w, r, http.StatusBadRequest, "Bad date", fmt.Sprintf("?before=%q is not a date: give YYYY-MM-DD, such as %s.", before, c.o.Now().UTC().Format(time.DateOnly)))
			return
		}
	}
	processed, err := c.processedDates(ctx)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "Lake unreadable", fmt.Sprintf("Listing the manifests of %s failed: %v", c.o.LakeURL, err))
		return
	}
	data := qualityData{}
	// The page ends at the newest processed date before ?before.
	end := ""
	for _, d := range processed {
		if before == "" || d < before {
			end = d
		}
	}
	if end == "" {
		data.Empty = true
		c.render(w, r, http.StatusOK, "quality", page{Name: "quality", Title: "Quality", Data: data})
		return
	}
	to, _ := time.Parse(time.DateOnly, end)
	// A lake younger than a page starts at its first date.
	first, _ := time.Parse(time.DateOnly, processed[0])
	from := to.AddDate(0, 0, -(qualityPageDays - 1))
	if from.Before(first) {
		from = first
	}
	data.From, data.To = from.Format(time.DateOnly), end
	dates, err := c.lake.Range(ctx, from, to)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "Lake unreadable", fmt.Sprintf("Reading the manifests of %s .. %s failed: %v", data.From, data.To, err))
		return
	}
	data.Days = qualityDays(dates)
	data.Reasons = reasonsByCount(data.Days)
	if processed[0] < data.From {
		data.Older = data.From
	}
	if processed[len(processed)-1] > end {
		data.Newer = to.AddDate(0, 0, qualityPageDays+1).Format(time.DateOnly)
	}
	data.Chart = rejectsChart(data.Days, data.Reasons).render()
	c.render(w, r, http.StatusOK, "quality", page{Name: "quality", Title: "Quality", Data: data})
}

// qualityDays sums each date's rejects by reason over the entities.
func qualityDays(dates []partitions.Date) []qualityDay {
	days := make([]qualityDay, 0, len(dates))
	for _, d := range dates {
		day := qualityDay{Date: d.Row.Date, Error: d.Row.Error, ByReason: map[string]int{}}
		if m := d.Manifest; m != nil {
			day.Processed = true
			rep := m.Clean.Report
			for _, n := range rep.RowsIn {
				day.Checked += n
			}
			for _, reasons := range rep.Rejected {
				for reason, n := range reasons {
					day.ByReason[reason] += n
					day.Rejected += n
				}
			}
		}
		days = append(days, day)
	}
	return days
}

// reasonsByCount lists the reasons of days, most rejects first.
func reasonsByCount(days []qualityDay) []string {
	total := map[string]int{}
	for _, d := range days {
		for reason, n := range d.ByReason {
			total[reason] += n
		}
	}
	return slices.SortedFunc(maps.Keys(total), func(a, b string) int {
		return cmp.Or(cmp.Compare(total[b], total[a]), cmp.Compare(a, b))
	})
}

// rejectsChart is the chart of /quality: a bar per date, oldest left,
// stacked by reason, each linking to the date's quarantine.
func rejectsChart(days []qualityDay, reasons []string) barChart {
	chart := barChart{
		ID: "rejects-chart", Title: "Rejected records per reason per date",
		Desc:   fmt.Sprintf("Stacked bars of the records the clean stage rejected, by reason, for each date from %s to %s; dates without bars have no rejects or were not processed. The table below has the numbers.", days[len(days)-1].Date, days[0].Date),
		XLabel: "date", YLabel: "rejected records", CategoryAttr: "data-date",
		Stacks: reasons, Counts: map[string]map[string]int{},
		Href: func(date string) string { return "/quality/" + date },
	}
	for _, d := range slices.Backward(days) {
		chart.Categories = append(chart.Categories, d.Date)
		chart.Counts[d.Date] = d.ByReason
	}
	return chart
}

// qualityDateData is the content of /quality/D.
type qualityDateData struct {
	Date string
	// Rejected is the manifest's count by entity and reason.
	Rejected map[string]map[string]int
	Page     quarantinePage
	Prev     int // page numbers of the neighbours; 0 when none
	Next     int
}

// qualityDatePage is /quality/D: the date's quarantined records, 50 a
// page (?page=N), with their reason and source object.
func (c *Console) qualityDatePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	date := r.PathValue("date")
	if err := lake.CheckDate(date); err != nil {
		c.fail(w, r, http.StatusBadRequest, "Bad date", fmt.Sprintf("%q is not a date: the page of a date is /quality/YYYY-MM-DD.", date))
		return
	}
	n := 1
	if p := r.URL.Query().Get("page"); p != "" {
		var err error
		if n, err = strconv.Atoi(p); err != nil || n < 1 {
			c.fail(w, r, http.StatusBadRequest, "Bad page", fmt.Sprintf("?page=%q is not a page number: pages count from 1.", p))
			return
		}
	}
	m, err := c.manifest(ctx, date)
	if errors.Is(err, lake.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, "Date not processed", fmt.Sprintf("%s has no run manifest, so no quality report or quarantine: see / for the dates the lake holds.", date))
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "Manifest unreadable", err.Error())
		return
	}
	idx, err := c.quarantine.get(ctx, c.o.Lake, date, manifestStamp(m), m.Clean.Report.QuarantineKeys)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "Quarantine unreadable",
			fmt.Sprintf("The quarantine of %s does not read: %v. Reprocess the date to rewrite it: starter backfill --from %s --to %s --rerun", date, err, date, date))
		return
	}
	p, ok, err := idx.page(ctx, c.o.Lake, n)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "Quarantine unreadable", err.Error())
		return
	}
	if !ok {
		c.fail(w, r, http.StatusNotFound, "No such page", fmt.Sprintf("The quarantine of %s has %d records in %d pages; page %d is beyond the last.", date, idx.total, idx.pages(), n))
		return
	}
	data := qualityDateData{Date: date, Rejected: m.Clean.Report.Rejected, Page: p}
	if n > 1 {
		data.Prev = n - 1
	}
	if n < p.Pages {
		data.Next = n + 1
	}
	c.render(w, r, http.StatusOK, "quality-date", page{Name: "quality-date", Title: "Quarantine of " + date, Data: data})
}

// manifestStamp names one manifest of a date: a new run of the date
// writes another one.
func manifestStamp(m activities.Manifest) string {
	return m.WorkflowID + "\x00" + m.RunID + "\x00" + m.WrittenAt
}
