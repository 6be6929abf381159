package analytics

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/tables"
)

func TestColumns(t *testing.T) {
	tests := []struct {
		table     string
		wantFirst Column
		want      Column // one column further on
		wantErr   string
	}{
		{table: tables.Artists, wantFirst: Column{"artist_id", "string"}, want: Column{"genres", "array<string>"}},
		{table: tables.Albums, wantFirst: Column{"album_id", "string"}, want: Column{"release_date", "date"}},
		{table: tables.Tracks, wantFirst: Column{"track_id", "string"}, want: Column{"fetched_at", "timestamp"}},
		{table: ArtistDaily, wantFirst: Column{"artist_id", "string"}, want: Column{"followers_change", "bigint"}},
		{table: GenreDaily, wantFirst: Column{"genre", "string"}, want: Column{"top_artist_ids", "array<string>"}},
		{table: "playlists", wantErr: `table "playlists": not a curated table or mart (known: artists, albums, tracks, artist_top_tracks, audio_features, artist_daily, genre_daily, artist_discography, artist_similarity)`},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			cols, err := Columns(tt.table)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantFirst, cols[0])
			require.Contains(t, cols, tt.want)
		})
	}
	// Every table and mart has columns.
	for _, table := range append(append([]string{}, tables.All...), Marts...) {
		cols, err := Columns(table)
		require.NoError(t, err, table)
		require.NotEmpty(t, cols, table)
	}
}
