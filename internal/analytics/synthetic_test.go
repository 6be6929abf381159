package analytics

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/metronome-data/metronome/internal/tables"
)

// syntheticLake generates a deterministic lake of n artists on day3: 0 to 3
// genres each from a skewed pool (a few genres hold a large share of the
// artists, as "pop" does), 10% without popularity, and top tracks with audio
// features for the given share of artists.
func syntheticLake(n int, seed uint64, featureShare float64) dataset {
	r := rand.New(rand.NewPCG(seed, 42))
	genreCount := max(5, n/30)
	p := &partition{}
	for i := range n {
		id := fmt.Sprintf("s%06d", i)
		var genres []string
		for range r.IntN(4) {
			genres = append(genres, fmt.Sprintf("genre-%03d", int(float64(genreCount)*math.Pow(r.Float64(), 3))))
		}
		a := tables.Artist{ArtistID: id, Name: "Artist " + id, Genres: append([]string{}, genres...), Followers: i64(r.Int64N(10_000_000)), FetchedAt: fetched(day3, 6)}
		if r.Float64() >= 0.1 {
			a.Popularity = i32(int32(r.IntN(101)))
		}
		p.artists = append(p.artists, a)
		if r.Float64() >= featureShare {
			continue
		}
		for k := range 10 {
			track := fmt.Sprintf("%s-t%d", id, k)
			p.topTracks = append(p.topTracks, tables.ArtistTopTrack{ArtistID: id, Market: "US", Rank: int32(k + 1), TrackID: track})
			p.features = append(p.features, tables.AudioFeature{
				TrackID: track, Danceability: r.Float64(), Energy: r.Float64(), Key: int32(r.IntN(12)),
				Loudness: -30 * r.Float64(), Mode: int32(r.IntN(2)), Speechiness: r.Float64(), Acousticness: r.Float64(),
				Instrumentalness: r.Float64(), Liveness: r.Float64(), Valence: r.Float64(), Tempo: 60 + 120*r.Float64(),
				DurationMS: int32(120_000 + r.IntN(240_000)), TimeSignature: 4,
			})
		}
	}
	return dataset{day3: p}
}
