package curate

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// curatedRows reads every curated table of testDT, rows in file order.
type curatedRows struct {
	Artists   []tables.Artist
	Albums    []tables.Album
	Tracks    []tables.Track
	TopTracks []tables.ArtistTopTrack
	Features  []tables.AudioFeature
}

func readCurated(t *testing.T, s lake.Store) curatedRows {
	t.Helper()
	return curatedRows{
		Artists:   readTable[tables.Artist](t, s, tables.Artists),
		Albums:    readTable[tables.Album](t, s, tables.Albums),
		Tracks:    readTable[tables.Track](t, s, tables.Tracks),
		TopTracks: readTable[tables.ArtistTopTrack](t, s, tables.ArtistTopTracks),
		Features:  readTable[tables.AudioFeature](t, s, tables.AudioFeatures),
	}
}

// Reprocessing a date from the same raw with the same code gives the same
// rows in the same order, whatever the run's segmenting and whenever it
// runs: capture times come from raw, never from the clock.
func TestCleanSameRawTwiceGivesIdenticalRows(t *testing.T) {
	ctx := context.Background()
	// Sub-microsecond fetch times: a TIMESTAMP column keeps microseconds.
	raw := scenario()
	raw.add(EntityArtists, 2, t0.Add(1500*time.Nanosecond), "/v1/artists?ids=", a2, apiArtistObj(a2, "Two again"))

	first, second := openFileLake(t), openFileLake(t)
	raw.write(t, first)
	raw.write(t, second)
	if _, err := Run(ctx, first, testDT, Options{Market: "US"}); err != nil {
		t.Fatal(err)
	}
	// Other segments and another temp dir must not change the rows.
	if _, err := Run(ctx, second, testDT, Options{Market: "US", CheckpointEvery: 1, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	a, b := readCurated(t, first), readCurated(t, second)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two cleans of the same raw differ:\nfirst  %+v\nsecond %+v", a, b)
	}
	if !reflect.DeepEqual(partitionBytes(t, first), partitionBytes(t, second)) {
		t.Error("two cleans of the same raw wrote different curated or quarantine bytes")
	}

	// Every row's fetched_at is one of raw's, to the microsecond.
	fetched := map[time.Time]bool{}
	for _, recs := range raw.objects {
		for _, r := range recs {
			fetched[r.FetchedAt.UTC().Truncate(time.Microsecond)] = true
		}
	}
	check := func(table string, at time.Time) {
		if !fetched[at] || at.Location() != time.UTC {
			t.Errorf("%s row fetched_at %v (%v) is not a raw record's fetch time in UTC", table, at, at.Location())
		}
	}
	for _, r := range a.Artists {
		check(tables.Artists, r.FetchedAt)
	}
	for _, r := range a.Albums {
		check(tables.Albums, r.FetchedAt)
	}
	for _, r := range a.Tracks {
		check(tables.Tracks, r.FetchedAt)
	}
	for _, r := range a.TopTracks {
		check(tables.ArtistTopTracks, r.FetchedAt)
	}
	for _, r := range a.Features {
		check(tables.AudioFeatures, r.FetchedAt)
	}
	for _, got := range a.Artists {
		if got.ArtistID == a2 && (got.Name != "Two again" || !got.FetchedAt.Equal(t0.Add(time.Microsecond))) {
			t.Errorf("a2 = %+v; want the later fetch, truncated to %v", got, t0.Add(time.Microsecond))
		}
	}
}

// Options.LateCapture sets late_capture on every row of every table, and
// only then.
func TestRunLateCaptureMarksEveryRow(t *testing.T) {
	ctx := context.Background()
	for _, late := range []bool{false, true} {
		s := openFileLake(t)
		scenario().write(t, s)
		if _, err := Run(ctx, s, testDT, Options{Market: "US", LateCapture: late}); err != nil {
			t.Fatal(err)
		}
		rows := readCurated(t, s)
		flags := map[string][]bool{}
		for _, r := range rows.Artists {
			flags[tables.Artists] = append(flags[tables.Artists], r.LateCapture)
		}
		for _, r := range rows.Albums {
			flags[tables.Albums] = append(flags[tables.Albums], r.LateCapture)
		}
		for _, r := range rows.Tracks {
			flags[tables.Tracks] = append(flags[tables.Tracks], r.LateCapture)
		}
		for _, r := range rows.TopTracks {
			flags[tables.ArtistTopTracks] = append(flags[tables.ArtistTopTracks], r.LateCapture)
		}
		for _, r := range rows.Features {
			flags[tables.AudioFeatures] = append(flags[tables.AudioFeatures], r.LateCapture)
		}
		for _, table := range tables.All {
			if len(flags[table]) == 0 {
				t.Errorf("late=%t: %s has no rows", late, table)
			}
			for i, f := range flags[table] {
				if f != late {
					t.Errorf("late=%t: %s row %d has late_capture %t", late, table, i, f)
				}
			}
		}
	}
}

// A resumed attempt does not reuse segments staged with another
// late-capture flag.
func TestResumeChecksLateCapture(t *testing.T) {
	ctx := context.Background()
	s := openFileLake(t)
	scenario().write(t, s)
	objects, err := listRaw(ctx, s, testDT)
	if err != nil {
		t.Fatal(err)
	}
	if fingerprint(objects, false) == fingerprint(objects, true) {
		t.Fatal("the checkpoint fingerprint ignores the late-capture flag")
	}
}
