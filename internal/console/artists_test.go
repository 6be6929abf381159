package console

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

var (
	pointRE   = regexp.MustCompile(`<circle class="point" data-date="([0-9-]+)" data-value="([0-9.]+)"`)
	resultRE  = regexp.MustCompile(`<li><a href="/artists/([0-9A-Za-z]{22})">([^<]*)</a>`)
	similarRE = regexp.MustCompile(`<li><a href="/artists/([0-9A-Za-z]{22})">`)
	yearBarRE = regexp.MustCompile(`<rect class="bar" data-year="([0-9]{4})" data-stack="([a-z]+)" data-count="([0-9]+)"`)
)

// chartPoints returns the data-points of the chart id and its points'
// dates and values.
func chartPoints(t *testing.T, body, id string) (declared string, points map[string]string) {
	t.Helper()
	svg := section(t, body, `<svg id="`+id+`"`, `</svg>`)
	m := regexp.MustCompile(`data-points="([0-9]+)"`).FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("%s has no data-points", id)
	}
	points = map[string]string{}
	for _, p := range pointRE.FindAllStringSubmatch(svg, -1) {
		if _, dup := points[p[1]]; dup {
			t.Errorf("%s: two points on %s", id, p[1])
		}
		points[p[1]] = p[2]
	}
	return m[1], points
}

// lakeValues reads the artist's popularity and followers per date from
// the curated artists table with SQL of its own.
func lakeValues(t *testing.T, l *pipelineLake, id string) (popularity, followers map[string]string) {
	t.Helper()
	root, _ := l.store.LocalDir()
	res, err := l.duck.Query(context.Background(), root,
		"SELECT dt, CAST(popularity AS VARCHAR), CAST(followers AS VARCHAR) FROM artists WHERE artist_id = '"+id+"'")
	if err != nil {
		t.Fatal(err)
	}
	popularity, followers = map[string]string{}, map[string]string{}
	for _, r := range res.Rows {
		if r[1] != nil {
			popularity[r[0].(string)] = r[1].(string)
		}
		if r[2] != nil {
			followers[r[0].(string)] = r[2].(string)
		}
	}
	return popularity, followers
}

func TestArtistPagesExtended(t *testing.T) {
	l := newPipelineLake(t, "extended")
	// 2026-11-01 went to a serving store the console does not read (as
	// when the store was created after it): its values come from the lake.
	// 2026-11-03 is never processed: a gap.
	older := l.openServing(t, filepath.Join(t.TempDir(), "older.db"))
	l.run(t, "2026-11-01", older, nil)
	l.run(t, "2026-11-02", l.serving, nil)
	l.run(t, "2026-11-04", l.serving, nil)
	artist := l.catalog.Artists()[3]
	lakeDates := []string{"2026-11-01", "2026-11-02", "2026-11-04"}

	t.Run("search finds the artist and links its page", func(t *testing.T) {
		c := l.console(t, l.serving, l.duck)
		word := strings.Fields(artist.Name)[len(strings.Fields(artist.Name))-1]
		for _, q := range []string{artist.Name, strings.ToUpper(artist.Name), word[:3], strings.ToLower(word)} {
			body := okPage(t, c, "/artists?q="+url.QueryEscape(q), "artists")
			list := section(t, body, `<ul id="artist-results">`, `</ul>`)
			found := false
			for _, m := range resultRE.FindAllStringSubmatch(list, -1) {
				name := html.UnescapeString(m[2])
				if !strings.Contains(strings.ToLower(name), strings.ToLower(q)) {
					t.Errorf("search %q lists %q, which does not contain it", q, name)
				}
				found = found || (m[1] == artist.ID && name == artist.Name)
			}
			if !found {
				t.Errorf("search %q does not list %s (%s):\n%s", q, artist.Name, artist.ID, list)
			}
		}
		// Text that would break SQL or HTML is only text.
		for _, q := range []string{`' OR 1=1 --`, `<script>x</script>`, `%`, `_`} {
			w := get(t, c, "GET", "/artists?q="+url.QueryEscape(q))
			if w.Code != 200 || resultRE.MatchString(w.Body.String()) || strings.Contains(w.Body.String(), "<script>x") {
				t.Errorf("search %q: %d with results or unescaped", q, w.Code)
			}
		}
	})

	t.Run("Warm reads the search index", func(t *testing.T) {
		c := l.console(t, l.serving, l.duck)
		c.Warm(context.Background())
		c.names.mu.Lock()
		idx := c.names.idx
		c.names.mu.Unlock()
		if idx == nil || idx.date != "2026-11-04" || len(idx.names) != pipelineArtists {
			t.Fatalf("after Warm the index is %+v, want the %d artists of 2026-11-04", idx, pipelineArtists)
		}
	})

	t.Run("every date of the lake, one point per date with a value", func(t *testing.T) {
		c := l.console(t, l.serving, l.duck)
		body := okPage(t, c, "/artists/"+artist.ID, "artist")
		wantMarker(t, body, `<h1 id="artist-name">`+html.EscapeString(artist.Name)+`</h1>`)
		wantPop, wantFol := lakeValues(t, l, artist.ID)
		for _, chart := range []struct {
			id   string
			want map[string]string
		}{{"popularity-chart", wantPop}, {"followers-chart", wantFol}} {
			declared, points := chartPoints(t, body, chart.id)
			if declared != "3" || len(points) != 3 {
				t.Errorf("%s: data-points %s with %d points, want 3", chart.id, declared, len(points))
			}
			if fmt.Sprint(points) != fmt.Sprint(chart.want) {
				t.Errorf("%s: points %v, the lake holds %v", chart.id, points, chart.want)
			}
		}
		wantMarker(t, body, "1 of the 3 dates are not in the serving store")
		top := section(t, body, `<section id="top-tracks">`, `</section>`)
		if strings.Count(top, "<tr>") < 2 {
			t.Errorf("top tracks: no track listed:\n%s", top)
		}
		if strings.Contains(body, `<section id="releases">`) {
			t.Error("extended-mode data shows releases instead of top tracks")
		}
		wantMarker(t, body, `<svg id="discography-timeline"`)
		similar := section(t, body, `<ul id="similar-artists">`, `</ul>`)
		for _, m := range similarRE.FindAllStringSubmatch(similar, -1) {
			if w := get(t, c, "GET", "/artists/"+m[1]); w.Code != 200 {
				t.Errorf("similar artist %s: its page answers %d", m[1], w.Code)
			}
		}
	})

	t.Run("without SQL the dates the store lacks are gaps", func(t *testing.T) {
		c := l.console(t, l.serving, nil)
		body := get(t, c, "GET", "/artists/"+artist.ID).Body.String()
		declared, points := chartPoints(t, body, "popularity-chart")
		var dates []string
		for d := range points {
			dates = append(dates, d)
		}
		slices.Sort(dates)
		if declared != "2" || !slices.Equal(dates, lakeDates[1:]) {
			t.Errorf("popularity: %s points on %v, want 2 on %v", declared, dates, lakeDates[1:])
		}
		wantMarker(t, body, "1 dates of the lake are not in the serving store")
	})

	t.Run("without a serving store the lake has every date", func(t *testing.T) {
		c := l.console(t, nil, l.duck)
		body := okPage(t, c, "/artists/"+artist.ID, "artist")
		wantPop, _ := lakeValues(t, l, artist.ID)
		if declared, points := chartPoints(t, body, "popularity-chart"); declared != "3" || fmt.Sprint(points) != fmt.Sprint(wantPop) {
			t.Errorf("popularity: %s points %v, the lake holds %v", declared, points, wantPop)
		}
		wantMarker(t, body, "No serving store")
		if w := get(t, l.console(t, nil, nil), "GET", "/artists/"+artist.ID); w.Code != 503 || !strings.Contains(w.Body.String(), "neither a serving store nor a local lake") {
			t.Errorf("no serving store and no SQL: %d, want 503 saying so", w.Code)
		}
	})

	t.Run("bad and unknown IDs", func(t *testing.T) {
		c := l.console(t, l.serving, l.duck)
		for _, tt := range []struct {
			path   string
			status int
			says   string
		}{
			{"/artists/not-an-id", 400, "22 characters"},
			{"/artists/" + url.PathEscape("0000000000000000000' OR '1'='1"), 400, "not a Spotify artist ID"},
			{"/artists/" + strings.Repeat("a", 23), 400, "not a Spotify artist ID"},
			{"/artists/0000000000000000000000", 404, "No artist 0000000000000000000000"},
			{"/artists?q=" + strings.Repeat("x", maxQueryLength+1), 400, "at most 200"},
		} {
			w := get(t, c, "GET", tt.path)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.says) {
				t.Errorf("GET %s: %d, want %d saying %q", tt.path, w.Code, tt.status, tt.says)
			}
		}
		if w := get(t, c, "HEAD", "/artists/"+artist.ID); w.Code != 200 || w.Body.Len() != 0 {
			t.Errorf("HEAD: %d with %d bytes, want 200 and no body", w.Code, w.Body.Len())
		}
		if w := get(t, c, "POST", "/artists?q=x"); w.Code != 405 {
			t.Errorf("POST /artists: %d, want 405: the console is read-only", w.Code)
		}
	})
}

func TestArtistPageDevelopment(t *testing.T) {
	l := newPipelineLake(t, "development")
	l.run(t, "2026-11-01", l.serving, nil)
	l.run(t, "2026-11-02", l.serving, nil)
	c := l.console(t, l.serving, l.duck)
	// An artist with releases: the catalog's first with albums in the lake.
	var artist spotifyfake.ArtistRef
	var body string
	for _, a := range l.catalog.Artists() {
		if b := okPage(t, c, "/artists/"+a.ID, "artist"); yearBarRE.MatchString(b) {
			artist, body = a, b
			break
		}
	}
	if artist.ID == "" {
		t.Fatal("no artist of the development-mode lake has a discography")
	}
	for _, id := range []string{"popularity-chart", "followers-chart"} {
		if declared, points := chartPoints(t, body, id); declared != "0" || len(points) != 0 {
			t.Errorf("%s: %s points, want none: development mode has no %s", id, declared, id)
		}
	}
	releases := section(t, body, `<section id="releases">`, `</section>`)
	if strings.Count(releases, "<tr>") < 2 {
		t.Errorf("releases: none listed:\n%s", releases)
	}
	if strings.Contains(body, `<section id="top-tracks">`) {
		t.Error("development-mode data shows top tracks")
	}

	// The timeline holds what the artist_discography mart of the newest
	// date counts, year by year.
	root, _ := l.store.LocalDir()
	res, err := l.duck.Query(context.Background(), root, `SELECT CAST(y.release_year AS VARCHAR), y.album_type, y.releases
FROM (SELECT UNNEST(releases_by_year) AS y FROM artist_discography WHERE dt = '2026-11-02' AND artist_id = '`+artist.ID+`')`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, r := range res.Rows {
		want[r[0].(string)+"/"+r[1].(string)] = fmt.Sprint(r[2])
	}
	got := map[string]string{}
	for _, m := range yearBarRE.FindAllStringSubmatch(section(t, body, `<svg id="discography-timeline"`, `</svg>`), -1) {
		got[m[1]+"/"+m[2]] = m[3]
	}
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("timeline %v, the mart holds %v", got, want)
	}
}

func TestTimelineAxes(t *testing.T) {
	counts := map[string]map[string]int{
		"2019": {"single": 2},
		"2022": {"compilation": 1, "album": 1},
		"2021": {"appears_on": 1},
	}
	years, types := timelineAxes(counts)
	if want := []string{"2019", "2020", "2021", "2022"}; !slices.Equal(years, want) {
		t.Errorf("years %v, want every year from the first to the last: %v", years, want)
	}
	if want := []string{"album", "single", "compilation", "appears_on"}; !slices.Equal(types, want) {
		t.Errorf("types %v, want Spotify's order, others after: %v", types, want)
	}
	if years, types := timelineAxes(nil); years != nil || types != nil {
		t.Errorf("no releases: %v %v, want no axes", years, types)
	}
	for date, want := range map[string]string{"2021": "2021", "2021-05": "2021", "2021-05-14": "2021", "": "", "abcd": ""} {
		if got, ok := releaseYear(date); got != want || ok != (want != "") {
			t.Errorf("releaseYear(%q) = %q, %v", date, got, ok)
		}
	}
}
