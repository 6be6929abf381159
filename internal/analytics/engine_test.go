package analytics

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// remoteStore is a file store that poses as a remote one: it has an s3://
// URL and no local directory, so the engines take their remote paths, while
// the test can still look at the objects on disk.
type remoteStore struct {
	lake.Store
	url string
	// failPut makes Put fail for keys containing it, when not empty.
	failPut string
}

func (s *remoteStore) URL() string              { return s.url }
func (s *remoteStore) LocalDir() (string, bool) { return "", false }

func (s *remoteStore) Put(ctx context.Context, key string, r io.Reader) error {
	if s.failPut != "" && strings.Contains(key, s.failPut) {
		return errors.New("injected put failure")
	}
	return s.Store.Put(ctx, key, r)
}

// newRemoteLake returns the directory of a file store and the store posing
// as s3://bucket/lake.
func newRemoteLake(t *testing.T) (string, *remoteStore) {
	t.Helper()
	root := t.TempDir()
	fileStore, err := lake.Open(context.Background(), "file://"+root)
	if err != nil {
		t.Fatal(err)
	}
	return root, &remoteStore{Store: fileStore, url: "s3://bucket/lake"}
}

// progressLog records heartbeats.
type progressLog struct {
	mu    sync.Mutex
	steps []Progress
}

func (l *progressLog) record(_ context.Context, p Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, p)
}

func (l *progressLog) of(step string) []Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Progress
	for _, p := range l.steps {
		if p.Step == step {
			out = append(out, p)
		}
	}
	return out
}

// curatedFiles lists the curated part files under root of a valid dt <=
// through ("" for all) of the tables, as slash keys.
func curatedFiles(t *testing.T, root, through string, tableNames ...string) []string {
	t.Helper()
	var keys []string
	for _, table := range tableNames {
		files, err := filepath.Glob(filepath.Join(root, "curated", table, "dt=*", "part-*.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			dt := strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "dt=")
			if validateDT(dt) == nil && (through == "" || dt <= through) {
				rel, _ := filepath.Rel(root, f)
				keys = append(keys, filepath.ToSlash(rel))
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// filesUnder lists the regular files under dir as slash paths relative to it.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestStageFromLake(t *testing.T) {
	root, store := newRemoteLake(t)
	writeLake(t, root, extendedLake())
	// Objects DuckDB would not read must not be staged.
	for _, junk := range []string{
		"curated/artists/dt=" + day3 + "/_SUCCESS",
		"curated/artists/README.txt",
		"curated/artists/dt=2026-13-01/part-00000.parquet",
		"raw/spotify/artists/dt=" + day3 + "/batch=00000.jsonl.gz",
	} {
		if err := store.Put(context.Background(), junk, strings.NewReader("junk")); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name    string
		tables  []string
		through string
	}{
		{"all tables up to day3", tables.All, day3},
		{"one table, all dates", []string{tables.Artists}, ""},
		{"before any data", tables.All, "2020-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			staged, err := StageFromLake(context.Background(), store, tc.tables, tc.through, dir)
			if err != nil {
				t.Fatal(err)
			}
			want := curatedFiles(t, root, tc.through, tc.tables...)
			got := filesUnder(t, dir)
			if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
				t.Errorf("staged %v, want %v", got, want)
			}
			var bytes int64
			for _, key := range want {
				a, _ := os.ReadFile(filepath.Join(root, key))
				b, _ := os.ReadFile(filepath.Join(dir, key))
				if string(a) != string(b) {
					t.Errorf("%s: staged content differs", key)
				}
				bytes += int64(len(a))
			}
			if staged.Objects != len(want) || staged.Bytes != bytes {
				t.Errorf("staged = %+v, want %d objects, %d bytes", staged, len(want), bytes)
			}
		})
	}

	if len(curatedFiles(t, root, "", tables.Artists)) == len(curatedFiles(t, root, day3, tables.Artists)) {
		t.Fatal("the dataset has no artists after day3; the date filter is not exercised")
	}
	for _, tc := range []struct {
		name    string
		tables  []string
		through string
		want    string
	}{
		{"bad date", tables.All, "2026-3-3", "YYYY-MM-DD"},
		{"glob in table", []string{"art*"}, "", "not a table name"},
		{"path in table", []string{"../marts"}, "", "not a table name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StageFromLake(context.Background(), store, tc.tables, tc.through, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDuckDBBuildMartsInRemoteLake(t *testing.T) {
	ds := extendedLake()
	root, store := newRemoteLake(t)
	writeLake(t, root, ds)
	// A stale file of an earlier build: the partition is replaced whole.
	stale := lake.PartKey(lake.MartPrefix(ArtistDaily, day3), 9)
	if err := store.Put(context.Background(), stale, strings.NewReader("stale")); err != nil {
		t.Fatal(err)
	}
	var log progressLog
	tempDir := t.TempDir()
	d := newTestDuckDB(t, WithTempDir(tempDir), WithHeartbeat(log.record))

	report, err := d.BuildMartsInLake(context.Background(), store, day3)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string][]map[string]any{
		ArtistDaily:       refArtistDaily(ds, day3),
		GenreDaily:        refGenreDaily(ds, day3),
		ArtistDiscography: refDiscography(ds, day3),
		ArtistSimilarity:  refSimilarity(ds, day3, DefaultSimilarityBlockSize),
	}
	var wantKeys []string
	for _, mart := range Marts {
		checkRows(t, mart, martRows(t, d, root, mart, day3), want[mart])
		if report.Rows[mart] != int64(len(want[mart])) {
			t.Errorf("report rows of %s = %d, want %d", mart, report.Rows[mart], len(want[mart]))
		}
		wantKeys = append(wantKeys, lake.PartKey(lake.MartPrefix(mart, day3), 0))
	}
	if !reflect.DeepEqual(report.Keys, wantKeys) {
		t.Errorf("keys = %v, want %v", report.Keys, wantKeys)
	}
	published, err := store.List(context.Background(), "marts/")
	if err != nil {
		t.Fatal(err)
	}
	sortedWant := append([]string(nil), wantKeys...)
	sort.Strings(sortedWant)
	if !reflect.DeepEqual(published, sortedWant) {
		t.Errorf("marts in the lake = %v, want %v (no stale part)", published, wantKeys)
	}
	if left, _ := store.List(context.Background(), "_staging/"); len(left) != 0 {
		t.Errorf("staging objects left in the lake: %v", left)
	}
	if left, _ := filepath.Glob(filepath.Join(tempDir, "lake-*")); len(left) != 0 {
		t.Errorf("local copies left: %v", left)
	}

	stage := log.of("stage")
	wantStaged := len(curatedFiles(t, root, day3, tables.All...))
	if len(stage) != wantStaged || stage[len(stage)-1].Done != wantStaged || stage[0].Total != wantStaged {
		t.Errorf("stage heartbeats %v, want %d counting up to %d", stage, wantStaged, wantStaged)
	}
	if wantStaged == len(curatedFiles(t, root, "", tables.All...)) {
		t.Error("the dataset has nothing after day3; the date filter is not exercised")
	}
	for _, step := range []string{"build", "publish"} {
		var marts []string
		for _, p := range log.of(step) {
			marts = append(marts, p.Mart)
		}
		if !reflect.DeepEqual(marts, Marts) {
			t.Errorf("%s heartbeats for %v, want %v", step, marts, Marts)
		}
	}
}

func TestDuckDBBuildMartsInLocalLakeWorksInPlace(t *testing.T) {
	root := t.TempDir()
	writeLake(t, root, extendedLake())
	store, err := lake.Open(context.Background(), "file://"+root)
	if err != nil {
		t.Fatal(err)
	}
	var log progressLog
	d := newTestDuckDB(t, WithHeartbeat(log.record))
	report, err := d.BuildMartsInLake(context.Background(), store, day3)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range report.Keys {
		if _, err := os.Stat(filepath.Join(root, key)); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
	if len(log.of("stage")) != 0 || len(log.of("publish")) != 0 {
		t.Errorf("a file:// lake was staged: %v", log.steps)
	}
}

func TestDuckDBBuildMartsInRemoteLakePublishesNothingOnFailure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failPut string
		cancel  bool
		want    string
	}{
		{"upload fails", ArtistSimilarity, false, "injected put failure"},
		{"canceled", "", true, "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, store := newRemoteLake(t)
			writeLake(t, root, extendedLake())
			store.failPut = tc.failPut
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			d := newTestDuckDB(t)
			_, err := d.BuildMartsInLake(ctx, store, day3)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if keys, _ := store.List(context.Background(), "marts/"); len(keys) != 0 {
				t.Errorf("published %v after a failure", keys)
			}
			if keys, _ := store.List(context.Background(), "_staging/"); len(keys) != 0 {
				t.Errorf("staging objects left: %v", keys)
			}
		})
	}
}

func TestDuckDBSimilarInRemoteLake(t *testing.T) {
	root, store := newRemoteLake(t)
	writeLake(t, root, extendedLake())
	d := newTestDuckDB(t)
	if _, err := d.BuildMartsInLake(context.Background(), store, day3); err != nil {
		t.Fatal(err)
	}
	collect := func(read func(fn func(string, []SimilarArtist) error) error) map[string][]SimilarArtist {
		t.Helper()
		out := map[string][]SimilarArtist{}
		if err := read(func(id string, s []SimilarArtist) error { out[id] = s; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	remote := collect(func(fn func(string, []SimilarArtist) error) error {
		return d.SimilarInLake(context.Background(), store, day3, fn)
	})
	local := collect(func(fn func(string, []SimilarArtist) error) error {
		return d.Similar(context.Background(), root, day3, fn)
	})
	if len(remote) == 0 || !reflect.DeepEqual(remote, local) {
		t.Errorf("similar from the remote lake = %v, from disk %v", remote, local)
	}
	err := d.SimilarInLake(context.Background(), store, day1, func(string, []SimilarArtist) error { return nil })
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing partition: err = %v, want fs.ErrNotExist", err)
	}
}
