package analytics

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metronome-data/metronome/internal/lake"
)

// withGenres sets the genres of the artists of dt (nil: NULL).
func withGenres(ds dataset, dt string, genres func(i int) []string) dataset {
	for i := range ds[dt].artists {
		ds[dt].artists[i].Genres = genres(i)
	}
	return ds
}

// TestGenreMartsWithoutGenres: when no artist of the date has known
// genres (development mode serves them absent or null), genre_daily and
// artist_similarity are not published as empty marts: the report says why
// and an earlier partition of the date is removed. Known genres, even
// empty lists, build the marts as always.
func TestGenreMartsWithoutGenres(t *testing.T) {
	d := newTestDuckDB(t)
	tests := []struct {
		name    string
		genres  func(i int) []string
		skipped bool
		genre   int64 // genre_daily rows when not skipped
	}{
		{"all NULL", func(int) []string { return nil }, true, 0},
		{"some NULL", func(i int) []string {
			if i == 0 {
				return nil
			}
			return []string{"soul"}
		}, false, 1},
		{"all empty lists", func(int) []string { return []string{} }, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A first build with genres leaves partitions of the date.
			root, _ := buildLake(t, d, developmentLake(), day3)
			if _, err := d.BuildMarts(context.Background(), root, day2); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(root, "curated")); err != nil {
				t.Fatal(err)
			}
			writeLake(t, root, withGenres(developmentLake(), day3, tt.genres))
			report, err := d.BuildMarts(context.Background(), root, day3)
			if err != nil {
				t.Fatal(err)
			}

			for _, mart := range []string{ArtistDaily, ArtistDiscography} {
				if report.Rows[mart] != 3 || report.Skipped[mart] != "" {
					t.Errorf("%s: %d rows, skipped %q; want 3 rows", mart, report.Rows[mart], report.Skipped[mart])
				}
			}
			if !tt.skipped {
				if len(report.Skipped) != 0 {
					t.Errorf("skipped %v, want none", report.Skipped)
				}
				if got := report.Rows[GenreDaily]; got != tt.genre {
					t.Errorf("genre_daily rows = %d, want %d", got, tt.genre)
				}
				return
			}
			for _, mart := range genreMarts {
				why := report.Skipped[mart]
				if !strings.Contains(why, "genres absent for all 3 artists") {
					t.Errorf("%s skipped because %q, want the genres absent for all 3 artists", mart, why)
				}
				if _, ok := report.Rows[mart]; ok {
					t.Errorf("%s has rows %d in the report", mart, report.Rows[mart])
				}
				for _, k := range report.Keys {
					if strings.HasPrefix(k, "marts/"+mart+"/") {
						t.Errorf("%s: key %s in the report", mart, k)
					}
				}
				files, _ := filepath.Glob(filepath.Join(root, "marts", mart, "dt="+day3, "*"))
				if len(files) != 0 {
					t.Errorf("%s: partition of %s still holds %v", mart, day3, files)
				}
				if rows := martRows(t, d, root, mart, day3); len(rows) != 0 {
					t.Errorf("%s: %d rows read for %s", mart, len(rows), day3)
				}
			}
			if rows := martRows(t, d, root, GenreDaily, day2); len(rows) == 0 {
				t.Error("genre_daily of the day before is gone")
			}
		})
	}
}

// TestGenreMartsWithoutGenresInRemoteLake: the same through a remote lake,
// whose skipped partitions end up without objects.
func TestGenreMartsWithoutGenresInRemoteLake(t *testing.T) {
	root, store := newRemoteLake(t)
	writeLake(t, root, withGenres(developmentLake(), day3, func(int) []string { return nil }))
	old := lake.PartKey(lake.MartPrefix(GenreDaily, day3), 0)
	if err := store.Put(context.Background(), old, strings.NewReader("earlier build")); err != nil {
		t.Fatal(err)
	}
	d := newTestDuckDB(t)
	report, err := d.BuildMartsInLake(context.Background(), store, day3)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Skipped) != len(genreMarts) {
		t.Errorf("skipped %v, want %v", report.Skipped, genreMarts)
	}
	for _, mart := range genreMarts {
		if keys, _ := store.List(context.Background(), lake.MartPrefix(mart, day3)); len(keys) != 0 {
			t.Errorf("%s of %s holds %v", mart, day3, keys)
		}
	}
	if keys, _ := store.List(context.Background(), lake.MartPrefix(ArtistDaily, day3)); len(keys) != 1 {
		t.Errorf("artist_daily of %s holds %v, want one part", day3, keys)
	}
}

// TestAthenaSkipsGenreMartsWithoutGenres: Athena's UNLOADs of the genre
// marts come back empty, one more query counts the artists with genres,
// and with none the genre marts are skipped.
func TestAthenaSkipsGenreMartsWithoutGenres(t *testing.T) {
	_, store := newRemoteLake(t)
	ctx := context.Background()
	f := newFakeAthena(t)
	f.script = func(sql string) fakeScript {
		if strings.HasPrefix(sql, "SELECT COUNT(DISTINCT artist_id)") {
			if !strings.Contains(sql, "dt = '"+day3+"'") {
				t.Errorf("coverage query not of %s:\n%s", day3, sql)
			}
			return fakeScript{columns: [][2]string{{"artists", "bigint"}, {"with_genres", "bigint"}},
				rows: [][]*string{str("3", "0")}}
		}
		m := unloadLocation.FindStringSubmatch(sql)
		if m == nil {
			t.Errorf("neither an UNLOAD nor the coverage query:\n%s", sql)
			return fakeScript{states: []string{"FAILED"}}
		}
		return fakeScript{onSuccess: func() {
			prefix := strings.TrimPrefix(m[1], "s3://bucket/lake/")
			if mart := filepath.Base(prefix); mart == ArtistDaily || mart == ArtistDiscography {
				if err := store.Put(ctx, prefix+"file_0", strings.NewReader(string(parquetRows(t, 3)))); err != nil {
					t.Error(err)
				}
			}
		}}
	}
	report, err := f.engine(t, nil).BuildMartsInLake(ctx, store, day3)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.calls("StartQueryExecution")); n != len(Marts)+1 {
		t.Errorf("%d queries, want one per mart and the coverage query", n)
	}
	for _, mart := range genreMarts {
		if !strings.Contains(report.Skipped[mart], "all 3 artists") {
			t.Errorf("%s skipped because %q", mart, report.Skipped[mart])
		}
	}
	if report.Rows[ArtistDaily] != 3 || len(report.Rows) != 2 || len(report.Keys) != 2 {
		t.Errorf("rows %v, keys %v; want artist_daily and artist_discography only", report.Rows, report.Keys)
	}
}
