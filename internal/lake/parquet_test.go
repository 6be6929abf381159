package lake_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

func ptr[T any](v T) *T { return &v }

// NULL and zero must survive a round trip as different values: a
// development-mode artist has no popularity, which is not popularity 0.
func TestParquetRoundTripNulls(t *testing.T) {
	ctx := context.Background()
	for _, c := range []lake.Compression{lake.Zstd, lake.Snappy} {
		t.Run(string(c), func(t *testing.T) {
			s, err := lake.Open(ctx, "file://"+t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			// Never the zero time: parquet-go reads a TIMESTAMP back through
			// Unix nanoseconds, which year 1 overflows.
			at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			artists := []tables.Artist{
				{ArtistID: "4Z8W4fKeB5YxbusRsdQVPb", Name: "Radiohead", Genres: []string{"art rock", "alternative rock"},
					Popularity: ptr[int32](0), Followers: ptr[int64](0), ImageURL: ptr("https://i.scdn.co/image/x"),
					SpotifyURL: ptr("https://open.spotify.com/artist/4Z8W4fKeB5YxbusRsdQVPb"), FetchedAt: time.Date(2026, 11, 1, 10, 0, 0, 123456000, time.UTC), LateCapture: true},
				{ArtistID: "0oSGxfWSnnOXhD2fKuz2Gy", Name: "David Bowie", Genres: []string{},
					Popularity: nil, Followers: nil, ImageURL: nil, SpotifyURL: nil, FetchedAt: time.Date(2026, 11, 1, 10, 0, 1, 0, time.UTC)},
			}
			albums := []tables.Album{
				{AlbumID: "6dVIqQ8qmQ5GBnJ9shOYGE", ArtistID: "4Z8W4fKeB5YxbusRsdQVPb", Name: "OK Computer", AlbumType: "album",
					ReleaseDate: tables.DateOf(time.Date(1997, 5, 21, 0, 0, 0, 0, time.UTC)), ReleaseDatePrecision: "day", TotalTracks: 12,
					Label: nil, Popularity: ptr[int32](77), AvailableMarkets: []string{"DE", "US"}, FetchedAt: at, LateCapture: true},
				{AlbumID: "2fGCAYUMssLKiUAoNdxGLx", ArtistID: "4Z8W4fKeB5YxbusRsdQVPb", Name: "Kid A", AlbumType: "album",
					ReleaseDate: tables.DateOf(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)), ReleaseDatePrecision: "year", AvailableMarkets: nil, FetchedAt: at},
				// Available nowhere: an empty list, which is not NULL (unknown).
				{AlbumID: "1bt6q2SruMsBtcerNVtpZB", ArtistID: "4Z8W4fKeB5YxbusRsdQVPb", Name: "Amnesiac", AlbumType: "album",
					ReleaseDate: tables.DateOf(time.Date(2001, 6, 5, 0, 0, 0, 0, time.UTC)), ReleaseDatePrecision: "day", AvailableMarkets: []string{}, FetchedAt: at},
			}
			prefix := lake.CuratedPrefix(tables.Artists, "2026-11-01")
			w, err := lake.NewPartitionWriter[tables.Artist](s, prefix, lake.WithCompression(c))
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(ctx, artists); err != nil {
				t.Fatal(err)
			}
			if err := w.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			got := readAll[tables.Artist](t, s, w.Keys()[0])
			// A required empty list reads back as nil; both mean "no genres".
			if got[1].Genres == nil {
				got[1].Genres = []string{}
			}
			if !reflect.DeepEqual(got, artists) {
				t.Errorf("artists round trip:\n got %+v\nwant %+v", got, artists)
			}

			key := "curated/albums/dt=2026-11-01/part-00000.parquet"
			if err := lake.WriteParquet(ctx, s, key, albums, lake.WithCompression(c)); err != nil {
				t.Fatal(err)
			}
			gotAlbums := readAll[tables.Album](t, s, key)
			if !reflect.DeepEqual(gotAlbums, albums) {
				t.Errorf("albums round trip:\n got %+v\nwant %+v", gotAlbums, albums)
			}
			if gotAlbums[1].AvailableMarkets != nil {
				t.Errorf("NULL markets read back as %q", gotAlbums[1].AvailableMarkets)
			}
		})
	}
}

func TestPartitionWriterEmptyPartition(t *testing.T) {
	ctx := context.Background()
	s, err := lake.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	prefix := lake.CuratedPrefix(tables.AudioFeatures, "2026-11-01")
	w, err := lake.NewPartitionWriter[tables.AudioFeature](s, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if keys := w.Keys(); len(keys) != 1 {
		t.Fatalf("empty partition has parts %q, want one schema-only part", keys)
	}
	if rows := readAll[tables.AudioFeature](t, s, w.Keys()[0]); len(rows) != 0 {
		t.Fatalf("empty partition part holds %d rows", len(rows))
	}
}

func TestNewPartitionWriterRejectsBadOptions(t *testing.T) {
	s, err := lake.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		prefix string
		opts   []lake.WriterOption
	}{
		{"no trailing slash", "curated/x/dt=2026-11-01", nil},
		{"inside staging", "_staging/x/", nil},
		{"bad codec", "curated/x/", []lake.WriterOption{lake.WithCompression("lzo")}},
		{"zero part rows", "curated/x/", []lake.WriterOption{lake.WithPartRows(0)}},
		{"staging outside root", "curated/x/", []lake.WriterOption{lake.WithStagingPrefix("tmp/")}},
	}
	for _, tt := range tests {
		if _, err := lake.NewPartitionWriter[thing](s, tt.prefix, tt.opts...); err == nil {
			t.Errorf("%s: NewPartitionWriter succeeded, want an error", tt.name)
		}
	}
}

func TestReadParquetErrors(t *testing.T) {
	ctx := context.Background()
	s, err := lake.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = lake.ReadParquet(ctx, s, "missing.parquet", func(thing) error { return nil })
	if !errors.Is(err, lake.ErrNotFound) {
		t.Errorf("missing file: error = %v, want ErrNotFound", err)
	}
	put(t, s, "junk.parquet", "this is not parquet")
	if err := lake.ReadParquet(ctx, s, "junk.parquet", func(thing) error { return nil }); err == nil {
		t.Error("junk file: want an error")
	}
	// A file whose schema cannot become T is an error, not a panic.
	if err := lake.WriteParquet(ctx, s, "things.parquet", []thing{{ID: 1, Name: "a"}}); err != nil {
		t.Fatal(err)
	}
	type clash struct {
		ID string `parquet:"id,list"`
	}
	if err := lake.ReadParquet(ctx, s, "things.parquet", func(clash) error { return nil }); err == nil {
		t.Error("incompatible schema: want an error")
	}
}

func readAll[T any](t *testing.T, s lake.Store, key string) []T {
	t.Helper()
	var rows []T
	if err := lake.ReadParquet(context.Background(), s, key, func(r T) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestPublishOnlyFromStaging(t *testing.T) {
	ctx := context.Background()
	s, err := lake.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Files another writer (e.g. an engine) put into a staging prefix.
	put(t, s, "_staging/engine/marts/m/dt=2026-11-01/part-00000.parquet", "p0")
	if err := lake.Publish(ctx, s, "curated/m/dt=2026-11-02/", "marts/m/dt=2026-11-01/"); err == nil {
		t.Error("Publish from outside _staging/ succeeded")
	}
	if err := lake.Publish(ctx, s, "_staging/engine/marts/m/dt=2026-11-01/", lake.MartPrefix("m", "2026-11-01")); err != nil {
		t.Fatal(err)
	}
	if got := list(t, s, ""); len(got) != 1 || got[0] != "marts/m/dt=2026-11-01/part-00000.parquet" {
		t.Fatalf("after Publish the lake holds %q", got)
	}
}
