package console

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
)

// section returns the part of body from the element opening with start
// to its closing tag end, or fails.
func section(t *testing.T, body, start, end string) string {
	t.Helper()
	i := strings.Index(body, start)
	if i < 0 {
		t.Fatalf("page has no %s:\n%s", start, body)
	}
	j := strings.Index(body[i:], end)
	if j < 0 {
		t.Fatalf("%s is not closed by %s", start, end)
	}
	return body[i : i+j+len(end)]
}

// okPage gets path from c and returns the page, failing unless it is a
// 200 with the data-page marker name.
func okPage(t *testing.T, c *Console, path, name string) string {
	t.Helper()
	w := get(t, c, "GET", path)
	if w.Code != 200 {
		t.Fatalf("GET %s: %d\n%s", path, w.Code, w.Body.String())
	}
	body := w.Body.String()
	wantMarker(t, body, `<main id="page" data-page="`+name+`">`)
	return body
}

func wantMarker(t *testing.T, body, marker string) {
	t.Helper()
	if !strings.Contains(body, marker) {
		t.Errorf("page lacks %s", marker)
	}
}

var (
	reasonCell = regexp.MustCompile(`<td class="num" data-reason="([a-z_]+)">([0-9,]+)</td>`)
	rejectBar  = regexp.MustCompile(`<rect class="bar" data-date="([0-9-]+)" data-stack="([a-z_]+)" data-count="([0-9]+)"`)
	tableRow   = regexp.MustCompile(`(?s)<tr data-date="([0-9-]+)"[^>]*>(.*?)</tr>`)
)

func atoiCount(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		t.Fatalf("count %q: %v", s, err)
	}
	return n
}

// manifestReasons sums a date's manifest rejects by reason, as the page
// should.
func manifestReasons(t *testing.T, store lake.Store, date string) map[string]int {
	t.Helper()
	m, err := activities.ReadManifest(context.Background(), store, date)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, reasons := range m.Clean.Report.Rejected {
		for r, n := range reasons {
			out[r] += n
		}
	}
	return out
}

func TestQualityPages(t *testing.T) {
	l := newPipelineLake(t, "extended")
	// 2026-11-03 is never processed: a gap in the chart and the table.
	l.run(t, "2026-11-01", l.serving, badArtists("2026-11-01", 2))
	l.run(t, "2026-11-02", l.serving, nil)
	l.run(t, "2026-11-04", l.serving, badArtists("2026-11-04", 60))
	c := l.console(t, l.serving, l.duck)

	t.Run("rejects per reason per date are the manifests'", func(t *testing.T) {
		body := okPage(t, c, "/quality", "quality")
		chart := section(t, body, `<svg id="rejects-chart"`, `</svg>`)
		table := section(t, body, `<table id="quality-by-reason"`, `</table>`)

		bars := map[string]map[string]int{}
		for _, m := range rejectBar.FindAllStringSubmatch(chart, -1) {
			if bars[m[1]] == nil {
				bars[m[1]] = map[string]int{}
			}
			bars[m[1]][m[2]] = atoiCount(t, m[3])
		}
		rows := map[string]string{}
		for _, m := range tableRow.FindAllStringSubmatch(table, -1) {
			rows[m[1]] = m[2]
		}
		for _, date := range []string{"2026-11-01", "2026-11-02", "2026-11-04"} {
			want := manifestReasons(t, l.store, date)
			total := 0
			for _, n := range want {
				total += n
			}
			if date != "2026-11-02" && (want[curate.ReasonInvalidID] == 0 || want[curate.ReasonMissingField] == 0) {
				t.Fatalf("%s: the clean stage rejected %v, want invalid_id and missing_field", date, want)
			}
			cells := map[string]int{}
			for _, m := range reasonCell.FindAllStringSubmatch(rows[date], -1) {
				if n := atoiCount(t, m[2]); n > 0 || m[1] == "total" {
					cells[m[1]] = n
				}
			}
			if cells["total"] != total {
				t.Errorf("%s: table total %d, manifest %d", date, cells["total"], total)
			}
			delete(cells, "total")
			if fmt.Sprint(cells) != fmt.Sprint(want) {
				t.Errorf("%s: table by reason %v, manifest %v", date, cells, want)
			}
			if got := bars[date]; fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("%s: chart bars %v, manifest %v", date, got, want)
			}
		}
		if !strings.Contains(rows["2026-11-03"], "not processed") {
			t.Errorf("2026-11-03 row = %q, want not processed", rows["2026-11-03"])
		}
		if _, ok := bars["2026-11-03"]; ok {
			t.Error("the date never processed has bars")
		}
	})

	t.Run("quarantine pages", func(t *testing.T) {
		body := okPage(t, c, "/quality/2026-11-04", "quality-date")
		table := section(t, body, `<table id="quarantine">`, `</table>`)
		if n := strings.Count(table, "<tr>") - 1; n != quarantinePageSize {
			t.Errorf("page 1 has %d records, want %d", n, quarantinePageSize)
		}
		source := lake.RawKey(curate.EntityArtists, "2026-11-04", 90)
		if !strings.Contains(table, source) || !strings.Contains(table, curate.ReasonInvalidID) {
			t.Errorf("quarantine table lacks the source object %s or the reason", source)
		}
		wantMarker(t, body, `<a id="next-page" href="/quality/2026-11-04?page=2">`)

		total := 0
		for _, n := range manifestReasons(t, l.store, "2026-11-04") {
			total += n
		}
		body = get(t, c, "GET", "/quality/2026-11-04?page=2").Body.String()
		table = section(t, body, `<table id="quarantine">`, `</table>`)
		if n := strings.Count(table, "<tr>") - 1; n != total-quarantinePageSize {
			t.Errorf("page 2 has %d records, want the remaining %d", n, total-quarantinePageSize)
		}
		if strings.Contains(body, `id="next-page"`) {
			t.Error("the last page links to a next page")
		}
		if !strings.Contains(table, curate.ReasonMissingField) {
			t.Error("page 2 lacks the missing_field record, the last one of the object")
		}
	})

	t.Run("paging back", func(t *testing.T) {
		body := get(t, c, "GET", "/quality?before=2026-11-04").Body.String()
		if got := tableRow.FindAllStringSubmatch(section(t, body, `<table id="quality-by-reason"`, `</table>`), -1); len(got) == 0 || got[0][1] != "2026-11-02" {
			t.Errorf("?before=2026-11-04 starts at %v, want 2026-11-02", got)
		}
		wantMarker(t, body, `<a id="newer" href="/quality?before=`)
		body = get(t, c, "GET", "/quality?before=2026-11-01").Body.String()
		wantMarker(t, body, "no processed date")
	})

	t.Run("bad and unknown", func(t *testing.T) {
		for _, tt := range []struct {
			path   string
			status int
			says   string
		}{
			{"/quality?before=yesterday", 400, "YYYY-MM-DD"},
			{"/quality/2026-02-30", 400, "not a date"},
			{"/quality/20261101", 400, "not a date"},
			{"/quality/2026-11-03", 404, "no run manifest"},
			{"/quality/2026-11-04?page=0", 400, "pages count from 1"},
			{"/quality/2026-11-04?page=x", 400, "pages count from 1"},
			{"/quality/2026-11-04?page=3", 404, "beyond the last"},
		} {
			w := get(t, c, "GET", tt.path)
			status, body := w.Code, w.Body.String()
			if status != tt.status || !strings.Contains(body, tt.says) {
				t.Errorf("GET %s: %d, want %d saying %q:\n%s", tt.path, status, tt.status, tt.says, section(t, body, "<main", "</main>"))
			}
		}
		if w := get(t, c, "HEAD", "/quality/2026-11-04"); w.Code != 200 || w.Body.Len() != 0 {
			t.Errorf("HEAD: %d with %d bytes, want 200 and no body", w.Code, w.Body.Len())
		}
		if w := get(t, c, "POST", "/quality"); w.Code != 405 {
			t.Errorf("POST /quality: %d, want 405: the console is read-only", w.Code)
		}
	})
}
