package benchlake

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/tables"
)

// small is a lake with every kind of date, small enough for a unit test.
var small = Config{Artists: 240, Dates: 17, Last: "2026-11-30", Seed: 3}

func TestGenerateWritesWhatThePipelineWrites(t *testing.T) {
	ctx := context.Background()
	l, err := Generate(ctx, t.TempDir(), small)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Dates) != 17 || l.Dates[0] != "2026-11-14" || l.Dates[16] != "2026-11-30" {
		t.Fatalf("dates %v: want 2026-11-14 … 2026-11-30", l.Dates)
	}
	store, err := lake.Open(ctx, l.LakeURL)
	if err != nil {
		t.Fatal(err)
	}
	duck, err := analytics.NewDuckDB()
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()

	kinds := map[string]int{}
	for d, dt := range l.Dates {
		m, err := activities.ReadManifest(ctx, store, dt)
		if err != nil {
			t.Fatal(err)
		}
		kinds[m.Kind]++
		if _, found, err := activities.ReadCapture(ctx, store, dt); err != nil || !found {
			t.Fatalf("capture record of %s: found %v, %v", dt, found, err)
		}
		if m.Kind == contract.KindReprocess && (m.Replaced == nil || m.Replaced.Kind != contract.KindCapture) {
			t.Errorf("reprocess of %s: replaced %+v, want the capture's manifest", dt, m.Replaced)
		}
		if len(m.RawObjects) != 2*m.Resolve.Batches {
			t.Errorf("%s: %d raw objects, want artists and top tracks of %d batches", dt, len(m.RawObjects), m.Resolve.Batches)
		}
		// The curated rows and mart rows are what the manifest says.
		res, err := duck.Query(ctx, l.LakeURL, "SELECT (SELECT count(*) FROM artists WHERE dt = '"+dt+"'), "+
			"(SELECT count(*) FROM artist_top_tracks WHERE dt = '"+dt+"'), (SELECT count(*) FROM artist_daily WHERE dt = '"+dt+"')")
		if err != nil {
			t.Fatal(err)
		}
		got := res.Rows[0]
		want := []any{int64(m.Clean.Report.RowsOut[tables.Artists]), int64(m.Clean.Report.RowsOut[tables.ArtistTopTracks]),
			m.Aggregate.Rows[analytics.ArtistDaily]}
		if !slices.Equal(got, want) {
			t.Errorf("%s: artists, top tracks, artist_daily rows %v, manifest says %v", dt, got, want)
		}
		if m.Clean.Report.RejectedTotal() == 0 && d%7 == 3 {
			t.Errorf("%s: no rejects on a date with a high reject rate", dt)
		}
		for _, key := range m.Clean.Report.QuarantineKeys {
			n := 0
			err := lake.ReadJSONL(ctx, store, key, func(activitiesQuarantine map[string]any) error {
				n++
				if !strings.HasPrefix(activitiesQuarantine["source"].(string), "raw/spotify/top_tracks/dt="+dt+"/") {
					t.Errorf("%s: quarantine source %v", key, activitiesQuarantine["source"])
				}
				return nil
			}, nil)
			if err != nil || n == 0 {
				t.Errorf("%s: %d records, %v", key, n, err)
			}
		}
	}
	if kinds[contract.KindLateCapture] != 1 || kinds[contract.KindReprocess] != 1 || kinds[contract.KindCapture] != 15 {
		t.Errorf("kinds %v: want 15 captures, a late capture and a reprocess", kinds)
	}

	serve, err := serving.Open(ctx, l.ServingURL)
	if err != nil {
		t.Fatal(err)
	}
	defer serve.Close()
	for i := range l.Artists {
		id, name, dates := l.Artist(i)
		history, err := serve.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range history {
			got = append(got, s.DT)
		}
		if !slices.Equal(got, dates) {
			t.Fatalf("artist %d: serving history on %v, lake on %v", i, got, dates)
		}
		if i > 0 {
			continue
		}
		v, ok, err := serve.Artist(ctx, id)
		if err != nil || !ok || v.Name != name || len(v.TopTracks) == 0 || len(v.Releases) == 0 {
			t.Fatalf("artist %s: %+v, %v, %v: want its name, top tracks and releases", id, v, ok, err)
		}
	}
}

func TestGapsAreGaps(t *testing.T) {
	l := newLake("/x", Config{Artists: 2000, Dates: 30, Last: "2026-11-30", Seed: 1})
	gaps := 0
	for i := range l.Artists {
		if _, _, dates := l.Artist(i); len(dates) < 30 {
			gaps++
		}
	}
	// One artist in 97 is missing on a date: about 27% miss one of 30.
	if gaps < 300 || gaps > 800 {
		t.Errorf("%d of 2000 artists have a gap: want about 540", gaps)
	}
}

func TestCachedBuildsOnceAndConcurrentCallersShareIt(t *testing.T) {
	t.Setenv("METRONOME_BENCH_CACHE", t.TempDir())
	cfg := Config{Artists: 60, Dates: 2, Seed: 9}
	var wg sync.WaitGroup
	lakes := make([]Lake, 2)
	errs := make([]error, 2)
	for i := range lakes {
		wg.Go(func() { lakes[i], errs[i] = Cached(context.Background(), cfg, t.Logf) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if lakes[0].Dir != lakes[1].Dir {
		t.Fatalf("two caches: %s and %s", lakes[0].Dir, lakes[1].Dir)
	}
	leftovers, _ := filepath.Glob(lakes[0].Dir + ".building-*")
	if len(leftovers) > 0 {
		t.Errorf("half-built lakes left: %v", leftovers)
	}
	if _, err := os.Stat(filepath.Join(lakes[0].Dir, "serving.db")); err != nil {
		t.Error(err)
	}
}
