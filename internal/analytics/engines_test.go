package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// spotifyID makes a valid Spotify ID (22 base-62 characters).
func spotifyID(tag string, n int) string { return fmt.Sprintf("%s%0*d", tag, 22-len(tag), n) }

// writeRawDay writes a small extended-mode capture of dt: two artists, each
// with a listing, a full album of two tracks, top tracks and audio features.
func writeRawDay(t *testing.T, store lake.Store, dt string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	rec := func(endpoint, key string, data any) lake.RawRecord {
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		at = at.Add(1234567 * time.Nanosecond) // sub-microsecond digits, as Spotify's clock gives
		return lake.RawRecord{DT: dt, FetchedAt: at, Endpoint: endpoint, Key: key, Data: b}
	}
	type obj = map[string]any
	raw := map[string][]lake.RawRecord{}
	for i := 1; i <= 2; i++ {
		ar, al := spotifyID("ar", i), spotifyID("al", i)
		tr1, tr2 := spotifyID("tr", 2*i), spotifyID("tr", 2*i+1)
		precision, released := "day", "2020-03-15"
		if i == 2 {
			precision, released = "year", "1997" // becomes 1997-01-01, precision year
		}
		album := obj{"id": al, "name": "Album " + al, "album_type": "album", "total_tracks": 2,
			"release_date": released, "release_date_precision": precision, "available_markets": []string{"US"},
			"artists": []obj{{"id": ar}}}
		track := func(id string, n int) obj {
			return obj{"id": id, "name": "Track " + id, "duration_ms": 200000, "explicit": n == 2,
				"track_number": n, "disc_number": 1, "popularity": 40 + n, "available_markets": []string{"US"},
				"artists": []obj{{"id": ar}}, "album": obj{"id": al, "name": "Album " + al}}
		}
		full := obj{"tracks": obj{"items": []obj{track(tr1, 1), track(tr2, 2)}}, "label": "L", "popularity": 30}
		for k, v := range album {
			full[k] = v
		}
		raw[curate.EntityArtists] = append(raw[curate.EntityArtists], rec("/v1/artists?ids=", ar, obj{
			"id": ar, "name": "Artist " + ar, "genres": []string{"rock"}, "popularity": 50 + i,
			"followers": obj{"total": 1000 * i}, "images": []obj{}, "external_urls": obj{"spotify": "https://x/" + ar}}))
		raw[curate.EntityArtistAlbums] = append(raw[curate.EntityArtistAlbums], rec("/v1/artists/"+ar+"/albums", ar, obj{"items": []obj{album}}))
		raw[curate.EntityAlbums] = append(raw[curate.EntityAlbums], rec("/v1/albums/"+al, al, full))
		raw[curate.EntityTopTracks] = append(raw[curate.EntityTopTracks], rec("/v1/artists/"+ar+"/top-tracks?market=US", ar,
			obj{"tracks": []obj{track(tr1, 1), track(tr2, 2)}}))
		for _, id := range []string{tr1, tr2} {
			raw[curate.EntityAudioFeatures] = append(raw[curate.EntityAudioFeatures], rec("/v1/audio-features?ids=", id, obj{
				"id": id, "danceability": 0.5, "energy": 0.6, "key": 5, "loudness": -7.5, "mode": 1, "speechiness": 0.05,
				"acousticness": 0.1, "instrumentalness": 0.0, "liveness": 0.2, "valence": 0.4, "tempo": 120.0,
				"duration_ms": 200000, "time_signature": 4}))
		}
	}
	for entity, recs := range raw {
		if _, err := lake.WriteRaw(ctx, store, lake.RawKey(entity, dt, 0), recs); err != nil {
			t.Fatal(err)
		}
	}
}

// arrowToDuck is the DuckDB type, as DESCRIBE prints it, that DuckDB gives
// the Parquet column Arrow reads as t.
func arrowToDuck(t *testing.T, typ arrow.DataType) string {
	t.Helper()
	switch typ := typ.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return "VARCHAR"
	case *arrow.Int32Type:
		return "INTEGER"
	case *arrow.Int64Type:
		return "BIGINT"
	case *arrow.Float64Type:
		return "DOUBLE"
	case *arrow.BooleanType:
		return "BOOLEAN"
	case *arrow.Date32Type:
		return "DATE"
	case *arrow.TimestampType:
		if typ.TimeZone != "" {
			return "TIMESTAMP WITH TIME ZONE"
		}
		return "TIMESTAMP"
	case *arrow.ListType:
		return arrowToDuck(t, typ.Elem()) + "[]"
	case *arrow.StructType:
		fields := make([]string, typ.NumFields())
		for i, f := range typ.Fields() {
			fields[i] = f.Name + " " + arrowToDuck(t, f.Type)
		}
		return "STRUCT(" + strings.Join(fields, ", ") + ")"
	}
	t.Fatalf("Arrow type %s has no DuckDB type here", typ)
	return ""
}

// arrowRead reads a Parquet file with Apache Arrow (pqarrow): its schema and
// row count. It also fails the test unless every column chunk is made of
// Data Page V1 pages (and dictionary pages).
func arrowRead(t *testing.T, path string) (*arrow.Schema, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("arrow: open %s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("arrow: %s: %v", path, err)
	}
	table, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("arrow: read %s: %v", path, err)
	}
	defer table.Release()
	for g := range pf.NumRowGroups() {
		rg := pf.RowGroup(g)
		for c := range rg.NumColumns() {
			pages, err := rg.GetColumnPageReader(c)
			if err != nil {
				t.Fatal(err)
			}
			for pages.Next() {
				if typ := pages.Page().Type(); typ != file.PageTypeDataPage && typ != file.PageTypeDictionaryPage {
					t.Errorf("%s: column %s has a %s page, want DATA_PAGE (V1)", path, pf.MetaData().Schema.Column(c).Path(), typ)
				}
			}
			if err := pages.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return table.Schema(), table.NumRows()
}

// Every curated table and mart reads the same with Apache Arrow as with
// DuckDB (column types and row counts), has Data Page V1 pages only, and
// uses the engine-neutral types: TIMESTAMP (µs, UTC) capture times, DATE
// days, a non-null BOOLEAN late_capture.
func TestEveryEngineReadsTheLake(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	store, err := lake.Open(ctx, "file://"+root)
	if err != nil {
		t.Fatal(err)
	}
	days := []string{"2026-03-01", "2026-03-02"}
	for i, dt := range days {
		writeRawDay(t, store, dt, time.Date(2026, 3, 1+i, 6, 0, 0, 0, time.UTC))
		if _, err := curate.Run(ctx, store, dt, curate.Options{LateCapture: i == 1}); err != nil {
			t.Fatal(err)
		}
	}
	d := newTestDuckDB(t)
	if _, err := d.BuildMarts(ctx, root, days[1]); err != nil {
		t.Fatal(err)
	}

	var files []string
	for _, table := range tables.All {
		files = append(files, filepath.Join(root, "curated", table, "dt="+days[1], "part-00000.parquet"))
	}
	for _, mart := range Marts {
		files = append(files, filepath.Join(root, "marts", mart, "dt="+days[1], "part-00000.parquet"))
	}
	for _, path := range files {
		name := filepath.Base(filepath.Dir(filepath.Dir(path)))
		schema, rows := arrowRead(t, path)
		res, err := d.Query(ctx, root, fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet(%s, hive_partitioning = false)", quote(path)))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != schema.NumFields() {
			t.Errorf("%s: DuckDB reads %d columns, Arrow %d", name, len(res.Rows), schema.NumFields())
			continue
		}
		for i, f := range schema.Fields() {
			duckName, duckType := res.Rows[i][0].(string), res.Rows[i][1].(string)
			if f.Name != duckName || arrowToDuck(t, f.Type) != duckType {
				t.Errorf("%s column %d: Arrow reads %s %s, DuckDB %s %s", name, i, f.Name, f.Type, duckName, duckType)
			}
			switch f.Name {
			case "fetched_at":
				if ts, ok := f.Type.(*arrow.TimestampType); !ok || ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC" {
					t.Errorf("%s.fetched_at: %s, want timestamp[us, tz=UTC]", name, f.Type)
				}
			case "release_date", "previous_dt", "first_release_date", "latest_release_date":
				if f.Type.ID() != arrow.DATE32 {
					t.Errorf("%s.%s: %s, want date32", name, f.Name, f.Type)
				}
			case "late_capture":
				if f.Type.ID() != arrow.BOOL || (f.Nullable && !strings.HasPrefix(path, filepath.Join(root, "marts"))) {
					t.Errorf("%s.late_capture: %s (nullable %t), want a required bool", name, f.Type, f.Nullable)
				}
			}
		}
		res, err = d.Query(ctx, root, fmt.Sprintf("SELECT count(*) FROM read_parquet(%s, hive_partitioning = false)", quote(path)))
		if err != nil {
			t.Fatal(err)
		}
		if n := res.Rows[0][0].(int64); n != rows || rows == 0 {
			t.Errorf("%s: Arrow reads %d rows, DuckDB %d; want the same, not 0", name, rows, n)
		}
	}

	// The second day is a late capture: no day-over-day comparison.
	for _, row := range martRows(t, d, root, ArtistDaily, days[1]) {
		if row["late_capture"] != true || row["previous_dt"] != nil || row["popularity_change"] != nil {
			t.Errorf("artist_daily of a late capture: %v; want late_capture and no comparison", row)
		}
	}

	// Every curated table carries its capture: fetched_at and late_capture.
	for _, table := range tables.All {
		fields, err := rowColumns(curatedRow[table])
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, f := range fields {
			have[f.name] = true
		}
		if !have["fetched_at"] || !have["late_capture"] {
			t.Errorf("%s lacks fetched_at or late_capture", table)
		}
	}

	// The compression is one every engine reads.
	for _, path := range files {
		f, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatal(err)
		}
		for g := range f.NumRowGroups() {
			for c := range f.MetaData().NumColumns() {
				col, err := f.MetaData().RowGroup(g).ColumnChunk(c)
				if err != nil {
					t.Fatal(err)
				}
				if codec := col.Compression(); codec != compress.Codecs.Zstd && codec != compress.Codecs.Snappy {
					t.Errorf("%s: column %d compressed with %s, want zstd or snappy", path, c, codec)
				}
			}
		}
		f.Close()
	}
}
