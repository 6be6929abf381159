package serving

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/metronome-data/metronome/internal/testservers"
)

// testNow is the fixed clock of the tests; tests that move time use a
// testClock.
var testNow = time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)

type testClock struct{ t atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.t.Store(t.UnixNano())
	return c
}

func (c *testClock) now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// backend opens fresh, empty stores of one kind.
type backend func(t *testing.T, opts ...Option) *Store

func sqliteBackend(*testing.T) backend {
	return func(t *testing.T, opts ...Option) *Store {
		t.Helper()
		return openTestStore(t, "sqlite://"+filepath.Join(t.TempDir(), "serving.db"), opts...)
	}
}

var tableSeq atomic.Int64

// dynamoBackend starts dynalite (skipped under -short) and opens each
// store on a table of its own.
func dynamoBackend(t *testing.T) backend {
	endpoint := testservers.StartDynalite(t)
	return func(t *testing.T, opts ...Option) *Store {
		t.Helper()
		table := fmt.Sprintf("serving-test-%d", tableSeq.Add(1))
		opts = append(dynamoOptions(endpoint), opts...)
		if err := CreateTable(context.Background(), "dynamodb://"+table, opts...); err != nil {
			t.Fatalf("CreateTable(%s): %v", table, err)
		}
		return openTestStore(t, "dynamodb://"+table, opts...)
	}
}

var backends = []struct {
	name  string
	start func(t *testing.T) backend
}{
	{"sqlite", sqliteBackend},
	{"dynamodb", dynamoBackend},
}

func dynamoOptions(endpoint string) []Option {
	return []Option{
		WithEndpoint(endpoint),
		WithRegion("us-east-1"),
		WithAWSConfig(aws.Config{Credentials: aws.CredentialsProviderFunc(
			func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}, nil
			})}),
		WithRetry(5, time.Millisecond, 20*time.Millisecond),
	}
}

func openTestStore(t *testing.T, url string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, append([]Option{WithClock(func() time.Time { return testNow })}, opts...)...)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func artist(id, name string, pop int) ArtistSnapshot {
	return ArtistSnapshot{
		ID: id, Name: name, Genres: []string{"rock", "indie"},
		Popularity: ptr(pop), Followers: ptr(int64(pop) * 1000),
		ImageURL:  "https://img.example/" + id,
		UpdatedAt: time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC),
	}
}

func tracks(prefix string, n int) []TopTrack {
	out := make([]TopTrack, n)
	for i := range out {
		out[i] = TopTrack{ID: fmt.Sprintf("%s%d", prefix, i+1), Name: fmt.Sprintf("Song %s%d", prefix, i+1),
			Album: "Album " + prefix, Popularity: ptr(90 - i), DurationMS: 180000 + i}
	}
	return out
}

func sks(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.PK + "|" + it.SK + "|" + it.DT
	}
	return out
}

func mustArtist(t *testing.T, s *Store, id string) ArtistView {
	t.Helper()
	v, ok, err := s.Artist(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("Artist(%s) = found %v, err %v; want found", id, ok, err)
	}
	return v
}

// conformance is the behaviour every backend must show, run against each.
var conformance = []struct {
	name string
	run  func(t *testing.T, s *Store, clock *testClock)
}{
	{"newer snapshot wins, older dates still write history", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		must(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{artist("a1", "New Name", 80)}))
		must(t, s.PutArtists(ctx, "2026-10-01", []ArtistSnapshot{artist("a1", "Old Name", 50)}))

		v := mustArtist(t, s, "a1")
		if v.Name != "New Name" || v.DT != "2026-11-02" || *v.Popularity != 80 {
			t.Errorf("after backfill, META = %q dt %s popularity %d; want New Name, 2026-11-02, 80", v.Name, v.DT, *v.Popularity)
		}
		hist, err := s.History(ctx, "a1")
		must(t, err)
		if len(hist) != 2 || hist[0].DT != "2026-10-01" || hist[0].Name != "Old Name" || hist[1].Name != "New Name" {
			t.Errorf("History = %+v; want the 2026-10-01 and 2026-11-02 snapshots", hist)
		}
		if got := s.Stats().StaleSkipped; got != 1 {
			t.Errorf("Stats().StaleSkipped = %d; want 1", got)
		}
		// A newer date replaces the snapshot.
		must(t, s.PutArtists(ctx, "2026-11-03", []ArtistSnapshot{artist("a1", "Newest", 81)}))
		if v := mustArtist(t, s, "a1"); v.Name != "Newest" || v.DT != "2026-11-03" {
			t.Errorf("after a newer run, META = %q dt %s; want Newest, 2026-11-03", v.Name, v.DT)
		}
	}},
	{"rewriting the same date is idempotent and may correct it", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		a := artist("a1", "Name", 70)
		must(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{a}))
		must(t, s.PutTopTracks(ctx, "2026-11-02", "a1", tracks("t", 5)))
		first, err := s.Items(ctx, "")
		must(t, err)
		must(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{a}))
		must(t, s.PutTopTracks(ctx, "2026-11-02", "a1", tracks("t", 5)))
		again, err := s.Items(ctx, "")
		must(t, err)
		if !reflect.DeepEqual(first, again) {
			t.Errorf("re-writing the same date changed the items:\nfirst %v\nagain %v", first, again)
		}
		a.Name = "Corrected"
		must(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{a}))
		if v := mustArtist(t, s, "a1"); v.Name != "Corrected" {
			t.Errorf("same-date rewrite: name %q; want Corrected", v.Name)
		}
	}},
	{"batches larger than 25 items", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		var as []ArtistSnapshot
		var ids []string
		for i := range 60 {
			id := fmt.Sprintf("b%03d", i)
			as = append(as, artist(id, "Artist "+id, i))
			ids = append(ids, id)
		}
		must(t, s.PutArtists(ctx, "2026-11-02", as))
		items, err := s.Items(ctx, "ARTIST#")
		must(t, err)
		if len(items) != 120 {
			t.Errorf("Items(ARTIST#) = %d items; want 60 META + 60 SNAP#", len(items))
		}
		must(t, s.Track(ctx, ids...))
		got, err := s.Tracked(ctx)
		must(t, err)
		if !reflect.DeepEqual(got, ids) {
			t.Errorf("Tracked = %d ids; want the 60 tracked", len(got))
		}
		must(t, s.Untrack(ctx, ids[:40]...))
		got, err = s.Tracked(ctx)
		must(t, err)
		if !reflect.DeepEqual(got, ids[40:]) {
			t.Errorf("after untracking 40, Tracked = %v; want %v", got, ids[40:])
		}
		if st := s.Stats(); st.ItemsWritten != 180 || st.ItemsDeleted != 40 {
			t.Errorf("Stats = %+v; want 180 written (60 META, 60 SNAP#, 60 TRACKED), 40 deleted", st)
		}
	}},
	{"a shrunk top-track list leaves no stale ranks", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		must(t, s.PutTopTracks(ctx, "2026-11-01", "a1", tracks("old", 10)))
		must(t, s.PutTopTracks(ctx, "2026-11-02", "a1", tracks("new", 3)))
		items, err := s.Items(ctx, "ARTIST#a1")
		must(t, err)
		want := []string{
			"ARTIST#a1|TOP|2026-11-02",
			"ARTIST#a1|TOP#0001|2026-11-02",
			"ARTIST#a1|TOP#0002|2026-11-02",
			"ARTIST#a1|TOP#0003|2026-11-02",
		}
		if got := sks(items); !reflect.DeepEqual(got, want) {
			t.Errorf("items = %v; want %v", got, want)
		}
		must(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{artist("a1", "A", 1)}))
		v := mustArtist(t, s, "a1")
		if !reflect.DeepEqual(v.TopTracks, tracks("new", 3)) || v.TopTracksDT != "2026-11-02" {
			t.Errorf("TopTracks = %+v (dt %s); want the 3 new ones", v.TopTracks, v.TopTracksDT)
		}
	}},
	{"an older, longer top-track list does not come back", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		must(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{artist("a1", "A", 1)}))
		must(t, s.PutTopTracks(ctx, "2026-11-02", "a1", tracks("new", 2)))
		before, err := s.Items(ctx, "ARTIST#a1")
		must(t, err)
		must(t, s.PutTopTracks(ctx, "2026-10-01", "a1", tracks("old", 10)))
		after, err := s.Items(ctx, "ARTIST#a1")
		must(t, err)
		if !reflect.DeepEqual(before, after) {
			t.Errorf("a backfill changed the newer list:\nbefore %v\nafter  %v", sks(before), sks(after))
		}
		if v := mustArtist(t, s, "a1"); !reflect.DeepEqual(v.TopTracks, tracks("new", 2)) {
			t.Errorf("TopTracks = %+v; want the 2 newer ones", v.TopTracks)
		}
		// An empty newer list also wins over an older full one.
		must(t, s.PutTopTracks(ctx, "2026-11-03", "a1", nil))
		must(t, s.PutTopTracks(ctx, "2026-11-01", "a1", tracks("old", 4)))
		if v := mustArtist(t, s, "a1"); len(v.TopTracks) != 0 || v.TopTracksDT != "2026-11-03" {
			t.Errorf("TopTracks = %+v (dt %s); want none as of 2026-11-03", v.TopTracks, v.TopTracksDT)
		}
	}},
	{"a batch writes what one write per artist writes", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		// Before the batch: a1 has a longer list of an older date, a2 a
		// list of a newer date, a3 nothing.
		must(t, s.PutTopTracks(ctx, "2026-11-01", "a1", tracks("old", 10)))
		must(t, s.PutTopTracks(ctx, "2026-11-03", "a2", tracks("newer", 2)))
		before := s.Stats()
		must(t, s.PutTopTracksBatch(ctx, "2026-11-02", map[string][]TopTrack{
			"a1": tracks("new", 3), "a2": tracks("new", 5), "a3": tracks("new", 1), "a4": nil,
		}))
		items, err := s.Items(ctx, "ARTIST#")
		must(t, err)
		want := []string{
			"ARTIST#a1|TOP|2026-11-02",
			"ARTIST#a1|TOP#0001|2026-11-02",
			"ARTIST#a1|TOP#0002|2026-11-02",
			"ARTIST#a1|TOP#0003|2026-11-02",
			"ARTIST#a2|TOP|2026-11-03",
			"ARTIST#a2|TOP#0001|2026-11-03",
			"ARTIST#a2|TOP#0002|2026-11-03",
			"ARTIST#a3|TOP|2026-11-02",
			"ARTIST#a3|TOP#0001|2026-11-02",
			"ARTIST#a4|TOP|2026-11-02",
		}
		if got := sks(items); !reflect.DeepEqual(got, want) {
			t.Errorf("items = %v; want %v", got, want)
		}
		after := s.Stats()
		// Written: 3 headers and 3 + 1 ranks; stale: a2's header and its 5 ranks.
		if w, st, d := after.ItemsWritten-before.ItemsWritten, after.StaleSkipped-before.StaleSkipped, after.ItemsDeleted-before.ItemsDeleted; w != 7 || st != 6 || d != 7 {
			t.Errorf("written %d, stale %d, deleted %d; want 7, 6, 7", w, st, d)
		}
		if err := s.PutSimilarBatch(ctx, "2026-11-02", map[string][]Similar{"a1": nil, "": nil}); err == nil {
			t.Error("a batch with an empty artist ID: no error; want one")
		}
	}},
	{"releases and similar artists", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		dev := ArtistSnapshot{ID: "d1", Name: "Dev Mode", Genres: nil, ImageURL: ""}
		must(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{dev}))
		rel := []Release{
			{AlbumID: "al2", Name: "Second", Type: "single", ReleaseDate: "2026-10"},
			{AlbumID: "al1", Name: "First", Type: "album", ReleaseDate: "2019"},
		}
		sim := []Similar{{ArtistID: "x", Name: "X", Score: 0.875}, {ArtistID: "y", Name: "Y", Score: 1}, {ArtistID: "z", Name: "Z", Score: 0}}
		must(t, s.PutReleases(ctx, "2026-11-02", "d1", rel))
		must(t, s.PutSimilar(ctx, "2026-11-02", "d1", sim))
		must(t, s.PutSimilar(ctx, "2026-10-30", "d1", []Similar{{ArtistID: "old", Score: 0.1}}))
		v := mustArtist(t, s, "d1")
		want := ArtistView{
			ArtistSnapshot: ArtistSnapshot{ID: "d1", Name: "Dev Mode", DT: "2026-11-02"},
			Releases:       rel, ReleasesDT: "2026-11-02",
			Similar: sim, SimilarDT: "2026-11-02",
		}
		if !reflect.DeepEqual(v, want) {
			t.Errorf("Artist(d1) =\n%+v\nwant\n%+v", v, want)
		}
		if v.Popularity != nil || v.Followers != nil {
			t.Errorf("development-mode artist: popularity %v, followers %v; want nil", v.Popularity, v.Followers)
		}
		if got, err := s.Releases(ctx, "d1"); err != nil || !reflect.DeepEqual(got, rel) {
			t.Errorf("Releases(d1) = %+v, %v; want %+v", got, err, rel)
		}
		if got, err := s.Releases(ctx, "unknown"); err != nil || got != nil {
			t.Errorf("Releases(unknown) = %+v, %v; want none", got, err)
		}
	}},
	{"full artist view round trip", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		a := artist("a1", "Full", 77)
		must(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{a}))
		tt := tracks("t", 10)
		tt[3].Popularity = nil
		must(t, s.PutTopTracks(ctx, "2026-11-02", "a1", tt))
		v := mustArtist(t, s, "a1")
		a.DT = "2026-11-02"
		if !reflect.DeepEqual(v.ArtistSnapshot, a) || !reflect.DeepEqual(v.TopTracks, tt) {
			t.Errorf("Artist(a1) =\n%+v\nwant snapshot %+v and tracks %+v", v, a, tt)
		}
		if _, ok, err := s.Artist(ctx, "missing"); ok || err != nil {
			t.Errorf("Artist(missing) = found %v, err %v; want not found", ok, err)
		}
	}},
	{"name cache", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		must(t, s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{artist("b1", "Beyoncé", 99)}))
		must(t, s.PutName(ctx, "  BEYONCE\u0301 ", "b1", NameExact))
		must(t, s.PutName(ctx, NormalizeName("No Such Band"), "", NameNotFound))
		for _, tc := range []struct {
			name, id, status string
			found            bool
		}{
			{"beyoncé", "b1", NameExact, true},
			{"Beyonce\u0301", "b1", NameExact, true},
			{"no  such band", "", NameNotFound, true},
			{"Unknown", "", "", false},
		} {
			id, status, found, err := s.LookupName(ctx, tc.name)
			if err != nil || id != tc.id || status != tc.status || found != tc.found {
				t.Errorf("LookupName(%q) = %q, %q, %v, %v; want %q, %q, %v", tc.name, id, status, found, err, tc.id, tc.status, tc.found)
			}
		}
		if v, ok, err := s.ArtistByName(ctx, " BEYONCÉ"); err != nil || !ok || v.ID != "b1" {
			t.Errorf("ArtistByName = %q, %v, %v; want b1", v.ID, ok, err)
		}
		if _, ok, err := s.ArtistByName(ctx, "No Such Band"); ok || err != nil {
			t.Errorf("ArtistByName(not found name) = found %v, err %v; want not found", ok, err)
		}
		// Re-resolving overwrites the cached entry.
		must(t, s.PutName(ctx, "no such band", "n1", NameBest))
		if id, status, _, _ := s.LookupName(ctx, "No Such Band"); id != "n1" || status != NameBest {
			t.Errorf("after re-resolving, LookupName = %q, %q; want n1, best", id, status)
		}
		if err := s.PutName(ctx, "x", "", NameExact); err == nil {
			t.Error("PutName(exact without id) succeeded; want an error")
		}
		if err := s.PutName(ctx, "x", "id", "maybe"); err == nil || !strings.Contains(err.Error(), `"maybe"`) {
			t.Errorf("PutName(status maybe) = %v; want an error naming the status", err)
		}
	}},
	{"tracked set", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		got, err := s.Tracked(ctx)
		if err != nil || len(got) != 0 {
			t.Fatalf("Tracked on an empty store = %v, %v; want none", got, err)
		}
		must(t, s.Track(ctx, "c", "a", "b", "a"))
		must(t, s.Track(ctx, "b"))
		must(t, s.Untrack(ctx, "c", "never-tracked"))
		got, err = s.Tracked(ctx)
		must(t, err)
		if want := []string{"a", "b"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Tracked = %v; want %v", got, want)
		}
		if err := s.Track(ctx, "ok", ""); err == nil {
			t.Error("Track with an empty ID succeeded; want an error")
		}
	}},
	{"requests expire with their reply target", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		r := Request{ID: "r1", Artist: "Some Band", ReplyTo: "https://hooks.slack.example/r1", ExpiresAt: testNow.Add(30 * time.Minute)}
		must(t, s.PutRequest(ctx, r))
		got, ok, err := s.GetRequest(ctx, "r1")
		if err != nil || !ok {
			t.Fatalf("GetRequest(r1) = found %v, err %v", ok, err)
		}
		want := r
		want.State, want.CreatedAt, want.UpdatedAt = RequestPending, testNow, testNow
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GetRequest(r1) = %+v; want %+v", got, want)
		}
		clock.advance(time.Minute)
		must(t, s.UpdateRequestState(ctx, "r1", RequestStored, "sb1", ""))
		got, _, err = s.GetRequest(ctx, "r1")
		must(t, err)
		if got.State != RequestStored || got.ArtistID != "sb1" || !got.UpdatedAt.Equal(testNow.Add(time.Minute)) || !got.CreatedAt.Equal(testNow) {
			t.Errorf("after update, request = %+v; want stored, artist sb1, updated a minute later", got)
		}
		items, err := s.Items(ctx, "REQUEST#")
		must(t, err)
		if len(items) != 1 || items[0].Attrs["expires_at"] != testNow.Add(30*time.Minute).Unix() {
			t.Errorf("request items = %+v; want one with expires_at %d (epoch seconds, the TTL attribute)", items, testNow.Add(30*time.Minute).Unix())
		}
		clock.advance(30 * time.Minute)
		if _, ok, err := s.GetRequest(ctx, "r1"); ok || err != nil {
			t.Errorf("GetRequest after expiry = found %v, err %v; want not found", ok, err)
		}
		if err := s.UpdateRequestState(ctx, "r1", RequestFailed, "", "late"); err == nil {
			t.Error("UpdateRequestState on an expired request succeeded; want an error")
		}
		if err := s.PutRequest(ctx, Request{ID: "r2", ReplyTo: "https://hooks.slack.example/r2"}); err == nil {
			t.Error("PutRequest with a reply target and no expiry succeeded; want an error")
		}
		if err := s.PutRequest(ctx, Request{ID: "r3", State: "done"}); err == nil {
			t.Error("PutRequest with an unknown state succeeded; want an error")
		}
		if _, ok, err := s.GetRequest(ctx, "nope"); ok || err != nil {
			t.Errorf("GetRequest(nope) = found %v, err %v; want not found", ok, err)
		}
		if err := s.UpdateRequestState(ctx, "nope", RequestFailed, "", ""); err == nil {
			t.Error("UpdateRequestState on a missing request succeeded; want an error")
		}
	}},
	{"bad input is refused", func(t *testing.T, s *Store, clock *testClock) {
		ctx := context.Background()
		for name, err := range map[string]error{
			"dt 2026-1-2":    s.PutArtists(ctx, "2026-1-2", []ArtistSnapshot{artist("a", "A", 1)}),
			"dt 2026-02-30":  s.PutTopTracks(ctx, "2026-02-30", "a", nil),
			"empty id":       s.PutArtists(ctx, "2026-11-02", []ArtistSnapshot{{Name: "no id"}}),
			"empty artist":   s.PutReleases(ctx, "2026-11-02", "", nil),
			"NaN score":      s.PutSimilar(ctx, "2026-11-02", "a", []Similar{{ArtistID: "b", Score: math.NaN()}}),
			"too long list":  s.PutTopTracks(ctx, "2026-11-02", "a", make([]TopTrack, maxListLength+1)),
			"empty name key": s.PutName(ctx, "   ", "a", NameExact),
		} {
			if err == nil {
				t.Errorf("%s: no error; want one", name)
			}
		}
		if items, err := s.Items(ctx, ""); err != nil || len(items) != 0 {
			t.Errorf("after refused writes, Items = %v, %v; want none", sks(items), err)
		}
	}},
}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			open := b.start(t)
			for _, tc := range conformance {
				t.Run(tc.name, func(t *testing.T) {
					clock := newTestClock(testNow)
					tc.run(t, open(t, WithClock(clock.now)), clock)
				})
			}
		})
	}
}
