package analytics

import (
	"context"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// Rows as builds before TIMESTAMP and DATE columns wrote them: capture
// times and release dates as text, no late_capture, no fetched_at on top
// tracks.
type (
	oldArtist struct {
		ArtistID   string   `parquet:"artist_id"`
		Name       string   `parquet:"name"`
		Genres     []string `parquet:"genres,list"`
		Popularity *int32   `parquet:"popularity,optional"`
		Followers  *int64   `parquet:"followers,optional"`
		FetchedAt  string   `parquet:"fetched_at"`
	}
	oldAlbum struct {
		AlbumID              string `parquet:"album_id"`
		ArtistID             string `parquet:"artist_id"`
		Name                 string `parquet:"name"`
		AlbumType            string `parquet:"album_type"`
		ReleaseDate          string `parquet:"release_date"`
		ReleaseDatePrecision string `parquet:"release_date_precision"`
		TotalTracks          int32  `parquet:"total_tracks"`
		FetchedAt            string `parquet:"fetched_at"`
	}
	oldTopTrack struct {
		ArtistID string `parquet:"artist_id"`
		Market   string `parquet:"market"`
		Rank     int32  `parquet:"rank"`
		TrackID  string `parquet:"track_id"`
	}
	oldArtistDaily struct {
		ArtistID   string `parquet:"artist_id"`
		Name       string `parquet:"name"`
		PreviousDT string `parquet:"previous_dt,optional"`
	}
)

// The DuckDB views read a lake whose older partitions were written with
// text capture times and dates and without late_capture, next to new ones:
// every column has its new type, the marts build, and instants order as
// instants.
func TestViewsReadOldAndNewPartitions(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	store, err := lake.Open(ctx, "file://"+root)
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string, write func(string) error) {
		t.Helper()
		if err := write(key); err != nil {
			t.Fatal(err)
		}
	}
	// day1, old: two fetches of a1, whose text order is not their time
	// order (RFC3339Nano trims trailing zeros).
	put(lake.PartKey(lake.CuratedPrefix(tables.Artists, day1), 0), func(k string) error {
		return lake.WriteParquet(ctx, store, k, []oldArtist{
			{ArtistID: "a1", Name: "Later", Genres: []string{"rock"}, Popularity: i32(40), Followers: i64(100), FetchedAt: "2026-03-01T06:00:00.5Z"},
			{ArtistID: "a1", Name: "Earlier", Genres: []string{"rock"}, Popularity: i32(41), Followers: i64(110), FetchedAt: "2026-03-01T06:00:00Z"},
		})
	})
	put(lake.PartKey(lake.CuratedPrefix(tables.Albums, day1), 0), func(k string) error {
		return lake.WriteParquet(ctx, store, k, []oldAlbum{{AlbumID: "al1", ArtistID: "a1", Name: "A", AlbumType: "album",
			ReleaseDate: "2019-05-01", ReleaseDatePrecision: "day", TotalTracks: 1, FetchedAt: "2026-03-01T06:00:00Z"}})
	})
	put(lake.PartKey(lake.CuratedPrefix(tables.ArtistTopTracks, day1), 0), func(k string) error {
		return lake.WriteParquet(ctx, store, k, []oldTopTrack{{ArtistID: "a1", Market: "US", Rank: 1, TrackID: "t1"}})
	})
	put(lake.PartKey(lake.MartPrefix(ArtistDaily, day1), 0), func(k string) error {
		return lake.WriteParquet(ctx, store, k, []oldArtistDaily{{ArtistID: "a1", Name: "Later"}})
	})
	// day2, new.
	at := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	writeLake(t, root, dataset{day2: {
		artists:   []tables.Artist{{ArtistID: "a1", Name: "Alpha", Popularity: i32(45), Followers: i64(150), FetchedAt: at}},
		albums:    []tables.Album{{AlbumID: "al2", ArtistID: "a1", Name: "B", AlbumType: "single", ReleaseDate: date("2021-01-01"), ReleaseDatePrecision: "day", FetchedAt: at}},
		topTracks: []tables.ArtistTopTrack{{ArtistID: "a1", Market: "US", Rank: 1, TrackID: "t1", FetchedAt: at}},
	}})

	d := newTestDuckDB(t)
	if _, err := d.BuildMarts(ctx, root, day2); err != nil {
		t.Fatalf("marts over old and new partitions: %v", err)
	}
	for _, tc := range []struct{ view, column, want string }{
		{tables.Artists, "fetched_at", "TIMESTAMP WITH TIME ZONE"},
		{tables.Artists, "late_capture", "BOOLEAN"},
		{tables.Albums, "release_date", "DATE"},
		{tables.ArtistTopTracks, "fetched_at", "TIMESTAMP WITH TIME ZONE"},
		{ArtistDaily, "previous_dt", "DATE"},
		{ArtistDaily, "late_capture", "BOOLEAN"},
	} {
		res, err := d.Query(ctx, root, "SELECT column_type FROM (DESCRIBE SELECT * FROM "+tc.view+") WHERE column_name = '"+tc.column+"'")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 1 || res.Rows[0][0] != tc.want {
			t.Errorf("%s.%s: type %v, want %s", tc.view, tc.column, res.Rows, tc.want)
		}
	}

	// Old text instants are compared as instants: 06:00:00.5 is the later,
	// though "06:00:00Z" sorts after "06:00:00.5Z" as text.
	res, err := d.Query(ctx, root, "SELECT name, late_capture FROM artists WHERE dt = '"+day1+"' ORDER BY fetched_at DESC LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != "Later" || res.Rows[0][1] != nil {
		t.Errorf("latest old fetch = %v; want Later, late_capture NULL (unknown)", res.Rows[0])
	}
	daily := martRows(t, d, root, ArtistDaily, day2)
	if len(daily) != 1 || daily[0]["previous_dt"] != day1 || daily[0]["previous_popularity"] != int64(40) ||
		daily[0]["late_capture"] != false {
		t.Errorf("artist_daily of %s = %v; want the comparison with the old %s (popularity 40)", day2, daily, day1)
	}
	disco := martRows(t, d, root, ArtistDiscography, day2)
	if len(disco) != 1 || disco[0]["first_release_date"] != "2019-05-01" || disco[0]["latest_release_date"] != "2021-01-01" {
		t.Errorf("artist_discography of %s = %v; want releases from the old and the new partition", day2, disco)
	}
}
