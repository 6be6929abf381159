package serving

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/testservers"
)

// BenchmarkArtistRead reads one stored artist (snapshot, 10 top tracks,
// 10 similar) per op on each backend, beside a single get of one item:
// on DynamoDB (dynalite, skipped with -short) an answer should cost about
// one round trip, since its four reads go at once; on SQLite the view
// cache answers.
//
//	go test -run '^$' -bench ArtistRead ./internal/serving
func BenchmarkArtistRead(b *testing.B) {
	ctx := context.Background()
	const id = "4Z8W4fKeB5YxbusRsdQVPb"
	for _, backend := range []string{"sqlite", "dynamodb"} {
		b.Run(backend, func(b *testing.B) {
			s := openBackendForBench(b, backend)
			require.NoError(b, s.PutArtists(ctx, "2026-11-01", []ArtistSnapshot{{ID: id, Name: "Bench", Genres: []string{"rock"}}}))
			var top []TopTrack
			var similar []Similar
			for r := range 10 {
				top = append(top, TopTrack{ID: fmt.Sprint("t", r), Name: fmt.Sprint("Track ", r), DurationMS: 1000})
				similar = append(similar, Similar{ArtistID: fmt.Sprintf("%022d", r), Name: fmt.Sprint("S", r), Score: 0.5})
			}
			require.NoError(b, s.PutTopTracks(ctx, "2026-11-01", id, top))
			require.NoError(b, s.PutSimilar(ctx, "2026-11-01", id, similar))
			b.Run("one-get", func(b *testing.B) {
				for range b.N {
					if _, _, err := s.t.get(ctx, key{artistPK(id), skMeta}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("artist", func(b *testing.B) {
				for range b.N {
					if _, ok, err := s.Artist(ctx, id); err != nil || !ok {
						b.Fatal(ok, err)
					}
				}
			})
			b.Run("artist-uncached", func(b *testing.B) {
				for range b.N {
					if _, ok, err := s.readArtist(ctx, id); err != nil || !ok {
						b.Fatal(ok, err)
					}
				}
			})
		})
	}
}

func openBackendForBench(b *testing.B, backend string) *Store {
	b.Helper()
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(b.TempDir(), "serving.db")
	var opts []Option
	if backend == "dynamodb" {
		opts = dynamoOptions(testservers.StartDynalite(b))
		url = fmt.Sprintf("dynamodb://serving-bench-%d", tableSeq.Add(1))
		require.NoError(b, CreateTable(ctx, url, opts...))
	}
	s, err := Open(ctx, url, opts...)
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, s.Close()) })
	return s
}
