package console

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
)

// artistsData is the content of /artists?q=.
type artistsData struct {
	Query  string
	Result searchResult
	// NoData: the lake has no processed date to search.
	NoData bool
}

// artistsPage is /artists?q=NAME: the artists of the newest processed
// date whose name contains NAME.
func (c *Console) artistsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query().Get("q")
	if len(q) > maxQueryLength {
		c.fail(w, r, http.StatusBadRequest, "Search too long", fmt.Sprintf("The search is %d bytes; give at most %d, part of an artist's name.", len(q), maxQueryLength))
		return
	}
	data := artistsData{Query: q}
	title := "Artists"
	if q != "" {
		title = "Artists matching " + strconv.Quote(q)
	}
	processed, err := c.processedDates(ctx)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "Lake unreadable", fmt.Sprintf("Listing the manifests of %s failed: %v", c.o.LakeURL, err))
		return
	}
	if len(processed) == 0 {
		data.NoData = true
		c.render(w, r, http.StatusOK, "artists", page{Name: "artists", Title: title, Data: data})
		return
	}
	newest := processed[len(processed)-1]
	if q != "" {
		m, err := c.manifest(ctx, newest)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "Manifest unreadable", err.Error())
			return
		}
		idx, err := c.names.get(ctx, c.o.Lake, newest, manifestStamp(m))
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "Lake unreadable", err.Error())
			return
		}
		data.Result = idx.search(q)
	}
	data.Result.Date = newest
	c.render(w, r, http.StatusOK, "artists", page{Name: "artists", Title: title, Data: data})
}

// artistData is the content of /artists/{id}.
type artistData struct {
	ID     string
	Name   string
	Genres []string
	// Latest is the date of the newest snapshot the page shows; Mode the
	// API mode of that date's run (extended or development).
	Latest     string
	Mode       string
	Popularity *int
	Followers  *int64

	Dates           int // of the lake
	PopularityChart template.HTML
	FollowersChart  template.HTML
	PopularityDays  int
	FollowersDays   int

	TopTracks   []serving.TopTrack
	TopTracksDT string
	Releases    []serving.Release
	ReleasesDT  string
	Timeline    template.HTML
	Similar     []serving.Similar
	SimilarDT   string
	// Notes say where values came from or why some are missing.
	Notes []string
}

// Extended reports whether the page shows top tracks: the data is of an
// extended-mode run (development mode has no top tracks), or of an
// unknown mode with top tracks stored.
func (a artistData) Extended() bool {
	return a.Mode == string(spotify.ModeExtended) || (a.Mode == "" && len(a.TopTracks) > 0)
}

// artistPage is /artists/{id}: the artist's popularity and followers over
// every date in the lake, top tracks or latest releases by the mode of the
// data, a discography timeline and similar artists.
func (c *Console) artistPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !spotify.IsID(id) {
		c.fail(w, r, http.StatusBadRequest, "Bad artist ID", fmt.Sprintf("%q is not a Spotify artist ID: an ID is 22 characters of 0-9, a-z and A-Z, as in /artists/0OdUWJ0sBjDrqHygGUXeCF. Search by name with /artists?q=NAME.", id))
		return
	}
	if c.o.Serving == nil && c.o.Query == nil {
		c.fail(w, r, http.StatusServiceUnavailable, "No artist data", "The console has neither a serving store nor a local lake to read artists from: configure serving.url, or a file:// lake.url.")
		return
	}
	dates, err := c.processedDates(ctx)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "Lake unreadable", fmt.Sprintf("Listing the manifests of %s failed: %v", c.o.LakeURL, err))
		return
	}

	data := artistData{ID: id, Dates: len(dates)}
	var view serving.ArtistView
	var stored bool
	if c.o.Serving != nil {
		if view, stored, err = c.o.Serving.Artist(ctx, id); err != nil {
			c.fail(w, r, http.StatusServiceUnavailable, "Serving store unreadable", fmt.Sprintf("Reading artist %s from the serving store failed: %v", id, err))
			return
		}
	} else {
		data.Notes = append(data.Notes, "No serving store: top tracks, releases and similar artists are not shown.")
	}
	hist, err := c.history(ctx, id, dates)
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, "History unreadable", err.Error())
		return
	}
	if !stored && !hasLakeDays(hist, dates) {
		c.fail(w, r, http.StatusNotFound, "Unknown artist", fmt.Sprintf("No artist %s in the serving store or the lake. Search by name with /artists?q=NAME.", id))
		return
	}
	data.fill(view, stored, hist, dates)
	data.Mode = c.apiMode(ctx, data.Latest)
	if data.Mode == string(spotify.ModeDevelopment) {
		data.Notes = append(data.Notes, "Development-mode runs return no popularity or followers: their dates are gaps.")
	}
	data.Timeline, err = c.discographyTimeline(ctx, id, data.Name, data.Latest, view.Releases)
	if err != nil {
		data.Notes = append(data.Notes, "The discography timeline could not be read: "+err.Error())
	}
	c.render(w, r, http.StatusOK, "artist", page{Name: "artist", Title: data.Name, Data: data})
}

// hasLakeDays reports whether the history holds a value on a date of the
// lake.
func hasLakeDays(h artistHistory, dates []string) bool {
	for _, d := range dates {
		if _, ok := h.days[d]; ok {
			return true
		}
	}
	return false
}

// fill sets the page from the serving store's view and the history.
func (a *artistData) fill(view serving.ArtistView, stored bool, hist artistHistory, dates []string) {
	pop := map[string]float64{}
	fol := map[string]float64{}
	for _, d := range dates {
		v, ok := hist.days[d]
		if !ok {
			continue
		}
		a.Name, a.Latest, a.Popularity, a.Followers = v.Name, d, v.Popularity, v.Followers
		if v.Popularity != nil {
			pop[d] = float64(*v.Popularity)
		}
		if v.Followers != nil {
			fol[d] = float64(*v.Followers)
		}
	}
	if stored {
		a.Name, a.Genres = view.Name, view.Genres
		a.TopTracks, a.TopTracksDT = view.TopTracks, view.TopTracksDT
		a.Releases, a.ReleasesDT = view.Releases, view.ReleasesDT
		a.Similar, a.SimilarDT = view.Similar, view.SimilarDT
		if view.DT >= a.Latest {
			a.Latest, a.Popularity, a.Followers = view.DT, view.Popularity, view.Followers
		}
	}
	a.PopularityDays, a.FollowersDays = len(pop), len(fol)
	span := "no date"
	if len(dates) > 0 {
		span = fmt.Sprintf("%d dates of the lake, %s to %s", len(dates), dates[0], dates[len(dates)-1])
	}
	a.PopularityChart = lineChart{ID: "popularity-chart", Title: "Popularity of " + a.Name,
		Desc:   fmt.Sprintf("Spotify popularity (0 to 100) on %s; %d have a value, the others are gaps in the line.", span, len(pop)),
		YLabel: "popularity", Dates: dates, Values: pop, YMin: ptrTo(0.0), YMax: ptrTo(100.0)}.render()
	a.FollowersChart = lineChart{ID: "followers-chart", Title: "Followers of " + a.Name,
		Desc:   fmt.Sprintf("Spotify followers on %s; %d have a value, the others are gaps in the line.", span, len(fol)),
		YLabel: "followers", Dates: dates, Values: fol}.render()
	if hist.fromLake > 0 {
		a.Notes = append(a.Notes, fmt.Sprintf("%d of the %d dates are not in the serving store and were read from the lake's curated artists table.", hist.fromLake, len(dates)))
	}
	if n := len(hist.unread); n > 0 {
		a.Notes = append(a.Notes, fmt.Sprintf("%d dates of the lake are not in the serving store, and the console cannot run SQL over the lake (it is not on the local disk): they show as gaps.", n))
	}
}

// apiMode is the Spotify API mode of the run that processed date
// (extended or development); "" when its manifest does not say or does
// not read.
func (c *Console) apiMode(ctx context.Context, date string) string {
	if date == "" {
		return ""
	}
	m, err := c.manifest(ctx, date)
	if err != nil {
		return ""
	}
	return cmp.Or(m.Resolve.Mode, m.Capture.Mode)
}

// discographyTimeline charts the artist's releases per year by type, from
// the artist_discography mart of date (every release known up to it). On
// a lake SQL cannot read, it charts the serving store's latest releases.
func (c *Console) discographyTimeline(ctx context.Context, id, name, date string, latest []serving.Release) (template.HTML, error) {
	chart := barChart{ID: "discography-timeline", Title: "Discography of " + name,
		XLabel: "release year", YLabel: "releases", CategoryAttr: "data-year",
		Empty: "No releases collected for this artist."}
	var err error
	if root, local := c.o.Lake.LocalDir(); c.o.Query != nil && local && date != "" {
		if chart.Counts, err = c.discographyCounts(ctx, root, id, date); err == nil {
			chart.Desc = fmt.Sprintf("Releases per year of release, stacked by type (album, single, compilation), from the artist_discography mart of %s.", date)
			chart.Categories, chart.Stacks = timelineAxes(chart.Counts)
			return chart.render(), nil
		}
	}
	chart.Desc = fmt.Sprintf("The %d latest releases from the serving store, per year of release, stacked by type.", len(latest))
	chart.Counts = map[string]map[string]int{}
	for _, r := range latest {
		if year, ok := releaseYear(r.ReleaseDate); ok {
			addCount(chart.Counts, year, r.Type, 1)
		}
	}
	chart.Categories, chart.Stacks = timelineAxes(chart.Counts)
	return chart.render(), err
}

// discographyCounts returns the mart's releases_by_year of the artist on
// date, by year and release type; cached by the date's manifest.
func (c *Console) discographyCounts(ctx context.Context, root, id, date string) (map[string]map[string]int, error) {
	m, err := c.manifest(ctx, date)
	if err != nil {
		return nil, err
	}
	return c.discography.get(id+"\x00"+date+"\x00"+manifestStamp(m), func() (map[string]map[string]int, error) {
		return queryDiscography(ctx, c.o.Query, root, id, date)
	})
}

// queryDiscography reads the artist's releases_by_year from the
// artist_discography partition of date. id and date become SQL literals:
// they are checked here.
func queryDiscography(ctx context.Context, q Querier, root, id, date string) (map[string]map[string]int, error) {
	if !spotify.IsID(id) {
		return nil, fmt.Errorf("artist ID %q: want 22 base-62 characters", id)
	}
	if err := lake.CheckDate(date); err != nil {
		return nil, err
	}
	res, err := q.Query(ctx, root, "SELECT releases_by_year FROM "+analytics.ArtistDiscography+
		" WHERE dt = "+sqlString(date)+" AND artist_id = "+sqlString(id))
	if err != nil {
		return nil, fmt.Errorf("read the discography of %s on %s: %w", id, date, err)
	}
	counts := map[string]map[string]int{}
	for _, row := range res.Rows {
		years, _ := row[0].([]any)
		for _, y := range years {
			e, _ := y.(map[string]any)
			year := int64Value(e["release_year"])
			n := int64Value(e["releases"])
			typ, _ := e["album_type"].(string)
			if year != nil && n != nil {
				addCount(counts, strconv.FormatInt(*year, 10), typ, int(*n))
			}
		}
	}
	return counts, nil
}

func addCount(counts map[string]map[string]int, cat, stack string, n int) {
	if counts[cat] == nil {
		counts[cat] = map[string]int{}
	}
	counts[cat][stack] += n
}

// timelineAxes are every year from the first to the last with releases
// (a year without is an empty slot) and the release types, in Spotify's
// order.
func timelineAxes(counts map[string]map[string]int) (years, types []string) {
	first, last := 0, 0
	seen := map[string]bool{}
	for y, byType := range counts {
		n, err := strconv.Atoi(y)
		if err != nil {
			continue
		}
		if first == 0 || n < first {
			first = n
		}
		last = max(last, n)
		for t := range byType {
			seen[t] = true
		}
	}
	for y := first; first > 0 && y <= last; y++ {
		years = append(years, strconv.Itoa(y))
	}
	for t := range seen {
		types = append(types, t)
	}
	rank := func(t string) int {
		if i := slices.Index(releaseTypes, t); i >= 0 {
			return i
		}
		return len(releaseTypes)
	}
	slices.SortFunc(types, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })
	return years, types
}

// releaseTypes are Spotify's album types in the order the timeline stacks
// them; others come after.
var releaseTypes = []string{"album", "single", "compilation"}

// releaseYear is the year of a Spotify release date (YYYY, YYYY-MM or
// YYYY-MM-DD).
func releaseYear(date string) (string, bool) {
	if len(date) < 4 {
		return "", false
	}
	if _, err := strconv.Atoi(date[:4]); err != nil {
		return "", false
	}
	return date[:4], true
}

func ptrTo[T any](v T) *T { return &v }
