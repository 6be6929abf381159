package spotifyfake

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Catalog sizes the fake accepts.
const (
	MinArtists = 10
	MaxArtists = 200_000
)

// CatalogEnd is the date of the catalog's latest possible release.
var CatalogEnd = time.Date(2026, time.September, 30, 0, 0, 0, 0, time.UTC)

// Album groups in the order the artist-albums listing returns them.
var albumGroups = []string{"album", "single", "compilation", "appears_on"}

// Names are unique below this many artists so that every artist of a
// sample catalog resolves by name; above it about one artist in a hundred
// deliberately shares an earlier artist's name, as real catalogs do.
const uniqueNamesBelow = 1000

// ArtistRef identifies one artist of the catalog.
type ArtistRef struct {
	ID   string
	Name string
}

// Image is an image of an artist or album.
type Image struct {
	URL    string
	Height int
	Width  int
}

// DevGenres says how development mode serves an artist's genres. Spotify's
// February 2026 migration guide deprecates the field for development-mode
// apps, and clients see it absent from some artist objects and null in
// others; extended mode always serves the list.
type DevGenres uint8

const (
	// GenresListed: the list, as extended mode serves it (about half the
	// artists).
	GenresListed DevGenres = iota
	// GenresAbsent: no genres key at all (about a quarter).
	GenresAbsent
	// GenresNull: "genres": null (about a quarter, and every artist of a
	// search result).
	GenresNull
)

// Artist is a catalog artist with its full discography.
type Artist struct {
	ID         string
	Name       string
	Genres     []string
	DevGenres  DevGenres // how development mode serves Genres
	Popularity int
	Followers  int
	Images     []Image
	// Albums in the order the artist-albums endpoint lists them: by group
	// (album, single, compilation), newest first within a group.
	Albums []Album
}

// Album is one release of an artist, with all its tracks.
type Album struct {
	ID         string
	Name       string
	Type       string // album, single or compilation; also its album_group
	ArtistID   string
	ArtistName string
	// ReleaseDate is "YYYY", "YYYY-MM" or "YYYY-MM-DD" per
	// ReleaseDatePrecision ("year", "month", "day").
	ReleaseDate          string
	ReleaseDatePrecision string
	// Released is the first day ReleaseDate covers.
	Released   time.Time
	Label      string
	UPC        string
	Popularity int
	Images     []Image
	Tracks     []Track
}

// Track is one track of an album.
type Track struct {
	ID          string
	Name        string
	AlbumID     string
	Artists     []ArtistRef
	DurationMS  int
	Explicit    bool
	DiscNumber  int
	TrackNumber int
	ISRC        string
	Popularity  int
	// LinkedFrom is the ID of the track Spotify relinked to this one, or
	// "": extended mode serves it as linked_from on full tracks asked for
	// a market (about one in twenty), development mode never. The ID names
	// no track of the catalog (404): the original is gone from the market.
	LinkedFrom string
}

// AudioFeatures are a track's audio features.
type AudioFeatures struct {
	TrackID          string
	Acousticness     float64
	Danceability     float64
	DurationMS       int
	Energy           float64
	Instrumentalness float64
	Key              int
	Liveness         float64
	Loudness         float64
	Mode             int
	Speechiness      float64
	Tempo            float64
	TimeSignature    int
	Valence          float64
}

// Catalog is a deterministic synthetic Spotify catalog: the same size and
// seed always give the same artists, IDs, albums and tracks, and a smaller
// catalog of the same seed is a prefix of a larger one. Only names,
// popularity and primary genres are held in memory; discographies are
// derived from the seed when asked for.
type Catalog struct {
	seed    int64
	ids     idCodec
	artists []artistMeta
	byToken map[string][]int32
	byGenre map[string][]int32
}

type artistMeta struct {
	name       string
	popularity uint8
	genre      string // primary genre, "" if none
}

// NewCatalog builds the catalog of n artists (clamped to MinArtists ..
// MaxArtists) for seed.
func NewCatalog(n int, seed int64) *Catalog {
	n = min(max(n, MinArtists), MaxArtists)
	c := &Catalog{
		seed:    seed,
		ids:     newIDCodec(seed),
		artists: make([]artistMeta, n),
		byToken: make(map[string][]int32),
		byGenre: make(map[string][]int32),
	}
	used := make(map[string]bool, n)
	for i := range c.artists {
		r := newRNG(seed, uint64(kindArtist), uint64(i), 'n')
		var name string
		if i >= uniqueNamesBelow && r.intn(100) == 0 {
			name = c.artists[r.intn(i)].name
		} else {
			name = artistName(r)
			for try := 0; used[name]; try++ {
				if try < 20 {
					name = artistName(r)
				} else {
					name = artistName(r) + " " + pick(r, lastNames)
				}
			}
		}
		used[name] = true
		m := artistMeta{name: name}
		g := newRNG(seed, uint64(kindArtist), uint64(i), 'p')
		m.popularity = uint8(math.Round(100 * math.Pow(g.float(), 2.2)))
		if genres := artistGenres(g); len(genres) > 0 {
			m.genre = genres[0]
			c.byGenre[m.genre] = append(c.byGenre[m.genre], int32(i))
		}
		c.artists[i] = m
		for _, tok := range uniqueTokens(name) {
			c.byToken[tok] = append(c.byToken[tok], int32(i))
		}
	}
	return c
}

// Len returns the number of artists.
func (c *Catalog) Len() int { return len(c.artists) }

// Artists lists every artist's ID and name in catalog order.
func (c *Catalog) Artists() []ArtistRef {
	out := make([]ArtistRef, len(c.artists))
	for i := range c.artists {
		out[i] = c.artistRef(i)
	}
	return out
}

func (c *Catalog) artistID(i int) string {
	return c.ids.encode(ref{kind: kindArtist, artist: uint32(i)})
}

func (c *Catalog) artistRef(i int) ArtistRef {
	return ArtistRef{ID: c.artistID(i), Name: c.artists[i].name}
}

// Artist returns the artist with the given ID and its whole discography.
func (c *Catalog) Artist(id string) (*Artist, bool) {
	r, ok := c.lookup(id, kindArtist)
	if !ok {
		return nil, false
	}
	return c.artist(int(r.artist), time.Time{}), true
}

// ArtistAsOf is Artist with only the albums released on or before asOf
// (the zero time keeps all), as a server started with that AsOf serves it.
func (c *Catalog) ArtistAsOf(id string, asOf time.Time) (*Artist, bool) {
	r, ok := c.lookup(id, kindArtist)
	if !ok {
		return nil, false
	}
	return c.artist(int(r.artist), asOf), true
}

// Album returns the album with the given ID and all its tracks.
func (c *Catalog) Album(id string) (*Album, bool) {
	r, ok := c.lookup(id, kindAlbum)
	if !ok {
		return nil, false
	}
	a := c.album(int(r.artist), int(r.album))
	return &a, true
}

// Track returns the track with the given ID.
func (c *Catalog) Track(id string) (*Track, bool) {
	r, ok := c.lookup(id, kindTrack)
	if !ok {
		return nil, false
	}
	al := c.albumMeta(int(r.artist), int(r.album))
	if int(r.track) >= al.trackCount {
		return nil, false
	}
	t := c.track(al, int(r.track))
	return &t, true
}

// lookup decodes an ID of the given kind and checks the entity exists.
func (c *Catalog) lookup(id string, k kind) (ref, bool) {
	r, ok := c.ids.decode(id)
	if !ok || r.kind != k || int(r.artist) >= len(c.artists) {
		return ref{}, false
	}
	if k != kindArtist && int(r.album) >= c.albumCount(int(r.artist)) {
		return ref{}, false
	}
	return r, true
}

func artistGenres(r *rng) []string {
	if r.chance(0.12) {
		return nil
	}
	family := genreFamilies[r.intn(len(genreFamilies))]
	n := r.between(1, 3)
	perm := make([]int, len(family))
	for i := range perm {
		perm[i] = i
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		j := i + r.intn(len(perm)-i)
		perm[i], perm[j] = perm[j], perm[i]
		out = append(out, family[perm[i]])
	}
	return out
}

// devGenres draws from a stream of its own, so the other attributes of
// the artist are those of catalogs made before it existed.
func devGenres(seed int64, i int) DevGenres {
	switch newRNG(seed, uint64(kindArtist), uint64(i), 'g').intn(4) {
	case 0:
		return GenresAbsent
	case 1:
		return GenresNull
	}
	return GenresListed
}

func (c *Catalog) artist(i int, asOf time.Time) *Artist {
	m := c.artists[i]
	g := newRNG(c.seed, uint64(kindArtist), uint64(i), 'p')
	g.float() // popularity, drawn in NewCatalog
	a := &Artist{
		ID:         c.artistID(i),
		Name:       m.name,
		Genres:     artistGenres(g),
		DevGenres:  devGenres(c.seed, i),
		Popularity: int(m.popularity),
	}
	r := newRNG(c.seed, uint64(kindArtist), uint64(i), 'd')
	a.Followers = int(math.Exp(float64(a.Popularity)/100*math.Log(6e7))*(0.5+r.float())) + r.intn(300)
	if !r.chance(0.05) {
		a.Images = images(r, "ab6761610000e5eb", 640, 320, 160)
	}
	n := c.albumCount(i)
	for j := 0; j < n; j++ {
		al := c.album(i, j)
		if !asOf.IsZero() && al.Released.After(asOf) {
			continue
		}
		a.Albums = append(a.Albums, al)
	}
	sortAlbums(a.Albums)
	return a
}

func sortAlbums(albums []Album) {
	rank := func(t string) int {
		for i, g := range albumGroups {
			if g == t {
				return i
			}
		}
		return len(albumGroups)
	}
	sort.SliceStable(albums, func(x, y int) bool {
		a, b := albums[x], albums[y]
		if ra, rb := rank(a.Type), rank(b.Type); ra != rb {
			return ra < rb
		}
		if !a.Released.Equal(b.Released) {
			return a.Released.After(b.Released)
		}
		return a.ID < b.ID
	})
}

func images(r *rng, prefix string, sizes ...int) []Image {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteString("https://i.scdn.co/image/")
	b.WriteString(prefix)
	for b.Len() < len("https://i.scdn.co/image/")+40 {
		b.WriteByte(hex[r.intn(16)])
	}
	url := b.String()
	out := make([]Image, len(sizes))
	for i, s := range sizes {
		// Each size is its own file; the last hex digit tells them apart.
		out[i] = Image{URL: url[:len(url)-1] + string(hex[(r.intn(16)+i)%16]), Height: s, Width: s}
	}
	return out
}

// careerStart is the first day of the artist's first release.
func (c *Catalog) careerStart(i int) time.Time {
	r := newRNG(c.seed, uint64(kindArtist), uint64(i), 'c')
	year := 2025 - int(r.float()*r.float()*62)
	return time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.intn(180))
}

func (c *Catalog) albumCount(i int) int {
	r := newRNG(c.seed, uint64(kindArtist), uint64(i), 'k')
	return 1 + int(r.float()*r.float()*14) + int(c.artists[i].popularity)/12
}

// albumInfo is what is known of an album without generating its tracks.
type albumInfo struct {
	Album
	artist     int
	index      int
	trackCount int
	deluxe     bool
}

func (c *Catalog) albumMeta(i, j int) albumInfo {
	r := newRNG(c.seed, uint64(kindAlbum), uint64(i), uint64(j))
	m := c.artists[i]
	start := c.careerStart(i)
	info := albumInfo{artist: i, index: j}
	a := &info.Album
	a.ID = c.ids.encode(ref{kind: kindAlbum, artist: uint32(i), album: uint16(j)})
	a.ArtistID = c.artistID(i)
	a.ArtistName = m.name
	released := start
	switch {
	case j == 0:
		// The debut is always a full album, so every artist has at least
		// ten tracks and thus ten top tracks.
		a.Type = "album"
		info.trackCount = r.between(10, 14)
	default:
		days := int(CatalogEnd.Sub(start).Hours() / 24)
		released = start.AddDate(0, 0, 1+r.intn(max(days, 1)))
		switch p := r.intn(100); {
		case p < 45:
			a.Type = "album"
			info.trackCount = r.between(8, 16)
			if r.chance(0.04) {
				info.deluxe = true
				info.trackCount = r.between(52, 75)
			}
		case p < 85:
			a.Type = "single"
			info.trackCount = r.between(1, 3)
		default:
			a.Type = "compilation"
			info.trackCount = r.between(12, 24)
		}
	}
	switch a.Type {
	case "compilation":
		a.Name = pick(r, []string{"Greatest Hits", "The Best of " + m.name, "Anthology", "Collected", "Essentials", "Live at the " + pick(r, nouns)})
	default:
		a.Name = songName(r)
		if info.deluxe {
			a.Name += " (Deluxe Edition)"
		}
	}
	precision := "day"
	if p := r.intn(100); released.Year() < 1990 && p < 40 || p < 5 {
		precision = "year"
	} else if released.Year() < 1990 && p < 60 || p < 10 {
		precision = "month"
	}
	a.ReleaseDatePrecision = precision
	switch precision {
	case "year":
		a.ReleaseDate = released.Format("2006")
		a.Released = time.Date(released.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
	case "month":
		a.ReleaseDate = released.Format("2006-01")
		a.Released = time.Date(released.Year(), released.Month(), 1, 0, 0, 0, 0, time.UTC)
	default:
		a.ReleaseDate = released.Format("2006-01-02")
		a.Released = released
	}
	a.Label = pick(r, labels)
	a.UPC = fmt.Sprintf("%012d", r.next()%1_000_000_000_000)
	age := CatalogEnd.Year() - a.Released.Year()
	a.Popularity = clamp(int(m.popularity)-age/2+r.between(-10, 10), 0, 100)
	a.Images = images(r, "ab67616d0000b273", 640, 300, 64)
	return info
}

func (c *Catalog) album(i, j int) Album {
	info := c.albumMeta(i, j)
	a := info.Album
	a.Tracks = make([]Track, info.trackCount)
	for k := range a.Tracks {
		a.Tracks[k] = c.track(info, k)
	}
	return a
}

// discSize is how many tracks a disc of a deluxe edition holds.
const discSize = 40

func (c *Catalog) track(al albumInfo, k int) Track {
	r := newRNG(c.seed, uint64(kindTrack), uint64(al.artist), uint64(al.index), uint64(k))
	t := Track{
		ID:          c.ids.encode(ref{kind: kindTrack, artist: uint32(al.artist), album: uint16(al.index), track: uint16(k)}),
		AlbumID:     al.ID,
		Artists:     []ArtistRef{{ID: al.ArtistID, Name: al.ArtistName}},
		DurationMS:  r.between(95_000, 330_000),
		Explicit:    r.chance(0.2),
		DiscNumber:  1,
		TrackNumber: k + 1,
	}
	if al.deluxe {
		t.DiscNumber, t.TrackNumber = 1+k/discSize, 1+k%discSize
	}
	if al.Type == "single" && k == 0 {
		t.Name = al.Name
	} else {
		t.Name = songName(r)
	}
	if al.artist > 0 && r.chance(0.08) {
		t.Artists = append(t.Artists, c.artistRef(r.intn(al.artist)))
		t.Name += " (feat. " + t.Artists[1].Name + ")"
	}
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	t.ISRC = fmt.Sprintf("%s%c%c%c%02d%05d", pick(r, []string{"US", "GB", "SE", "DE", "FR", "BR", "JP"}),
		letters[r.intn(26)], letters[r.intn(26)], letters[r.intn(26)], al.Released.Year()%100, r.intn(100000))
	t.Popularity = clamp(al.Popularity+r.between(-15, 10)-k/3, 0, 100)
	// A stream of its own, as for devGenres.
	if newRNG(c.seed, uint64(kindTrack), uint64(al.artist), uint64(al.index), uint64(k), 'l').chance(0.05) {
		// The high bit makes a track number no album reaches.
		t.LinkedFrom = c.ids.encode(ref{kind: kindTrack, artist: uint32(al.artist), album: uint16(al.index), track: uint16(k) | 0x8000})
	}
	return t
}

// TopTracks returns the artist's top tracks in the market, most popular
// first: ten, or all its tracks if it has fewer. Albums released after asOf
// are left out unless asOf is zero. ok is false for an unknown artist.
func (c *Catalog) TopTracks(artistID, market string, asOf time.Time) ([]Track, bool) {
	a, ok := c.ArtistAsOf(artistID, asOf)
	if !ok {
		return nil, false
	}
	return topTracks(a, market), true
}

func topTracks(a *Artist, market string) []Track {
	type scored struct {
		t     Track
		score uint64
	}
	var all []scored
	salt := mix64(uint64(fnv(market)))
	for _, al := range a.Albums {
		for _, t := range al.Tracks {
			// Popularity decides; a market-specific jitter reorders
			// near-equals so each market has its own list.
			jitter := mix64(salt^uint64(fnv(t.ID))) % 400
			all = append(all, scored{t, uint64(t.Popularity)*100 + jitter})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].t.ID < all[j].t.ID
	})
	n := min(10, len(all))
	out := make([]Track, n)
	for i := range out {
		out[i] = all[i].t
	}
	return out
}

// AudioFeatures returns the audio features of a track.
func (c *Catalog) AudioFeatures(trackID string) (AudioFeatures, bool) {
	t, ok := c.Track(trackID)
	if !ok {
		return AudioFeatures{}, false
	}
	r := newRNG(c.seed, 0xaf, uint64(fnv(trackID)))
	round := func(f float64, digits int) float64 {
		p := math.Pow(10, float64(digits))
		return math.Round(f*p) / p
	}
	return AudioFeatures{
		TrackID:          t.ID,
		Acousticness:     round(math.Pow(r.float(), 2), 4),
		Danceability:     round(0.2+0.75*r.float(), 3),
		DurationMS:       t.DurationMS,
		Energy:           round(0.1+0.9*r.float(), 3),
		Instrumentalness: round(math.Pow(r.float(), 6), 5),
		Key:              r.intn(12),
		Liveness:         round(0.03+0.5*math.Pow(r.float(), 3), 4),
		Loudness:         round(-2-14*r.float(), 3),
		Mode:             r.intn(2),
		Speechiness:      round(0.025+0.3*math.Pow(r.float(), 3), 4),
		Tempo:            round(60+120*r.float(), 3),
		TimeSignature:    pick(r, []int{4, 4, 4, 4, 4, 3, 5}),
		Valence:          round(0.05+0.9*r.float(), 3),
	}, true
}

// Related returns up to 20 artists sharing the artist's primary genre,
// nearest in popularity first.
func (c *Catalog) Related(artistID string) ([]ArtistRef, bool) {
	r, ok := c.lookup(artistID, kindArtist)
	if !ok {
		return nil, false
	}
	i := int(r.artist)
	m := c.artists[i]
	if m.genre == "" {
		return []ArtistRef{}, true
	}
	peers := append([]int32(nil), c.byGenre[m.genre]...)
	dist := func(j int32) int { return abs(int(c.artists[j].popularity) - int(m.popularity)) }
	sort.SliceStable(peers, func(x, y int) bool { return dist(peers[x]) < dist(peers[y]) })
	out := make([]ArtistRef, 0, 20)
	for _, j := range peers {
		if int(j) != i && len(out) < 20 {
			out = append(out, c.artistRef(int(j)))
		}
	}
	return out, true
}

// Search returns the indexes of the artists matching a search query, best
// first: artists whose name has every word of the query, exact name
// matches first, then by popularity.
func (c *Catalog) search(q string) []int {
	q = stripFieldFilters(q)
	toks := uniqueTokens(q)
	if len(toks) == 0 {
		return nil
	}
	sort.Slice(toks, func(i, j int) bool { return len(c.byToken[toks[i]]) < len(c.byToken[toks[j]]) })
	var hits []int
	for _, i := range c.byToken[toks[0]] {
		if c.hasTokens(int(i), toks[1:]) {
			hits = append(hits, int(i))
		}
	}
	want := normalize(q)
	exact := make(map[int]bool)
	for _, i := range hits {
		if normalize(c.artists[i].name) == want {
			exact[i] = true
		}
	}
	sort.SliceStable(hits, func(x, y int) bool {
		a, b := hits[x], hits[y]
		if exact[a] != exact[b] {
			return exact[a]
		}
		if pa, pb := c.artists[a].popularity, c.artists[b].popularity; pa != pb {
			return pa > pb
		}
		return a < b
	})
	return hits
}

func (c *Catalog) hasTokens(i int, toks []string) bool {
	have := uniqueTokens(c.artists[i].name)
	for _, t := range toks {
		found := false
		for _, h := range have {
			if h == t {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// stripFieldFilters turns `artist:"Name"` and similar into plain words.
func stripFieldFilters(q string) string {
	for _, f := range []string{"artist:", "album:", "track:", "genre:", "year:"} {
		q = strings.ReplaceAll(q, f, " ")
	}
	return strings.ReplaceAll(q, `"`, " ")
}

var foldMap = strings.NewReplacer("ø", "o", "Ø", "o", "æ", "ae", "Æ", "ae", "ß", "ss", "đ", "d", "ł", "l", "Ł", "l", "&", " and ")

// normalize lower-cases, strips diacritics and turns everything but
// letters and digits into single spaces.
func normalize(s string) string {
	t := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, foldMap.Replace(s))
	if err != nil {
		folded = s
	}
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(folded) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		} else {
			space = true
		}
	}
	return b.String()
}

func uniqueTokens(s string) []string {
	var out []string
	for _, t := range strings.Fields(normalize(s)) {
		dup := false
		for _, o := range out {
			if o == t {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
