package benchlake

import (
	"fmt"
	"math"
	"time"

	"github.com/metronome-data/metronome/internal/tables"
)

// The catalog: every value is a pure function of the seed, the artist (or
// track) and the date, so any part of the lake can be made again without
// keeping the rest in memory, and two builds of one Config are the same
// lake (times of writing aside).

const (
	// tracksPerArtist is each artist's catalog; its 10 most popular of the
	// day are its top tracks.
	tracksPerArtist = 12
	topTracks       = 10
	albumsPerArtist = 3
	// batchSize is the collect batch: Spotify's 50 artists a call.
	batchSize = 50
	// absentEvery: one artist in absentEvery is missing on a given date
	// (Spotify returned nothing for it), a gap in its history.
	absentEvery = 97
)

// Salts of the value streams.
const (
	saltName uint64 = iota + 1
	saltGenre
	saltPopularity
	saltFollowers
	saltAbsent
	saltTrack
	saltReject
	saltAlbum
	saltFeature
	saltID
)

// mix is SplitMix64's finalizer: a well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

type generator struct{ cfg Config }

// u is a hash of the seed, a salt and the arguments.
func (g generator) u(salt uint64, args ...int) uint64 {
	h := mix(g.cfg.Seed ^ salt<<56)
	for _, a := range args {
		h = mix(h ^ uint64(a))
	}
	return h
}

// f is a uniform float in [0, 1).
func (g generator) f(salt uint64, args ...int) float64 {
	return float64(g.u(salt, args...)>>11) / (1 << 53)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// spotifyID is a 22-character base-62 ID, as Spotify's, unique per kind
// and number (the seed does not change IDs).
func spotifyID(kind uint64, n int) string {
	var b [22]byte
	h1, h2 := mix(kind<<40^uint64(n)), mix(^(kind<<40 ^ uint64(n)))
	for i := range b {
		if i == 11 {
			h1 = h2
		}
		b[i] = base62[h1%62]
		h1 /= 62
	}
	return string(b[:])
}

func artistID(i int) string   { return spotifyID(1, i) }
func trackID(i, k int) string { return spotifyID(2, i*tracksPerArtist+k) }
func albumID(i, j int) string { return spotifyID(3, i*albumsPerArtist+j) }

var (
	firstWords = []string{"Velvet", "Neon", "Silver", "Midnight", "Golden", "Electric", "Crimson", "Paper", "Quiet",
		"Wild", "Hollow", "Northern", "Lunar", "Broken", "Static", "Amber", "Glass", "Iron", "Scarlet", "Blue",
		"Pale", "Young", "Lost", "Sunday", "Echo", "Hidden", "Bright", "Tender", "Savage", "Cosmic"}
	secondWords = []string{"Harbor", "Wolves", "Garden", "Machines", "Rivers", "Saints", "Parade", "Lights", "Tides",
		"Kings", "Ghosts", "Horses", "Engines", "Orchard", "Choir", "Signals", "Atlas", "Comets", "Pines", "Lanterns",
		"Giants", "Sparrows", "Mirrors", "Canyons", "Embers", "Islands", "Sirens", "Owls", "Dunes", "Rockets"}
	genreStyles = []string{"indie", "dark", "nordic", "latin", "dream", "post", "alt", "deep", "acoustic", "neo",
		"synth", "progressive", "art", "garage", "chamber", "desert", "tropical", "classic", "modern", "lo-fi"}
	genreBases = []string{"pop", "rock", "jazz", "folk", "house", "techno", "soul", "punk", "metal", "hip hop",
		"r&b", "country", "ambient", "blues", "reggaeton", "cumbia", "disco", "wave", "trap", "funk"}
)

// artistName is unique per artist: two words and, past their 900
// combinations, a number ("Velvet Harbor", "Neon Wolves 7").
func (g generator) artistName(i int) string {
	n := len(firstWords) * len(secondWords)
	name := firstWords[i%len(firstWords)] + " " + secondWords[(i/len(firstWords))%len(secondWords)]
	if i >= n {
		name = fmt.Sprintf("%s %d", name, i/n)
	}
	return name
}

// genres are 0 to 3 of a skewed pool: a few genres hold many artists.
func (g generator) genres(i int) []string {
	pool := len(genreStyles) * len(genreBases)
	n := int(g.u(saltGenre, i) % 4)
	out := make([]string, 0, n)
	seen := map[int]bool{}
	for k := range n {
		x := int(float64(pool) * math.Pow(g.f(saltGenre, i, k+1), 3))
		if seen[x] {
			continue
		}
		seen[x] = true
		out = append(out, genreStyles[x/len(genreBases)]+" "+genreBases[x%len(genreBases)])
	}
	return out
}

// present reports whether artist i has a row on the d-th date.
func (g generator) present(i, d int) bool {
	return g.u(saltAbsent, i, d)%absentEvery != 0
}

// popularity drifts around the artist's level from date to date.
func (g generator) popularity(i, d int) int32 {
	level := 100 * math.Pow(g.f(saltPopularity, i), 1.5)
	phase := 6.28 * g.f(saltPopularity, i, -1)
	p := level + 6*math.Sin(float64(d)/4+phase) + 4*(g.f(saltPopularity, i, d)-0.5)
	return int32(min(100, max(0, math.Round(p))))
}

// followers grow a little every date from a log-uniform level.
func (g generator) followers(i, d int) int64 {
	level := math.Pow(10, 2+5.5*g.f(saltFollowers, i))
	growth := 0.002 * g.f(saltFollowers, i, -1)
	return int64(level * (1 + growth*float64(d)))
}

func (g generator) trackPopularity(i, k, d int) int32 {
	p := float64(g.popularity(i, d)) - 3*float64(k) + 10*(g.f(saltTrack, i, k, d)-0.5)
	return int32(min(100, max(0, math.Round(p))))
}

// topTrackOrder is the artist's top tracks of the day, most popular first.
func (g generator) topTrackOrder(i, d int) []int {
	order := make([]int, tracksPerArtist)
	for k := range order {
		order[k] = k
	}
	pop := make([]int32, tracksPerArtist)
	for k := range pop {
		pop[k] = g.trackPopularity(i, k, d)
	}
	// Insertion sort: twelve items.
	for a := 1; a < len(order); a++ {
		for b := a; b > 0 && (pop[order[b]] > pop[order[b-1]] ||
			pop[order[b]] == pop[order[b-1]] && order[b] < order[b-1]); b-- {
			order[b], order[b-1] = order[b-1], order[b]
		}
	}
	return order[:topTracks]
}

// rejectReason is why the k-th top-track item of artist i is rejected on
// date d, or "" when it is kept: a few per thousand, more on some dates, so
// the rejects chart has a shape.
func (g generator) rejectReason(i, k, d int) string {
	per := uint64(2000)
	if d%7 == 3 {
		per = 400
	}
	if g.u(saltReject, i, k, d)%per != 0 {
		return ""
	}
	reasons := []string{"popularity_out_of_range", "value_out_of_range", "invalid_id", "missing_field"}
	return reasons[g.u(saltReject, i, k, d, 1)%uint64(len(reasons))]
}

func (g generator) trackName(i, k int) string {
	return fmt.Sprintf("%s %s", secondWords[(i+k)%len(secondWords)], firstWords[(i*7+k)%len(firstWords)])
}

func (g generator) durationMS(i, k int) int32 {
	return int32(120_000 + g.u(saltTrack, i, k)%240_000)
}

// album j of artist i: its release date (within 30 years before last) and
// type.
func (g generator) album(i, j int, last tables.Date) (name, kind string, released tables.Date, precision string) {
	kinds := []string{"album", "single", "album", "compilation", "single"}
	kind = kinds[g.u(saltAlbum, i, j)%uint64(len(kinds))]
	released = last - tables.Date(g.u(saltAlbum, i, j, 1)%(30*365))
	precision = "day"
	if g.u(saltAlbum, i, j, 2)%10 == 0 {
		precision = "year"
		y := released.Time().Year()
		released = tables.DateOf(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	return fmt.Sprintf("%s of %s", firstWords[(i+j)%len(firstWords)], secondWords[(i*3+j)%len(secondWords)]), kind, released, precision
}

// albumOf is the album of track k.
func albumOf(k int) int { return k % albumsPerArtist }

func (g generator) feature(i, k int, fetched time.Time) tables.AudioFeature {
	f := func(n int) float64 { return math.Round(g.f(saltFeature, i, k, n)*1e4) / 1e4 }
	return tables.AudioFeature{
		TrackID: trackID(i, k), Danceability: f(1), Energy: f(2), Key: int32(g.u(saltFeature, i, k, 3) % 12),
		Loudness: -30 * f(4), Mode: int32(g.u(saltFeature, i, k, 5) % 2), Speechiness: f(6), Acousticness: f(7),
		Instrumentalness: f(8), Liveness: f(9), Valence: f(10), Tempo: 60 + 120*f(11),
		DurationMS: g.durationMS(i, k), TimeSignature: 4, FetchedAt: fetched,
	}
}
