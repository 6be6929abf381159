package serving

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNormalizeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"The Beatles", "the beatles"},
		{"  The\t Beatles \n", "the beatles"},
		{"Beyonce\u0301", "beyonc\u00e9"}, // decomposed é composes (NFC)
		{"BEYONCÉ", "beyonc\u00e9"},
		{"AC/DC", "ac/dc"},
		{"Sigur\u00a0Rós", "sigur rós"}, // no-break space is whitespace too
		{"   ", ""},
		{"", ""},
	} {
		if got := NormalizeName(tc.in); got != tc.want {
			t.Errorf("NormalizeName(%q) = %q; want %q", tc.in, got, tc.want)
		}
		if got := NormalizeName(tc.want); got != tc.want {
			t.Errorf("NormalizeName is not idempotent on %q: %q", tc.want, got)
		}
	}
}

func TestOpenRefusesBadURLs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		url  string
		opts []Option
		want string
	}{
		{url: "postgres://x", want: "want sqlite://FILE or dynamodb://TABLE"},
		{url: "dynamodb://", want: "want dynamodb://TABLE"},
		{url: "dynamodb://table/extra", want: "want dynamodb://TABLE"},
		{url: "dynamodb://a", opts: []Option{WithRegion("us-east-1")}, want: `table name "a"`},
		{url: "sqlite://" + filepath.Join(t.TempDir(), "x?y.db"), want: "must not contain"},
		{url: "sqlite://" + filepath.Join(t.TempDir(), "x.db"), opts: []Option{WithRetry(0, time.Second, time.Second)}, want: "max attempts 0"},
		{url: "sqlite://" + filepath.Join(t.TempDir(), "x.db"), opts: []Option{WithConcurrency(0)}, want: "concurrency 0"},
	} {
		s, err := Open(ctx, tc.url, tc.opts...)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded; want an error containing %q", tc.url, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v; want an error containing %q", tc.url, err, tc.want)
		}
	}
}

func TestOpenSQLiteDefaultPathCreatesDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, url := range []string{"", "sqlite://"} {
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if err := s.CreateTable(context.Background()); err != nil {
			t.Errorf("CreateTable on sqlite: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join("data", "serving.db")); err != nil {
			t.Errorf("Open(%q) did not create data/serving.db: %v", url, err)
		}
	}
}

// The worker and `starter serve` open the same SQLite file; a write of one
// is read by the other, and survives a reopen.
func TestSQLiteSharedAndPersistent(t *testing.T) {
	ctx := context.Background()
	url := "sqlite://" + filepath.Join(t.TempDir(), "nested", "dir", "serving.db")
	if err := CreateTable(ctx, url); err != nil {
		t.Fatal(err)
	}
	writer := openTestStore(t, url)
	reader := openTestStore(t, url)
	must(t, writer.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{artist("a1", "Shared", 5)}))
	must(t, writer.Track(ctx, "a1"))
	if v, ok, err := reader.Artist(ctx, "a1"); err != nil || !ok || v.Name != "Shared" {
		t.Errorf("reader.Artist = %q, %v, %v; want Shared", v.Name, ok, err)
	}
	must(t, writer.Close())
	again := openTestStore(t, url)
	if ids, err := again.Tracked(ctx); err != nil || !reflect.DeepEqual(ids, []string{"a1"}) {
		t.Errorf("after reopen, Tracked = %v, %v; want [a1]", ids, err)
	}
}

// scenario writes a bit of everything through the typed API.
func scenario(t *testing.T, s *Store) {
	ctx := context.Background()
	var as []ArtistSnapshot
	for i := range 30 {
		a := artist(fmt.Sprintf("s%02d", i), fmt.Sprintf("Artist %d", i), i)
		if i%3 == 0 {
			a.Popularity, a.Followers, a.Genres = nil, nil, nil
		}
		as = append(as, a)
	}
	must(t, s.PutArtists(ctx, "2026-11-01", as))
	must(t, s.PutArtists(ctx, "2026-11-02", as[:20]))
	must(t, s.PutArtists(ctx, "2026-10-15", as[10:]))
	must(t, s.PutTopTracks(ctx, "2026-11-02", "s01", tracks("x", 10)))
	must(t, s.PutTopTracks(ctx, "2026-11-03", "s01", tracks("y", 4)))
	must(t, s.PutReleases(ctx, "2026-11-02", "s02", []Release{{AlbumID: "al", Name: "LP", Type: "album", ReleaseDate: "2026-01-09"}}))
	must(t, s.PutSimilar(ctx, "2026-11-02", "s01", []Similar{{ArtistID: "s02", Name: "Artist 2", Score: 0.5}, {ArtistID: "s03", Score: 1}}))
	must(t, s.PutName(ctx, "Artist 1", "s01", NameExact))
	must(t, s.PutName(ctx, "nobody", "", NameNotFound))
	must(t, s.Track(ctx, "s01", "s02", "s03"))
	must(t, s.Untrack(ctx, "s02"))
	must(t, s.PutRequest(ctx, Request{ID: "q1", Artist: "Nobody", ReplyTo: "https://hooks.slack.example/q1", ExpiresAt: testNow.Add(time.Hour)}))
	must(t, s.UpdateRequestState(ctx, "q1", RequestNotFound, "", "no such artist"))
}

// Both backends, written once through the same code, hold identical items.
func TestBackendsStoreIdenticalItems(t *testing.T) {
	var dumps [][]Item
	var stats []Stats
	for _, b := range backends {
		s := b.start(t)(t)
		scenario(t, s)
		items, err := s.Items(context.Background(), "")
		must(t, err)
		dumps = append(dumps, items)
		stats = append(stats, s.Stats())
	}
	if len(dumps[0]) < 80 {
		t.Fatalf("sqlite holds %d items; the scenario writes more", len(dumps[0]))
	}
	if !reflect.DeepEqual(dumps[0], dumps[1]) {
		for i := range max(len(dumps[0]), len(dumps[1])) {
			var a, b Item
			if i < len(dumps[0]) {
				a = dumps[0][i]
			}
			if i < len(dumps[1]) {
				b = dumps[1][i]
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("first difference at item %d:\nsqlite   %+v\ndynamodb %+v", i, a, b)
			}
		}
	}
	if stats[0] != stats[1] {
		t.Errorf("Stats differ: sqlite %+v, dynamodb %+v", stats[0], stats[1])
	}
}

func BenchmarkSQLitePutArtists(b *testing.B) {
	ctx := context.Background()
	s := openBenchStore(b)
	as := make([]ArtistSnapshot, 1000)
	for i := range as {
		as[i] = artist(fmt.Sprintf("a%04d", i), "Bench", i)
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; b.Loop(); i++ {
		if err := s.PutArtists(ctx, day.AddDate(0, 0, i).Format(time.DateOnly), as); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSQLitePutTopTracks(b *testing.B) {
	ctx := context.Background()
	s := openBenchStore(b)
	tt := tracks("t", 10)
	for i := 0; b.Loop(); i++ {
		if err := s.PutTopTracks(ctx, "2026-11-02", fmt.Sprintf("a%d", i%1000), tt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSQLitePutTopTracksBatch(b *testing.B) {
	ctx := context.Background()
	s := openBenchStore(b)
	tt := tracks("t", 10)
	batch := make(map[string][]TopTrack, 500)
	for i := range 500 {
		batch[fmt.Sprintf("a%d", i)] = tt
	}
	for b.Loop() {
		if err := s.PutTopTracksBatch(ctx, "2026-11-02", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/artist")
}

func openBenchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "serving.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
