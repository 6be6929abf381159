package serving

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The view cache never answers from before a write: whether the write
// comes through the same Store or through another one on the same file
// (another process, such as the worker), and whether it is a newer date or
// a same-date rewrite of one list. Misses are cached and invalidated too.
func TestViewCacheSeesEveryWrite(t *testing.T) {
	ctx := context.Background()
	const id = "4Z8W4fKeB5YxbusRsdQVPb"
	tests := []struct {
		name  string
		write func(t *testing.T, s *Store)
		check func(t *testing.T, v ArtistView)
	}{
		{"newer snapshot", func(t *testing.T, s *Store) {
			require.NoError(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{{ID: id, Name: "Renamed"}}))
		}, func(t *testing.T, v ArtistView) {
			require.Equal(t, "Renamed", v.Name)
			require.Equal(t, "2026-11-02", v.DT)
		}},
		{"same-date top tracks", func(t *testing.T, s *Store) {
			require.NoError(t, s.PutTopTracks(ctx, "2026-11-01", id, []TopTrack{{ID: "t9", Name: "Rewritten"}}))
		}, func(t *testing.T, v ArtistView) {
			require.Len(t, v.TopTracks, 1)
			require.Equal(t, "Rewritten", v.TopTracks[0].Name)
		}},
		{"a request item elsewhere in the table", func(t *testing.T, s *Store) {
			require.NoError(t, s.PutRequest(ctx, Request{ID: "r1", Artist: "x"}))
		}, func(t *testing.T, v ArtistView) {
			require.Equal(t, "Before", v.Name)
		}},
	}
	for _, tt := range tests {
		for _, writer := range []string{"same store", "another store on the file"} {
			t.Run(tt.name+", "+writer, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "serving.db")
				s, err := Open(ctx, "sqlite://"+path)
				require.NoError(t, err)
				defer s.Close()
				w := s
				if writer != "same store" {
					w, err = Open(ctx, "sqlite://"+path)
					require.NoError(t, err)
					defer w.Close()
				}
				_, found, err := s.Artist(ctx, id)
				require.NoError(t, err)
				require.False(t, found, "a miss, cached")
				require.NoError(t, w.PutArtists(ctx, "2026-11-01", []ArtistSnapshot{{ID: id, Name: "Before"}}))
				require.NoError(t, w.PutTopTracks(ctx, "2026-11-01", id, []TopTrack{{ID: "t1", Name: "One"}, {ID: "t2", Name: "Two"}}))
				require.NoError(t, w.PutName(ctx, "Before", id, NameExact))
				v, found, err := s.Artist(ctx, id)
				require.NoError(t, err)
				require.True(t, found, "the miss was invalidated")
				require.Equal(t, "Before", v.Name)
				byName, found, err := s.ArtistByName(ctx, "before")
				require.NoError(t, err)
				require.True(t, found)
				require.Equal(t, id, byName.ID)
				v.TopTracks[0].Name = "changed by a caller" // must not reach the cache
				again, _, err := s.Artist(ctx, id)
				require.NoError(t, err)
				require.Equal(t, "One", again.TopTracks[0].Name, "the cached answer is a copy")

				tt.write(t, w)
				v, found, err = s.Artist(ctx, id)
				require.NoError(t, err)
				require.True(t, found)
				tt.check(t, v)
				byName, _, err = s.ArtistByName(ctx, "Before")
				require.NoError(t, err)
				tt.check(t, byName)
			})
		}
	}
}

// After Close the version connection stays closed: a read still in flight
// (a handler that outlived its deadline) gets an error instead of opening
// the file again behind the closed Store.
func TestViewCacheVersionAfterClose(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "serving.db"))
	require.NoError(t, err)
	_, _, err = s.Artist(ctx, "4Z8W4fKeB5YxbusRsdQVPb")
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.views.version(ctx)
	require.ErrorContains(t, err, "closed")
	_, _, err = s.Artist(ctx, "4Z8W4fKeB5YxbusRsdQVPb")
	require.Error(t, err)
}
