package console

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The charts are inline SVG written here, so a page needs no script and
// loads nothing: a line chart of values over dates (lineChart) and a
// stacked bar chart of counts per category (barChart). Both carry a
// <title> and <desc>, axis labels, and a <title> on every mark for the
// reader who hovers or uses a screen reader.

// Plot geometry in SVG user units; the svg scales to its container.
const (
	chartWidth   = 720
	chartHeight  = 260
	marginLeft   = 64
	marginRight  = 40 // room for half of the last date label, centred on its tick
	marginTop    = 16
	marginBottom = 52
	plotWidth    = chartWidth - marginLeft - marginRight
	plotHeight   = chartHeight - marginTop - marginBottom
	yTicks       = 5
	maxXLabels   = 8
)

// palette colours the stacks of a bar chart in order; chosen to stay
// distinguishable for the common colour-vision deficiencies.
var palette = []string{
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
}

// lineChart is one series of values over dates. The x axis is calendar
// time from the first to the last of Dates; a point is drawn for every
// date of Values, and the line joins only points of consecutive days, so a
// date without a value is a gap, never a zero.
type lineChart struct {
	ID     string // id of the <svg>
	Title  string
	Desc   string
	YLabel string
	// Dates is the x axis: the dates the series could have a value on
	// (every date of the lake), YYYY-MM-DD, oldest first.
	Dates []string
	// Values holds the dates that have a value.
	Values map[string]float64
	// YMin and YMax fix the y domain (popularity is 0–100); nil takes it
	// from the values.
	YMin, YMax *float64
}

// points returns the dates of Dates that have a value, in order.
func (c lineChart) points() []string {
	var out []string
	for _, d := range c.Dates {
		if _, ok := c.Values[d]; ok {
			out = append(out, d)
		}
	}
	return out
}

// render writes the chart as an <svg> element with data-points, the
// number of points drawn.
func (c lineChart) render() template.HTML {
	pts := c.points()
	var b strings.Builder
	openSVG(&b, c.ID, c.Title, c.Desc, fmt.Sprintf(`data-points="%d"`, len(pts)))
	days, first, ok := dayAxis(c.Dates)
	if len(pts) == 0 || !ok {
		emptyPlot(&b, "No values for these dates.")
		b.WriteString("</svg>")
		return template.HTML(b.String())
	}

	lo, hi := math.Inf(1), math.Inf(-1)
	for _, d := range pts {
		lo, hi = math.Min(lo, c.Values[d]), math.Max(hi, c.Values[d])
	}
	// A fixed end holds unless a value lies beyond it.
	fixedLo, fixedHi := c.YMin != nil && *c.YMin <= lo, c.YMax != nil && *c.YMax >= hi
	if fixedLo {
		lo = *c.YMin
	}
	if fixedHi {
		hi = *c.YMax
	}
	y := newLinearScale(lo, hi, fixedLo, fixedHi)
	x := func(date string) float64 {
		return marginLeft + float64(dayIndex(first, date))*float64(plotWidth)/float64(max(days-1, 1))
	}
	if days == 1 {
		x = func(string) float64 { return marginLeft + plotWidth/2 }
	}

	y.axis(&b, c.YLabel)
	dateAxis(&b, c.Dates, x)

	// The line: a new subpath after every missing day.
	var path strings.Builder
	prev := -2
	for _, d := range pts {
		i := dayIndex(first, d)
		cmd := "L"
		if i != prev+1 {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%s %s ", cmd, px(x(d)), px(y.at(c.Values[d])))
		prev = i
	}
	fmt.Fprintf(&b, `<path class="line" d="%s" fill="none" stroke="%s" stroke-width="2"/>`,
		strings.TrimSpace(path.String()), palette[0])
	for _, d := range pts {
		v := c.Values[d]
		fmt.Fprintf(&b, `<circle class="point" data-date="%s" data-value="%s" cx="%s" cy="%s" r="3.5" fill="%s"><title>%s: %s</title></circle>`,
			esc(d), num(v), px(x(d)), px(y.at(v)), palette[0], esc(d), esc(exactNumber(v)))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// barChart is counts per category (dates, years) stacked by a second key
// (reject reasons, release types). Every category gets a slot, so a
// category without counts shows as an empty slot.
type barChart struct {
	ID     string
	Title  string
	Desc   string
	XLabel string
	YLabel string
	// CategoryAttr names the data attribute carrying a bar's category:
	// data-date, data-year.
	CategoryAttr string
	Categories   []string
	// Stacks are the segment keys, bottom first; each has a legend entry.
	Stacks []string
	Counts map[string]map[string]int // category → stack → count
	// Href, when set, links each bar to a page of its category.
	Href func(category string) string
	// Empty is what the chart says when it has no category.
	Empty string
}

func (c barChart) render() template.HTML {
	var b strings.Builder
	attr := c.CategoryAttr
	if attr == "" {
		attr = "data-category"
	}
	total := 0
	top := 0
	for _, cat := range c.Categories {
		sum := 0
		for _, s := range c.Stacks {
			sum += c.Counts[cat][s]
		}
		total += sum
		top = max(top, sum)
	}
	openSVG(&b, c.ID, c.Title, c.Desc, fmt.Sprintf(`data-total="%d"`, total))
	if len(c.Categories) == 0 {
		emptyPlot(&b, cmp.Or(c.Empty, "Nothing to show."))
		b.WriteString("</svg>")
		return template.HTML(b.String())
	}
	y := countScale(top)
	y.axis(&b, c.YLabel)

	slot := float64(plotWidth) / float64(len(c.Categories))
	barWidth := math.Max(1, slot*0.7)
	x := func(i int) float64 { return marginLeft + slot*float64(i) + (slot-barWidth)/2 }
	categoryAxis(&b, c.Categories, c.XLabel, func(i int) float64 { return x(i) + barWidth/2 })

	for i, cat := range c.Categories {
		if c.Href != nil {
			fmt.Fprintf(&b, `<a href="%s">`, esc(c.Href(cat)))
		}
		base := 0
		for si, s := range c.Stacks {
			n := c.Counts[cat][s]
			if n == 0 {
				continue
			}
			y0, y1 := y.at(float64(base)), y.at(float64(base+n))
			fmt.Fprintf(&b, `<rect class="bar" %s="%s" data-stack="%s" data-count="%d" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s, %s: %s</title></rect>`,
				attr, esc(cat), esc(s), n, px(x(i)), px(y1), px(barWidth), px(y0-y1),
				palette[si%len(palette)], esc(cat), esc(s), esc(exactNumber(float64(n))))
			base += n
		}
		if c.Href != nil {
			b.WriteString(`</a>`)
		}
	}
	if total == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" text-anchor="middle">None</text>`,
			marginLeft+plotWidth/2, marginTop+plotHeight/2)
	}
	legend(&b, c.Stacks)
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// openSVG writes the <svg> start tag with its accessible name and
// description.
func openSVG(b *strings.Builder, id, title, desc, attrs string) {
	fmt.Fprintf(b, `<svg id="%s" class="chart" %s viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-title %s-desc" xmlns="http://www.w3.org/2000/svg">`,
		esc(id), attrs, chartWidth, chartHeight, esc(id), esc(id))
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
}

func emptyPlot(b *strings.Builder, msg string) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`, marginLeft, marginTop, plotWidth, plotHeight)
	fmt.Fprintf(b, `<text class="empty" x="%d" y="%d" text-anchor="middle">%s</text>`, marginLeft+plotWidth/2, marginTop+plotHeight/2, esc(msg))
}

// legend writes one swatch per stack along the bottom edge.
func legend(b *strings.Builder, stacks []string) {
	if len(stacks) == 0 {
		return
	}
	b.WriteString(`<g class="legend">`)
	x := float64(marginLeft)
	y := float64(chartHeight - 10)
	for i, s := range stacks {
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="10" height="10" fill="%s"/><text x="%s" y="%s" font-size="11">%s</text>`,
			px(x), px(y-9), palette[i%len(palette)], px(x+14), px(y), esc(s))
		x += 24 + 6.5*float64(len(s))
	}
	b.WriteString(`</g>`)
}

// linearScale maps values of [lo, hi] to the plot's height, bottom up,
// with ticks at round numbers.
type linearScale struct {
	lo, hi, step float64
}

// newLinearScale widens [lo, hi] to round ticks; an end that is fixed
// stays where it is.
func newLinearScale(lo, hi float64, fixedLo, fixedHi bool) linearScale {
	if hi <= lo {
		// One value: give it room on both sides (above only from 0).
		pad := math.Max(math.Abs(lo)*0.1, 1)
		if !fixedLo {
			lo = math.Max(lo-pad, math.Min(lo, 0))
		}
		if !fixedHi {
			hi += pad
		}
	}
	step := niceStep((hi - lo) / yTicks)
	if !fixedLo {
		lo = math.Floor(lo/step) * step
	}
	if !fixedHi {
		hi = math.Ceil(hi/step) * step
	}
	return linearScale{lo: lo, hi: hi, step: step}
}

// countScale is a scale from 0 to at least top in whole-number ticks:
// there is no half a record.
func countScale(top int) linearScale {
	step := math.Max(1, niceStep(float64(top)/yTicks))
	return linearScale{lo: 0, hi: math.Max(1, math.Ceil(float64(top)/step)) * step, step: step}
}

func (s linearScale) at(v float64) float64 {
	return marginTop + plotHeight - (v-s.lo)/(s.hi-s.lo)*plotHeight
}

// ticks are the round values from lo to hi.
func (s linearScale) ticks() []float64 {
	var out []float64
	start := math.Ceil(s.lo/s.step) * s.step
	for i := 0; ; i++ {
		v := start + float64(i)*s.step
		if v > s.hi+s.step*1e-9 {
			break
		}
		out = append(out, v)
	}
	return out
}

// axis draws the y axis with its ticks, grid lines and label.
func (s linearScale) axis(b *strings.Builder, label string) {
	b.WriteString(`<g class="axis y-axis">`)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, marginLeft, marginTop, marginLeft, marginTop+plotHeight)
	for _, v := range s.ticks() {
		y := px(s.at(v))
		fmt.Fprintf(b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#e4e4e4"/>`, marginLeft, y, marginLeft+plotWidth, y)
		fmt.Fprintf(b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle" font-size="11">%s</text>`, marginLeft-6, y, esc(tickLabel(v, s.step)))
	}
	fmt.Fprintf(b, `<text class="axis-label" transform="translate(14 %d) rotate(-90)" text-anchor="middle" font-size="12">%s</text>`,
		marginTop+plotHeight/2, esc(label))
	b.WriteString(`</g>`)
}

// dateAxis draws the x axis of a line chart with up to maxXLabels dates.
func dateAxis(b *strings.Builder, dates []string, x func(string) float64) {
	b.WriteString(`<g class="axis x-axis">`)
	base := marginTop + plotHeight
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, marginLeft, base, marginLeft+plotWidth, base)
	for _, i := range labelIndexes(len(dates)) {
		xi := px(x(dates[i]))
		fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#888"/>`, xi, base, xi, base+4)
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="middle" font-size="11">%s</text>`, xi, base+17, esc(dates[i]))
	}
	fmt.Fprintf(b, `<text class="axis-label" x="%d" y="%d" text-anchor="middle" font-size="12">date</text>`, marginLeft+plotWidth/2, base+34)
	b.WriteString(`</g>`)
}

// categoryAxis draws the x axis of a bar chart, labelling up to
// maxXLabels categories.
func categoryAxis(b *strings.Builder, cats []string, label string, x func(int) float64) {
	b.WriteString(`<g class="axis x-axis">`)
	base := marginTop + plotHeight
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, marginLeft, base, marginLeft+plotWidth, base)
	for _, i := range labelIndexes(len(cats)) {
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="middle" font-size="11">%s</text>`, px(x(i)), base+15, esc(cats[i]))
	}
	fmt.Fprintf(b, `<text class="axis-label" x="%d" y="%d" text-anchor="middle" font-size="12">%s</text>`, marginLeft+plotWidth/2, base+30, esc(label))
	b.WriteString(`</g>`)
}

// labelIndexes picks up to maxXLabels evenly spread indexes of n, the
// first and the last included.
func labelIndexes(n int) []int {
	if n <= maxXLabels {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, 0, maxXLabels)
	for k := range maxXLabels {
		out = append(out, int(math.Round(float64(k)*float64(n-1)/float64(maxXLabels-1))))
	}
	return out
}

// dayAxis returns the number of calendar days from the first to the last
// date and the first; ok is false when a date does not parse.
func dayAxis(dates []string) (days int, first time.Time, ok bool) {
	if len(dates) == 0 {
		return 0, time.Time{}, false
	}
	first, err := time.Parse(time.DateOnly, dates[0])
	if err != nil {
		return 0, time.Time{}, false
	}
	last, err := time.Parse(time.DateOnly, dates[len(dates)-1])
	if err != nil || last.Before(first) {
		return 0, time.Time{}, false
	}
	return int(last.Sub(first).Hours()/24) + 1, first, true
}

// dayIndex is the number of days from first to date; -1 when date does
// not parse.
func dayIndex(first time.Time, date string) int {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return -1
	}
	return int(math.Round(t.Sub(first).Hours() / 24))
}

// num formats a value exactly and compactly.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// px formats a coordinate to a hundredth of a unit, far below a pixel.
func px(v float64) string { return num(math.Round(v*100) / 100) }

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*pow {
			return m * pow
		}
	}
	return 10 * pow
}

// tickLabel is a tick's value rounded to its step's precision: 850, 12k,
// 1.5M, 0.25.
func tickLabel(v, step float64) string {
	unit, suffix := 1.0, ""
	switch a := math.Max(math.Abs(v), step); {
	case a >= 1e9:
		unit, suffix = 1e9, "B"
	case a >= 1e6:
		unit, suffix = 1e6, "M"
	case a >= 1e4:
		unit, suffix = 1e3, "k"
	}
	decimals := max(0, int(-math.Floor(math.Log10(step/unit)+1e-9)))
	return strconv.FormatFloat(v/unit, 'f', decimals, 64) + suffix
}

// exactNumber is a value as a reader wants it: 1,234,567 or 0.25.
func exactNumber(v float64) string {
	if v != math.Trunc(v) || math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return thousands(int64(v))
}

// thousands writes n with comma separators: 1,234,567.
func thousands(n int64) string { return englishNumbers.Sprintf("%d", n) }

var englishNumbers = message.NewPrinter(language.English)

func esc(s string) string { return template.HTMLEscapeString(s) }

func init() {
	// count writes a count of records or rows with thousands separators.
	templateFuncs["count"] = func(n int) string { return thousands(int64(n)) }
	templateFuncs["count64"] = func(n int64) string { return thousands(n) }
	// duration writes a track length in milliseconds as m:ss.
	templateFuncs["duration"] = func(ms int) string { return fmt.Sprintf("%d:%02d", ms/60000, ms/1000%60) }
	// add sums its arguments: positions and colspans in the templates.
	templateFuncs["add"] = func(ns ...int) int {
		sum := 0
		for _, n := range ns {
			sum += n
		}
		return sum
	}
}
