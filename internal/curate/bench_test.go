package curate

import (
	"context"
	"testing"
	"time"
)

// benchLake writes a day of extended-mode raw data: artists in batches of
// 50, each with tracksPerArtist top tracks.
func benchLake(b *testing.B, artists, tracksPerArtist int) *rawLake {
	b.Helper()
	r := newRawLake()
	for i := range artists {
		batch := i / 50
		id := sid("ar", i)
		at := t0.Add(time.Duration(i) * time.Millisecond)
		r.add(EntityArtists, batch, at, "/v1/artists?ids=", id, apiArtistObj(id, "Artist"))
		tracks := make([]obj, tracksPerArtist)
		for j := range tracks {
			tracks[j] = apiTrackObj(sid("tr", i*tracksPerArtist+j), "Track", id, sid("al", i))
		}
		r.add(EntityTopTracks, batch, at, "/v1/artists/"+id+"/top-tracks?market=US", id, obj{"tracks": tracks})
	}
	return r
}

// BenchmarkRun cleans 10,000 artists with 10 top tracks each (100,000
// tracks) per operation on a file lake; rows/s counts the tracks.
func BenchmarkRun(b *testing.B) {
	const artists, perArtist = 10_000, 10
	s := openFileLake(b)
	benchLake(b, artists, perArtist).write(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := Run(context.Background(), s, testDT, Options{Market: "US"})
		if err != nil {
			b.Fatal(err)
		}
		if rep.RowsOut["tracks"] != artists*perArtist {
			b.Fatalf("tracks out = %d", rep.RowsOut["tracks"])
		}
	}
	b.ReportMetric(float64(artists*perArtist*b.N)/b.Elapsed().Seconds(), "rows/s")
}
