package console

import (
	"encoding/xml"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// svgElement is an element of a rendered chart, parsed back as XML.
type svgElement struct {
	name  string
	attrs map[string]string
	text  string // character data directly inside
}

// parseSVG parses a chart and fails the test when it is not well-formed
// XML (a browser would render a broken page).
func parseSVG(t *testing.T, svg string) []svgElement {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	var out []svgElement
	var stack []int
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			el := svgElement{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				el.attrs[a.Name.Local] = a.Value
			}
			out = append(out, el)
			stack = append(stack, len(out)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				out[stack[len(stack)-1]].text += string(tok)
			}
		}
	}
	return out
}

func elements(els []svgElement, name, class string) []svgElement {
	var out []svgElement
	for _, e := range els {
		if e.name == name && (class == "" || e.attrs["class"] == class) {
			out = append(out, e)
		}
	}
	return out
}

func TestLineChart(t *testing.T) {
	dates := []string{"2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"}
	tests := []struct {
		name   string
		dates  []string
		values map[string]float64
		// wantPoints are the data-date of the circles, in order.
		wantPoints []string
		// wantSubpaths is the number of separate pieces of the line.
		wantSubpaths int
	}{
		{"every date", dates, map[string]float64{
			"2026-11-01": 10, "2026-11-02": 20, "2026-11-03": 30, "2026-11-04": 40, "2026-11-05": 50,
		}, dates, 1},
		{"a gap in the middle", dates, map[string]float64{
			"2026-11-01": 10, "2026-11-02": 20, "2026-11-04": 40, "2026-11-05": 50,
		}, []string{"2026-11-01", "2026-11-02", "2026-11-04", "2026-11-05"}, 2},
		{"a zero is a value, not a gap", dates, map[string]float64{
			"2026-11-01": 0, "2026-11-02": 0, "2026-11-03": 0, "2026-11-04": 0, "2026-11-05": 0,
		}, dates, 1},
		{"alternating values", dates, map[string]float64{
			"2026-11-01": 1, "2026-11-03": 3, "2026-11-05": 5,
		}, []string{"2026-11-01", "2026-11-03", "2026-11-05"}, 3},
		{"a day missing from the lake breaks the line",
			[]string{"2026-11-01", "2026-11-02", "2026-11-04"},
			map[string]float64{"2026-11-01": 1, "2026-11-02": 2, "2026-11-04": 4},
			[]string{"2026-11-01", "2026-11-02", "2026-11-04"}, 2},
		{"one date", []string{"2026-11-03"}, map[string]float64{"2026-11-03": 7}, []string{"2026-11-03"}, 1},
		{"values of dates off the axis are not drawn", []string{"2026-11-01", "2026-11-02"},
			map[string]float64{"2026-11-02": 2, "2026-10-01": 99}, []string{"2026-11-02"}, 1},
		{"no values", dates, map[string]float64{}, nil, 0},
		{"no dates", nil, map[string]float64{"2026-11-01": 1}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := string(lineChart{ID: "c", Title: "Popularity of X", Desc: "by date", YLabel: "popularity",
				Dates: tt.dates, Values: tt.values}.render())
			els := parseSVG(t, svg)
			root := els[0]
			if root.name != "svg" || root.attrs["id"] != "c" {
				t.Fatalf("root = <%s id=%q>, want <svg id=\"c\">", root.name, root.attrs["id"])
			}
			if got, want := root.attrs["data-points"], strconv.Itoa(len(tt.wantPoints)); got != want {
				t.Errorf("data-points = %s, want %s", got, want)
			}
			var got []string
			for _, c := range elements(els, "circle", "point") {
				got = append(got, c.attrs["data-date"])
			}
			if !slices.Equal(got, tt.wantPoints) {
				t.Errorf("points = %v, want %v", got, tt.wantPoints)
			}
			lines := elements(els, "path", "line")
			subpaths := 0
			if len(lines) == 1 {
				subpaths = strings.Count(lines[0].attrs["d"], "M")
			}
			if subpaths != tt.wantSubpaths {
				t.Errorf("line has %d pieces, want %d (%v)", subpaths, tt.wantSubpaths, lines)
			}
			if titles := elements(els, "title", ""); len(titles) == 0 || titles[0].text != "Popularity of X" {
				t.Errorf("first <title> = %v, want the chart's title", titles)
			}
			if root.attrs["role"] != "img" || root.attrs["aria-labelledby"] != "c-title c-desc" {
				t.Errorf("svg role/aria-labelledby = %q/%q", root.attrs["role"], root.attrs["aria-labelledby"])
			}
		})
	}
}

// The points sit where their values are: higher values higher up, on the
// y ticks' scale, and later dates further right.
func TestLineChartScales(t *testing.T) {
	tests := []struct {
		name       string
		values     map[string]float64
		yMin, yMax *float64
		wantTicks  []string // y tick labels, bottom up
	}{
		{"popularity on a fixed 0–100", map[string]float64{"2026-11-01": 40, "2026-11-03": 60}, ptrTo(0.0), ptrTo(100.0),
			[]string{"0", "20", "40", "60", "80", "100"}},
		{"followers in the millions", map[string]float64{"2026-11-01": 1_200_000, "2026-11-03": 2_900_000}, nil, nil,
			[]string{"1.0M", "1.5M", "2.0M", "2.5M", "3.0M"}},
		{"one value", map[string]float64{"2026-11-02": 5}, nil, nil, []string{"4.0", "4.5", "5.0", "5.5", "6.0"}},
		{"values beyond a fixed domain widen it", map[string]float64{"2026-11-01": 120}, ptrTo(0.0), ptrTo(100.0),
			[]string{"0", "50", "100", "150"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dates := []string{"2026-11-01", "2026-11-02", "2026-11-03"}
			els := parseSVG(t, string(lineChart{ID: "c", Dates: dates, Values: tt.values, YMin: tt.yMin, YMax: tt.yMax}.render()))
			var ticks []string
			tickY := map[string]float64{}
			for _, e := range els {
				if e.name == "text" && e.attrs["text-anchor"] == "end" {
					ticks = append(ticks, e.text)
					tickY[e.text] = atof(t, e.attrs["y"])
				}
			}
			if !slices.Equal(ticks, tt.wantTicks) {
				t.Errorf("y ticks = %v, want %v", ticks, tt.wantTicks)
			}
			points := elements(els, "circle", "point")
			for _, p := range points {
				v := tt.values[p.attrs["data-date"]]
				if atof(t, p.attrs["data-value"]) != v {
					t.Errorf("point %s has data-value %s, want %v", p.attrs["data-date"], p.attrs["data-value"], v)
				}
				// On the scale the ticks define.
				lo, hi := tt.wantTicks[0], tt.wantTicks[len(tt.wantTicks)-1]
				loV, hiV := tickValue(t, lo), tickValue(t, hi)
				want := tickY[lo] + (v-loV)/(hiV-loV)*(tickY[hi]-tickY[lo])
				if got := atof(t, p.attrs["cy"]); abs(got-want) > 0.01 {
					t.Errorf("point %s at cy %v, want %v", p.attrs["data-date"], got, want)
				}
			}
			for i := 1; i < len(points); i++ {
				if atof(t, points[i].attrs["cx"]) <= atof(t, points[i-1].attrs["cx"]) {
					t.Errorf("point %d is not right of point %d", i, i-1)
				}
			}
		})
	}
}

func TestLineChartEscapes(t *testing.T) {
	svg := string(lineChart{ID: "c", Title: `<script>alert("x")</script> & co`, Dates: []string{"2026-11-01"},
		Values: map[string]float64{"2026-11-01": 1}}.render())
	if strings.Contains(svg, "<script>") {
		t.Fatalf("title not escaped: %s", svg)
	}
	els := parseSVG(t, svg)
	if got := elements(els, "title", "")[0].text; got != `<script>alert("x")</script> & co` {
		t.Errorf("title reads %q", got)
	}
}

func TestBarChart(t *testing.T) {
	tests := []struct {
		name       string
		categories []string
		stacks     []string
		counts     map[string]map[string]int
		wantBars   int
		wantTotal  string
	}{
		{"stacked", []string{"2026-11-01", "2026-11-02"}, []string{"invalid_id", "missing_field"},
			map[string]map[string]int{"2026-11-01": {"invalid_id": 3, "missing_field": 1}, "2026-11-02": {"missing_field": 2}},
			3, "6"},
		{"a category without counts is an empty slot", []string{"2020", "2021", "2022"}, []string{"album"},
			map[string]map[string]int{"2020": {"album": 1}, "2022": {"album": 2}}, 2, "3"},
		{"no rejects at all", []string{"2026-11-01"}, nil, nil, 0, "0"},
		{"no categories", nil, nil, nil, 0, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := string(barChart{ID: "b", Title: "t", CategoryAttr: "data-date", Categories: tt.categories,
				Stacks: tt.stacks, Counts: tt.counts, Href: func(c string) string { return "/quality/" + c }}.render())
			els := parseSVG(t, svg)
			if got := els[0].attrs["data-total"]; got != tt.wantTotal {
				t.Errorf("data-total = %s, want %s", got, tt.wantTotal)
			}
			bars := elements(els, "rect", "bar")
			if len(bars) != tt.wantBars {
				t.Fatalf("%d bars, want %d", len(bars), tt.wantBars)
			}
			// Segments of a category stack: each starts where the one
			// below ends, and heights are proportional to the counts.
			perUnit := 0.0
			bottom := map[string]float64{}
			for _, bar := range bars {
				cat := bar.attrs["data-date"]
				n := atof(t, bar.attrs["data-count"])
				if want := float64(tt.counts[cat][bar.attrs["data-stack"]]); n != want {
					t.Errorf("bar %s/%s count %v, want %v", cat, bar.attrs["data-stack"], n, want)
				}
				h := atof(t, bar.attrs["height"])
				if perUnit == 0 {
					perUnit = h / n
				} else if abs(h/n-perUnit) > 0.01 {
					t.Errorf("bar %s/%s: height %v for %v, not proportional (%v per unit)", cat, bar.attrs["data-stack"], h, n, perUnit)
				}
				y := atof(t, bar.attrs["y"])
				if b, ok := bottom[cat]; ok && abs(y+h-b) > 0.01 {
					t.Errorf("bar %s/%s ends at %v, want on the segment below at %v", cat, bar.attrs["data-stack"], y+h, b)
				}
				bottom[cat] = y
			}
			links := elements(els, "a", "")
			if len(tt.categories) > 0 && len(links) != len(tt.categories) {
				t.Errorf("%d links, want one per category (%d)", len(links), len(tt.categories))
			}
		})
	}
}

func TestNiceStepAndLabels(t *testing.T) {
	steps := map[float64]float64{0.3: 0.5, 1: 1, 1.2: 2, 3: 5, 7: 10, 4200: 5000, 0: 1}
	for raw, want := range steps {
		if got := niceStep(raw); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", raw, got, want)
		}
	}
	labels := []struct {
		v, step float64
		want    string
	}{{0, 20, "0"}, {0.30000000000000004, 0.1, "0.3"}, {12000, 2000, "12k"}, {1_500_000, 500_000, "1.5M"}, {2e9, 1e9, "2B"}}
	for _, l := range labels {
		if got := tickLabel(l.v, l.step); got != l.want {
			t.Errorf("tickLabel(%v, %v) = %q, want %q", l.v, l.step, got, l.want)
		}
	}
	for top, want := range map[int][]float64{0: {0, 1}, 2: {0, 1, 2}, 7: {0, 2, 4, 6, 8}, 61: {0, 20, 40, 60, 80}} {
		if got := countScale(top).ticks(); !slices.Equal(got, want) {
			t.Errorf("countScale(%d) ticks %v, want %v", top, got, want)
		}
	}
	for v, want := range map[float64]string{1234567: "1,234,567", -1234: "-1,234", 999: "999", 0.25: "0.25"} {
		if got := exactNumber(v); got != want {
			t.Errorf("exactNumber(%v) = %q, want %q", v, got, want)
		}
	}
}

var numberRE = regexp.MustCompile(`^-?[0-9.]+`)

// tickValue reads a tick label back as a number.
func tickValue(t *testing.T, label string) float64 {
	t.Helper()
	v := atof(t, numberRE.FindString(label))
	switch {
	case strings.HasSuffix(label, "k"):
		v *= 1e3
	case strings.HasSuffix(label, "M"):
		v *= 1e6
	case strings.HasSuffix(label, "B"):
		v *= 1e9
	}
	return v
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
