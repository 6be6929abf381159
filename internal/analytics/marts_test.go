package analytics

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/metronome-data/metronome/internal/nearly"
	"github.com/metronome-data/metronome/internal/tables"
)

const (
	day1 = "2026-03-01"
	day2 = "2026-03-02"
	day3 = "2026-03-03" // the logical date the tests build
	day4 = "2026-03-04" // later data that must not leak into day3
)

func fetched(dt string, hour int) time.Time {
	t, err := time.Parse(time.DateOnly, dt)
	if err != nil {
		panic(err)
	}
	return t.Add(time.Duration(hour) * time.Hour)
}

func date(day string) tables.Date {
	d, err := tables.ParseDate(day)
	if err != nil {
		panic(err)
	}
	return d
}

func feature(track string, base float64) tables.AudioFeature {
	return tables.AudioFeature{
		TrackID: track, Danceability: base, Energy: 1 - base, Key: 5, Loudness: -20 + 10*base, Mode: 1,
		Speechiness: base / 2, Acousticness: base * base, Instrumentalness: 0.1, Liveness: 0.3 * base,
		Valence: 0.5, Tempo: 90 + 60*base, DurationMS: 200000, TimeSignature: 4,
	}
}

// extendedLake is a hand-made extended-mode lake: popularity and followers,
// top tracks and audio features, plus albums for the discography.
func extendedLake() dataset {
	artist := func(id, name, dt string, pop int32, followers *int64, genres ...string) tables.Artist {
		return tables.Artist{ArtistID: id, Name: name, Genres: append([]string{}, genres...), Popularity: i32(pop), Followers: followers, FetchedAt: fetched(dt, 6)}
	}
	track := func(id, artist, album string, pop *int32) tables.Track {
		return tables.Track{TrackID: id, Name: "track " + id, ArtistID: artist, AlbumID: album, DurationMS: 180000, Popularity: pop, FetchedAt: fetched(day3, 6)}
	}
	top := func(artist, market string, rank int32, track string) tables.ArtistTopTrack {
		return tables.ArtistTopTrack{ArtistID: artist, Market: market, Rank: rank, TrackID: track}
	}
	album := func(id, artist, typ, day, dt string) tables.Album {
		return tables.Album{AlbumID: id, ArtistID: artist, Name: "album " + id, AlbumType: typ, ReleaseDate: date(day), ReleaseDatePrecision: "day", TotalTracks: 2, FetchedAt: fetched(dt, 6)}
	}
	albumTrack := func(id, artist, album string, ms int32, explicit bool, dt string) tables.Track {
		return tables.Track{TrackID: id, Name: "track " + id, ArtistID: artist, AlbumID: album, DurationMS: ms, Explicit: explicit, FetchedAt: fetched(dt, 6)}
	}
	stale := artist("a1", "Alpha", day3, 1, i64(1), "rock", "indie")
	stale.FetchedAt = fetched(day3, 1)

	return dataset{
		day1: {
			artists: []tables.Artist{
				artist("a1", "Alpha", day1, 40, i64(1000), "rock", "indie"),
				artist("a3", "Gamma", day1, 30, i64(300), "pop", "indie"),
			},
			features: []tables.AudioFeature{feature("t1", 0.2)},
		},
		day2: {
			artists: []tables.Artist{
				artist("a1", "Alpha", day2, 45, i64(1200), "rock", "indie"),
				artist("a2", "Beta", day2, 70, i64(5000), "rock"),
				artist("a5", "Epsilon", day2, 12, i64(7)),
			},
			albums: []tables.Album{
				album("al1", "a1", "album", "2019-05-01", day2),
				album("al2", "a1", "single", "2020-12-31", day2),
			},
			tracks: []tables.Track{
				albumTrack("x1", "a1", "al1", 200000, true, day2),
				albumTrack("x2", "a1", "al1", 180000, false, day2),
				track("t1", "a1", "alb-top", i32(5)),
			},
			features: []tables.AudioFeature{feature("t5", 0.9)},
		},
		day3: {
			artists: []tables.Artist{
				artist("a1", "Alpha", day3, 50, i64(1500), "rock", "indie"),
				artist("a2", "Beta", day3, 68, i64(4900), "rock"),
				artist("a3", "Gamma", day3, 35, i64(400), "pop", "indie"),
				artist("a4", "Delta", day3, 20, i64(50), "pop"),
				artist("a5", "Epsilon", day3, 10, nil),
				artist("a6", "Zeta", day3, 55, i64(2000), "rock", "pop", "rock"),
				artist("a7", "Eta", day3, 35, i64(5000), "pop"), // ties with a3 on popularity
			},
			// An older fetch of a1 on the same day, in another file.
			extraArtists: []tables.Artist{stale},
			albums: []tables.Album{
				album("al2", "a1", "single", "2021-01-01", day3), // corrected release date
				album("al3", "a1", "compilation", "2021-06-01", day3),
				album("bl1", "a2", "album", "2010-01-01", day3),
			},
			tracks: []tables.Track{
				track("t1", "a1", "alb-top", i32(60)),
				track("t1", "a6", "alb-top", i32(60)),
				track("t2", "a1", "alb-top", i32(70)),
				track("t3", "a1", "alb-top", nil),
				track("t4", "a2", "alb-top", i32(80)),
				track("t5", "a2", "alb-top", i32(90)),
				track("t6", "a3", "alb-top", i32(10)),
				track("t7", "a6", "alb-top", i32(50)),
				track("t8", "a6", "alb-top", i32(55)),
				albumTrack("x3", "a1", "al2", 210000, false, day3),
				albumTrack("x4", "a1", "al3", 150000, true, day3),
				albumTrack("y1", "a2", "bl1", 240000, false, day3),
				albumTrack("y2", "a2", "gone", 240000, true, day3), // album unknown: not discography
			},
			topTracks: []tables.ArtistTopTrack{
				top("a1", "US", 1, "t1"), top("a1", "US", 2, "t2"), top("a1", "US", 3, "t3"),
				top("a1", "GB", 1, "t1"),
				top("a2", "US", 1, "t4"), top("a2", "US", 2, "t5"),
				top("a3", "US", 1, "t6"),
				top("a6", "US", 1, "t7"), top("a6", "US", 2, "t8"), top("a6", "US", 3, "t1"),
			},
			features: []tables.AudioFeature{
				feature("t2", 0.4), feature("t4", 0.8), feature("t6", 0.1), feature("t7", 0.5), feature("t8", 0.6),
			},
		},
		day4: {
			artists: []tables.Artist{artist("a1", "Alpha", day4, 99, i64(9999), "rock", "indie")},
			albums:  []tables.Album{album("al4", "a1", "album", "2026-03-04", day4)},
			features: []tables.AudioFeature{
				feature("t2", 0.99), feature("t3", 0.7),
			},
		},
	}
}

// developmentLake is a development-mode lake: no popularity, no followers,
// no top tracks, no audio features (those tables have no partition at all).
func developmentLake() dataset {
	artist := func(id, name, dt string, genres ...string) tables.Artist {
		return tables.Artist{ArtistID: id, Name: name, Genres: append([]string{}, genres...), FetchedAt: fetched(dt, 6)}
	}
	album := func(id, artist, typ, day, dt string) tables.Album {
		return tables.Album{AlbumID: id, ArtistID: artist, Name: "album " + id, AlbumType: typ, ReleaseDate: date(day), ReleaseDatePrecision: "day", TotalTracks: 1, FetchedAt: fetched(dt, 6)}
	}
	track := func(id, artist, album string, ms int32, explicit bool, dt string) tables.Track {
		return tables.Track{TrackID: id, Name: "track " + id, ArtistID: artist, AlbumID: album, DurationMS: ms, Explicit: explicit, FetchedAt: fetched(dt, 6)}
	}
	return dataset{
		day2: {
			artists: []tables.Artist{artist("d1", "Dev One", day2, "jazz"), artist("d2", "Dev Two", day2, "jazz", "soul")},
			albums: []tables.Album{
				album("m1", "d1", "album", "2001-01-01", day2),
				album("m2", "d1", "single", "2001-07-01", day2),
			},
			tracks: []tables.Track{
				track("s1", "d1", "m1", 100000, false, day2),
				track("s2", "d1", "m2", 300000, true, day2),
			},
		},
		day3: {
			artists: []tables.Artist{
				artist("d1", "Dev One", day3, "jazz"),
				artist("d2", "Dev Two", day3, "jazz", "soul"),
				artist("d3", "Dev Three", day3, "soul"),
			},
			// Incremental collection: only the new release of d1.
			albums: []tables.Album{
				album("m3", "d1", "album", "2026-02-01", day3),
				album("n1", "d2", "single", "1999-01-01", day3),
			},
			tracks: []tables.Track{
				track("s3", "d1", "m3", 200000, false, day3),
				track("s4", "d2", "n1", 240000, false, day3),
			},
		},
	}
}

// newTestDuckDB opens an engine with small limits, closed when the test ends.
func newTestDuckDB(tb testing.TB, opts ...Option) *DuckDB {
	tb.Helper()
	d, err := NewDuckDB(append([]Option{WithThreads(2), WithMemoryLimit("1GB"), WithTempDir(tb.TempDir())}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Error(err)
		}
	})
	return d
}

// martRows reads the partition dt of mart back through the mart view.
func martRows(t *testing.T, d *DuckDB, root, mart, dt string) []map[string]any {
	t.Helper()
	// The order of each mart's SQL: a mart may be several files.
	order := map[string]string{
		ArtistDaily: "artist_id", ArtistDiscography: "artist_id",
		ArtistSimilarity: "artist_id, rank", GenreDaily: "genre",
	}[mart]
	res, err := d.Query(context.Background(), root, "SELECT * FROM "+mart+" WHERE dt = '"+dt+"' ORDER BY "+order)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	for _, r := range res.Rows {
		row := map[string]any{}
		for i, c := range res.Columns {
			if c != "dt" {
				row[c] = plain(r[i])
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// plain turns driver values into the reference's types.
func plain(v any) any {
	switch v := v.(type) {
	case int32:
		return int64(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = plain(e)
		}
		return out
	}
	return v
}

func columns(row map[string]any) []string {
	var cols []string
	for c := range row {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	return cols
}

// checkRows compares mart rows with the reference, row by row in order.
func checkRows(t *testing.T, mart string, got, want []map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d\ngot:  %v\nwant: %v", mart, len(got), len(want), got, want)
	}
	for i := range want {
		if g, w := columns(got[i]), columns(want[i]); !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: columns %v, want %v", mart, g, w)
		}
		for _, c := range columns(want[i]) {
			if !nearly.Equal(want[i][c], got[i][c]) {
				t.Errorf("%s row %d (%v): %s = %#v, want %#v", mart, i, want[i][columns(want[i])[0]], c, got[i][c], want[i][c])
			}
		}
	}
}

func buildLake(t *testing.T, d *DuckDB, ds dataset, dt string) (string, MartsReport) {
	t.Helper()
	root := t.TempDir()
	writeLake(t, root, ds)
	report, err := d.BuildMarts(context.Background(), root, dt)
	if err != nil {
		t.Fatal(err)
	}
	return root, report
}

func TestBuildMartsMatchesReference(t *testing.T) {
	d := newTestDuckDB(t)
	for _, tc := range []struct {
		name string
		ds   dataset
	}{
		{"extended", extendedLake()},
		{"development", developmentLake()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, report := buildLake(t, d, tc.ds, day3)
			want := map[string][]map[string]any{
				ArtistDaily:       refArtistDaily(tc.ds, day3),
				GenreDaily:        refGenreDaily(tc.ds, day3),
				ArtistDiscography: refDiscography(tc.ds, day3),
				ArtistSimilarity:  refSimilarity(tc.ds, day3, DefaultSimilarityBlockSize),
			}
			for _, mart := range Marts {
				if len(want[mart]) == 0 {
					t.Fatalf("%s: reference is empty; the dataset does not exercise it", mart)
				}
				checkRows(t, mart, martRows(t, d, root, mart, day3), want[mart])
				if got := report.Rows[mart]; got != int64(len(want[mart])) {
					t.Errorf("report rows of %s = %d, want %d", mart, got, len(want[mart]))
				}
			}
		})
	}
}

// TestExtendedMartValues pins a few values by hand, so that a mistake shared by
// the SQL and the reference would still show.
func TestExtendedMartValues(t *testing.T) {
	d := newTestDuckDB(t)
	root, _ := buildLake(t, d, extendedLake(), day3)
	byID := func(rows []map[string]any, key, id string) map[string]any {
		for _, r := range rows {
			if r[key] == id {
				return r
			}
		}
		t.Fatalf("no row %s = %s", key, id)
		return nil
	}

	daily := martRows(t, d, root, ArtistDaily, day3)
	a1 := byID(daily, "artist_id", "a1")
	for col, want := range map[string]any{
		"popularity": int64(50), "previous_dt": day2, "popularity_change": int64(5), "followers_change": int64(300),
		"top_track_count": int64(3), "mean_track_popularity": 65.0, "audio_feature_tracks": int64(2),
		"mean_danceability": 0.3, // t1 from day1 (0.2) and t2 from day3 (0.4), not day4's 0.99
	} {
		if !nearly.Equal(want, a1[col]) {
			t.Errorf("artist_daily a1 %s = %#v, want %#v", col, a1[col], want)
		}
	}
	a3 := byID(daily, "artist_id", "a3")
	if a3["previous_dt"] != day1 || a3["followers_change"] != int64(100) {
		t.Errorf("artist_daily a3 previous_dt = %v, followers_change = %v; want %s, 100", a3["previous_dt"], a3["followers_change"], day1)
	}
	a5 := byID(daily, "artist_id", "a5")
	if a5["followers"] != nil || a5["followers_change"] != nil || a5["top_track_count"] != nil || a5["popularity_change"] != int64(-2) {
		t.Errorf("artist_daily a5 = %v; want NULL followers, change and top tracks, popularity change -2", a5)
	}

	genres := martRows(t, d, root, GenreDaily, day3)
	rock := byID(genres, "genre", "rock")
	if !nearly.Equal([]any{"Beta", "Zeta", "Alpha"}, rock["top_artists"]) || rock["artists"] != int64(3) || rock["total_followers"] != int64(8400) {
		t.Errorf("genre_daily rock = %v", rock)
	}
	if pop := byID(genres, "genre", "pop"); !nearly.Equal([]any{"Zeta", "Eta", "Gamma"}, pop["top_artists"]) {
		t.Errorf("genre_daily pop top artists = %v, want Zeta, Eta, Gamma (followers break the tie)", pop["top_artists"])
	}

	disc := byID(martRows(t, d, root, ArtistDiscography, day3), "artist_id", "a1")
	if disc["release_count"] != int64(3) || disc["latest_release_date"] != "2021-06-01" || disc["track_count"] != int64(4) || !nearly.Equal(0.5, disc["explicit_share"]) {
		t.Errorf("artist_discography a1 = %v", disc)
	}

	var partners []string
	for _, r := range martRows(t, d, root, ArtistSimilarity, day3) {
		if r["artist_id"] == "a5" {
			t.Errorf("artist_similarity: a5 has no genre, yet has similar artist %v", r["similar_artist_id"])
		}
		if r["artist_id"] == "a4" {
			partners = append(partners, r["similar_artist_id"].(string)+":"+r["basis"].(string))
		}
	}
	sort.Strings(partners)
	if want := []string{"a3:genres", "a6:genres", "a7:genres"}; !reflect.DeepEqual(partners, want) {
		t.Errorf("similar artists of a4 = %v, want %v", partners, want)
	}
}

func TestDevelopmentModeKeepsNull(t *testing.T) {
	d := newTestDuckDB(t)
	root, _ := buildLake(t, d, developmentLake(), day3)
	nullColumns := map[string][]string{
		ArtistDaily: {"popularity", "followers", "popularity_change", "followers_change", "top_track_count",
			"mean_track_popularity", "audio_feature_tracks", "mean_danceability", "mean_tempo"},
		GenreDaily:        {"mean_popularity", "total_followers"},
		ArtistDiscography: {"popularity", "followers"},
	}
	for mart, cols := range nullColumns {
		rows := martRows(t, d, root, mart, day3)
		if len(rows) == 0 {
			t.Fatalf("%s: no rows", mart)
		}
		for _, r := range rows {
			for _, c := range cols {
				if r[c] != nil {
					t.Errorf("%s: %s = %#v, want NULL", mart, c, r[c])
				}
			}
		}
	}
	for _, r := range martRows(t, d, root, ArtistSimilarity, day3) {
		if r["basis"] != "genres" {
			t.Errorf("artist_similarity basis = %v, want genres", r["basis"])
		}
	}
	// d1's discography spans both partitions: m1, m2 from day2, m3 from day3.
	for _, r := range martRows(t, d, root, ArtistDiscography, day3) {
		if r["artist_id"] == "d1" && (r["release_count"] != int64(3) || r["track_count"] != int64(3)) {
			t.Errorf("artist_discography d1 = %v, want 3 releases and 3 tracks", r)
		}
		if r["artist_id"] == "d3" && (r["release_count"] != nil || r["track_count"] != nil) {
			t.Errorf("artist_discography d3 without releases = %v, want NULL counts", r)
		}
	}
}

func TestSimilarityBlocksAndScores(t *testing.T) {
	ds := syntheticLake(60, 7, 0.5)
	tests := []struct {
		block, slice int // slice: artists per part of the mart
		wantParts    int
	}{
		{block: 3, slice: DefaultSimilaritySliceSize, wantParts: 1},
		{block: 8, slice: DefaultSimilaritySliceSize, wantParts: 1},
		{block: 8, slice: 7, wantParts: 9},
		{block: 8, slice: 1, wantParts: 60},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("block=%d,slice=%d", tt.block, tt.slice), func(t *testing.T) {
			d := newTestDuckDB(t, WithSimilarityBlockSize(tt.block), WithSimilaritySliceSize(tt.slice))
			root, report := buildLake(t, d, ds, day3)
			got := martRows(t, d, root, ArtistSimilarity, day3)
			checkSimilarity(t, got, refSimilarity(ds, day3, tt.block))
			parts := 0
			for _, k := range report.Keys {
				if strings.HasPrefix(k, "marts/"+ArtistSimilarity+"/") {
					parts++
				}
			}
			if parts != tt.wantParts {
				t.Errorf("artist_similarity in %d parts, want %d", parts, tt.wantParts)
			}
		})
	}
}

// checkSimilarity compares similarity rows with the reference. Scores must
// match at every rank; the artists of equal scores may come in either order
// only if the scores differ by floating-point noise.
func checkSimilarity(t *testing.T, got, want []map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("artist_similarity: %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g["artist_id"] != w["artist_id"] || g["rank"] != w["rank"] || !nearly.Equal(w["score"], g["score"]) {
			t.Fatalf("artist_similarity row %d: got %v, want %v", i, g, w)
		}
		if g["similar_artist_id"] != w["similar_artist_id"] {
			near := false
			for j := range want {
				if want[j]["artist_id"] == w["artist_id"] && want[j]["similar_artist_id"] == g["similar_artist_id"] &&
					math.Abs(want[j]["score"].(float64)-w["score"].(float64)) < 1e-12 {
					near = true
				}
			}
			if !near {
				t.Fatalf("artist_similarity row %d: got %v, want %v", i, g, w)
			}
			continue
		}
		for _, c := range []string{"name", "similar_name", "basis", "shared_genres"} {
			if !nearly.Equal(w[c], g[c]) {
				t.Errorf("artist_similarity row %d: %s = %v, want %v", i, c, g[c], w[c])
			}
		}
	}
}

func TestBuildMartsPublishesAndReplaces(t *testing.T) {
	d := newTestDuckDB(t)
	ds := extendedLake()
	root, report := buildLake(t, d, ds, day3)

	var wantKeys []string
	for _, m := range Marts {
		wantKeys = append(wantKeys, "marts/"+m+"/dt="+day3+"/part-00000.parquet")
	}
	if !reflect.DeepEqual(report.Keys, wantKeys) {
		t.Errorf("keys = %v, want %v", report.Keys, wantKeys)
	}
	for _, k := range report.Keys {
		if _, err := os.Stat(filepath.Join(root, k)); err != nil {
			t.Errorf("key %s: %v", k, err)
		}
	}
	leftovers, err := filepath.Glob(filepath.Join(root, "_staging", "*"))
	if err != nil || len(leftovers) != 0 {
		t.Errorf("staging leftovers %v (%v)", leftovers, err)
	}

	// Rebuild the same date with one artist fewer: the partition is replaced whole.
	p := ds[day3]
	p.artists = p.artists[1:]
	p.extraArtists = nil
	if err := os.RemoveAll(filepath.Join(root, "curated")); err != nil {
		t.Fatal(err)
	}
	writeLake(t, root, ds)
	report, err = d.BuildMarts(context.Background(), root, day3)
	if err != nil {
		t.Fatal(err)
	}
	rows := martRows(t, d, root, ArtistDaily, day3)
	checkRows(t, ArtistDaily, rows, refArtistDaily(ds, day3))
	if report.Rows[ArtistDaily] != int64(len(rows)) {
		t.Errorf("report rows %d, mart has %d", report.Rows[ArtistDaily], len(rows))
	}
	files, _ := filepath.Glob(filepath.Join(root, "marts", ArtistDaily, "dt="+day3, "*"))
	if len(files) != 1 {
		t.Errorf("partition files after rebuild = %v, want one", files)
	}
}

// TestMartFileIsPlainParquet reads a mart with parquet-go, as a consumer
// without DuckDB would.
func TestMartFileIsPlainParquet(t *testing.T) {
	d := newTestDuckDB(t)
	root, report := buildLake(t, d, extendedLake(), day3)
	type row struct {
		ArtistID        *string  `parquet:"artist_id,optional"`
		Rank            *int32   `parquet:"rank,optional"`
		SimilarArtistID *string  `parquet:"similar_artist_id,optional"`
		Score           *float64 `parquet:"score,optional"`
	}
	rows, err := parquet.ReadFile[row](filepath.Join(root, "marts", ArtistSimilarity, "dt="+day3, "part-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(rows)) != report.Rows[ArtistSimilarity] || len(rows) == 0 {
		t.Fatalf("parquet-go read %d rows, report says %d", len(rows), report.Rows[ArtistSimilarity])
	}
	if rows[0].ArtistID == nil || *rows[0].ArtistID != "a1" || rows[0].Rank == nil || *rows[0].Rank != 1 || rows[0].Score == nil {
		t.Errorf("first row = %+v", rows[0])
	}
}

func TestBuildMartsRejectsBadInput(t *testing.T) {
	d := newTestDuckDB(t)
	root := t.TempDir()
	for _, tc := range []struct {
		name, root, dt, want string
	}{
		{"bad date", root, "2026-13-01", `"2026-13-01"`},
		{"short date", root, "2026-3-1", `"2026-3-1"`},
		{"sql in date", root, "2026-03-01' OR '1", "YYYY-MM-DD"},
		{"s3 lake", "s3://bucket/lake", day3, "local lake"},
		{"missing lake", filepath.Join(root, "nope"), day3, "nope"},
		{"glob in lake", filepath.Join(root, "a*"), day3, "glob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.BuildMarts(context.Background(), tc.root, tc.dt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestBuildMartsOnEmptyLake(t *testing.T) {
	d := newTestDuckDB(t)
	root := t.TempDir()
	report, err := d.BuildMarts(context.Background(), "file://"+root, day3)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Marts {
		if report.Rows[m] != 0 {
			t.Errorf("%s: %d rows from an empty lake", m, report.Rows[m])
		}
	}
	if len(report.Keys) != len(Marts) {
		t.Errorf("keys = %v, want one empty partition per mart", report.Keys)
	}
}

func TestSimilar(t *testing.T) {
	for _, slice := range []int{DefaultSimilaritySliceSize, 2} {
		t.Run(fmt.Sprint("slice=", slice), func(t *testing.T) { testSimilar(t, slice) })
	}
}

// testSimilar reads a mart built in parts of slice artists.
func testSimilar(t *testing.T, slice int) {
	d := newTestDuckDB(t, WithSimilaritySliceSize(slice))
	ds := extendedLake()
	root, _ := buildLake(t, d, ds, day3)
	want := map[string][]SimilarArtist{}
	for _, r := range refSimilarity(ds, day3, DefaultSimilarityBlockSize) {
		id := r["artist_id"].(string)
		want[id] = append(want[id], SimilarArtist{
			ArtistID: r["similar_artist_id"].(string), Name: r["similar_name"].(string),
			Score: r["score"].(float64), Rank: int(r["rank"].(int64)),
		})
	}

	got := map[string][]SimilarArtist{}
	var order []string
	err := d.Similar(context.Background(), root, day3, func(id string, similar []SimilarArtist) error {
		order = append(order, id)
		got[id] = similar
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != len(want) || (slice == DefaultSimilaritySliceSize && !sort.StringsAreSorted(order)) {
		t.Errorf("artists %v: want each of %d once, sorted within the one part", order, len(want))
	}
	for id, w := range want {
		g := got[id]
		if len(g) != len(w) {
			t.Fatalf("%s: %d similar, want %d", id, len(g), len(w))
		}
		for i := range w {
			if g[i].ArtistID != w[i].ArtistID || g[i].Name != w[i].Name || g[i].Rank != w[i].Rank || !nearly.Equal(w[i].Score, g[i].Score) {
				t.Errorf("%s #%d = %+v, want %+v", id, i+1, g[i], w[i])
			}
		}
	}

	stop := errors.New("stop")
	calls := 0
	err = d.Similar(context.Background(), root, day3, func(string, []SimilarArtist) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("callback error: err = %v after %d calls, want stop after 1", err, calls)
	}
	err = d.Similar(context.Background(), root, day1, func(string, []SimilarArtist) error { return nil })
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing partition: err = %v, want fs.ErrNotExist", err)
	}

	// A part copied under another name repeats its artists.
	dir := filepath.Join(root, "marts", ArtistSimilarity, "dt="+day3)
	part, err := os.ReadFile(filepath.Join(dir, "part-00000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "part-99999.parquet"), part, 0o644); err != nil {
		t.Fatal(err)
	}
	err = d.Similar(context.Background(), root, day3, func(string, []SimilarArtist) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "in two parts") {
		t.Errorf("overlapping parts: err = %v, want an artist in two parts", err)
	}
}

func TestMartSQL(t *testing.T) {
	for _, mart := range Marts {
		q, err := MartSQL(mart, MartParams{DT: day3})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(q, "{{") || !strings.Contains(q, "'"+day3+"'") || strings.HasSuffix(q, ";") {
			t.Errorf("%s: placeholders left, date missing or trailing semicolon:\n%s", mart, q)
		}
		// Keep to the SQL that Athena (Trino) shares with DuckDB.
		upper := strings.ToUpper(q)
		for _, word := range []string{"QUALIFY", "EXCLUDE", "LIST_", " // ", "::", "STRUCT_PACK", "ILIKE"} {
			if strings.Contains(upper, word) {
				t.Errorf("%s: uses DuckDB-only %q", mart, word)
			}
		}
	}
	if _, err := MartSQL("nope", MartParams{DT: day3}); err == nil {
		t.Error("unknown mart: no error")
	}
	if _, err := MartSQL(ArtistSimilarity, MartParams{DT: day3, SimilarityBlockSize: 1}); err == nil {
		t.Error("block size 1: no error")
	}
}

func TestBuildMartsCanceled(t *testing.T) {
	d := newTestDuckDB(t)
	root := t.TempDir()
	writeLake(t, root, extendedLake())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.BuildMarts(ctx, root, day3); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(root, "marts")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a canceled build published marts (stat: %v)", err)
	}
}

// artist_daily never compares across a late capture: when the date's row or
// the previous date's row is one, the previous_* and *_change columns are
// NULL; late_capture says which rows are late.
func TestArtistDailyLateCapture(t *testing.T) {
	ds := extendedLake()
	for i := range ds[day2].artists {
		ds[day2].artists[i].LateCapture = true
	}
	d := newTestDuckDB(t)
	root, _ := buildLake(t, d, ds, day3)
	got := martRows(t, d, root, ArtistDaily, day3)
	checkRows(t, ArtistDaily, got, refArtistDaily(ds, day3))
	byID := map[string]map[string]any{}
	for _, r := range got {
		byID[r["artist_id"].(string)] = r
	}
	// a1 and a2 appeared last on day2, a late capture; a3 on day1.
	for _, id := range []string{"a1", "a2"} {
		r := byID[id]
		for _, c := range []string{"previous_dt", "previous_popularity", "previous_followers", "popularity_change", "followers_change"} {
			if r[c] != nil {
				t.Errorf("%s: %s = %v after a late capture, want NULL", id, c, r[c])
			}
		}
		if r["late_capture"] != false {
			t.Errorf("%s: late_capture = %v, want false", id, r["late_capture"])
		}
	}
	if r := byID["a3"]; r["previous_dt"] != day1 || r["popularity_change"] != int64(5) {
		t.Errorf("a3 = %v; want the comparison with %s", r, day1)
	}

	// The late date itself compares with nothing either.
	if _, err := d.BuildMarts(context.Background(), root, day2); err != nil {
		t.Fatal(err)
	}
	for _, r := range martRows(t, d, root, ArtistDaily, day2) {
		if r["late_capture"] != true || r["previous_dt"] != nil || r["followers_change"] != nil {
			t.Errorf("late %s row %v; want late_capture and no comparison", day2, r)
		}
	}
}
