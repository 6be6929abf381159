package lake_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// checkDataPageV1 fails unless every data page of every column chunk of the
// Parquet file at path is a Data Page V1, as read by Apache Arrow's reader.
// Snowflake and several Spark and Trino versions reject or mis-read V2 pages.
func checkDataPageV1(t *testing.T, path string) {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("arrow: open %s: %v", path, err)
	}
	defer r.Close()
	for g := range r.NumRowGroups() {
		rg := r.RowGroup(g)
		for c := range rg.NumColumns() {
			pages, err := rg.GetColumnPageReader(c)
			if err != nil {
				t.Fatalf("%s row group %d column %d: %v", path, g, c, err)
			}
			data := 0
			for pages.Next() {
				switch typ := pages.Page().Type(); typ {
				case file.PageTypeDataPage:
					data++
				case file.PageTypeDictionaryPage:
				default:
					t.Errorf("%s row group %d column %s: page type %s, want DATA_PAGE",
						path, g, r.MetaData().Schema.Column(c).Path(), typ)
				}
			}
			if err := pages.Err(); err != nil {
				t.Fatalf("%s row group %d column %d: %v", path, g, c, err)
			}
			if data == 0 {
				t.Errorf("%s row group %d column %s: no DATA_PAGE", path, g, r.MetaData().Schema.Column(c).Path())
			}
		}
	}
}

// Both writers of the lake write Data Page V1.
func TestWritersWriteDataPageV1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := lake.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var rows []tables.Album
	for i := range 300 {
		rows = append(rows, tables.Album{AlbumID: "al", ArtistID: "ar", Name: "n", AlbumType: "album",
			ReleaseDate: tables.DateOf(at), ReleaseDatePrecision: "day", Label: ptr("l"),
			AvailableMarkets: []string{"DE", "US"}, FetchedAt: at.Add(time.Duration(i) * time.Second)})
	}
	w, err := lake.NewPartitionWriter[tables.Album](s, lake.CuratedPrefix(tables.Albums, "2026-11-01"),
		lake.WithRowGroupRows(100), lake.WithCompression(lake.Snappy))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range w.Keys() {
		checkDataPageV1(t, filepath.Join(dir, filepath.FromSlash(k)))
	}
	if err := lake.WriteParquet(ctx, s, "single.parquet", rows); err != nil {
		t.Fatal(err)
	}
	checkDataPageV1(t, filepath.Join(dir, "single.parquet"))
}
