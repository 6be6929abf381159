package curate

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
	"github.com/metronome-data/metronome/internal/testservers"
)

var (
	a1, a2, a3 = sid("ar", 1), sid("ar", 2), sid("ar", 3)
	other      = sid("ar", 99) // an artist nobody tracks
	al1, al2   = sid("al", 1), sid("al", 2)
	al3        = sid("al", 3)
	tr         = func(n int) string { return sid("tr", n) }
)

// scenario is a day of raw data exercising every entity and every
// de-duplication rule.
func scenario() *rawLake {
	r := newRawLake()
	h := time.Hour
	// artists: a1 twice; the later fetch is in the earlier batch.
	r.add(EntityArtists, 0, t0.Add(h), "/v1/artists?ids=", a1, apiArtistObj(a1, "Latest"))
	r.add(EntityArtists, 0, t0, "/v1/artists?ids=", a2, apiArtistObj(a2, "Two"))
	r.add(EntityArtists, 1, t0, "/v1/artists?ids=", a1, apiArtistObj(a1, "Stale"))
	r.add(EntityArtists, 1, t0, "/v1/artists/"+a3, a3, apiArtistObj(a3, "Dev").with("popularity", nil, "followers", nil))

	// al1 is listed by a2 and a1; al2 by a1 only; al3 (fetched in full) by nobody.
	r.add(EntityArtistAlbums, 0, t0, "/v1/artists/"+a2+"/albums", a2, obj{"items": []obj{apiSimpleAlbumObj(al1, "First", other)}})
	r.add(EntityArtistAlbums, 0, t0, "/v1/artists/"+a1+"/albums", a1, obj{"items": []obj{
		apiSimpleAlbumObj(al1, "First", other), apiSimpleAlbumObj(al2, "Second", a1),
	}})
	// The full album, fetched before the listings, still beats them.
	r.add(EntityAlbums, 0, t0.Add(-h), "/v1/albums/"+al1, al1, apiAlbumObj(al1, "First", other,
		apiSimpleTrackObj(tr(1), "One", other, 1), apiSimpleTrackObj(tr(2), "Two", other, 2)))
	r.add(EntityAlbums, 0, t0, "/v1/albums/"+al3, al3, apiAlbumObj(al3, "Third", other))
	r.add(EntityAlbumTracks, 0, t0, "/v1/albums/"+al1+"/tracks?offset=2", al1, obj{"items": []obj{
		apiSimpleTrackObj(tr(3), "Three", other, 3),
	}})

	// a1's top tracks twice: the later list wins as a whole.
	r.add(EntityTopTracks, 0, t0, "/v1/artists/"+a1+"/top-tracks?market=US", a1, obj{"tracks": []obj{
		apiTrackObj(tr(10), "Ten", a1, al2), apiTrackObj(tr(11), "Eleven (old)", a1, al2),
	}})
	r.add(EntityTopTracks, 1, t0.Add(h), "/v1/artists/"+a1+"/top-tracks?market=US", a1, obj{"tracks": []obj{
		apiTrackObj(tr(11), "Eleven", a1, al2), apiTrackObj(tr(12), "Twelve", a1, al2),
	}})
	// tr(1) as a full track (of a2's top tracks) beats its simplified album copy.
	r.add(EntityTopTracks, 1, t0.Add(-2*h), "/v1/artists/"+a2+"/top-tracks?market=US", a2, obj{"tracks": []obj{
		apiTrackObj(tr(1), "One", a2, al1),
	}})

	r.add(EntityAudioFeatures, 0, t0, "/v1/audio-features?ids=", tr(10), apiAudioFeaturesObj(tr(10)))
	r.add(EntityAudioFeatures, 0, t0, "/v1/audio-features?ids=", tr(11), apiAudioFeaturesObj(tr(11)))
	r.add(EntityAudioFeatures, 1, t0, "/v1/audio-features?ids=", tr(10), apiAudioFeaturesObj(tr(10)).with("tempo", 99.0))
	return r
}

func TestRunScenario(t *testing.T) {
	s := openFileLake(t)
	scenario().write(t, s)
	var progress []int
	rep, err := Run(context.Background(), s, testDT, Options{Market: "US", CheckpointEvery: 2,
		Progress: func(done int, key string) { progress = append(progress, done) }})
	if err != nil {
		t.Fatal(err)
	}
	checkScenario(t, s, rep)
	if progress[0] != 1 || !slices.Contains(progress, 9) {
		t.Errorf("progress %v, want 1 … 9 (objects)", progress)
	}
}

// checkScenario asserts the curated output of scenario().
func checkScenario(t *testing.T, s lake.Store, rep Report) {
	t.Helper()
	if rep.Objects != 9 || rep.RejectedTotal() != 0 || len(rep.QuarantineKeys) != 0 {
		t.Errorf("report: %d objects, %d rejected, quarantine %q", rep.Objects, rep.RejectedTotal(), rep.QuarantineKeys)
	}
	wantIn := map[string]int{EntityArtists: 4, EntityArtistAlbums: 2 + 3, EntityAlbums: 2 + 2, EntityAlbumTracks: 1 + 1,
		EntityTopTracks: 3 + 5, EntityAudioFeatures: 3}
	if !reflect.DeepEqual(rep.RowsIn, wantIn) {
		t.Errorf("RowsIn = %v, want %v", rep.RowsIn, wantIn)
	}
	wantOut := map[string]int{tables.Artists: 3, tables.Albums: 3, tables.Tracks: 6, tables.ArtistTopTracks: 3, tables.AudioFeatures: 2}
	if !reflect.DeepEqual(rep.RowsOut, wantOut) {
		t.Errorf("RowsOut = %v, want %v", rep.RowsOut, wantOut)
	}
	wantDup := map[string]int{tables.Artists: 1, tables.Albums: 2, tables.Tracks: 2, tables.ArtistTopTracks: 2, tables.AudioFeatures: 1}
	if !reflect.DeepEqual(rep.Duplicates, wantDup) {
		t.Errorf("Duplicates = %v, want %v", rep.Duplicates, wantDup)
	}
	for _, table := range tables.All {
		if len(rep.CuratedKeys[table]) != 1 || rep.CuratedKeys[table][0] != lake.PartKey(lake.CuratedPrefix(table, testDT), 0) {
			t.Errorf("CuratedKeys[%s] = %q", table, rep.CuratedKeys[table])
		}
	}

	artists := map[string]tables.Artist{}
	for _, a := range readTable[tables.Artist](t, s, tables.Artists) {
		artists[a.ArtistID] = a
	}
	if artists[a1].Name != "Latest" || !artists[a1].FetchedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("a1 = %+v; want the latest fetch to win", artists[a1])
	}
	if a := artists[a3]; a.Popularity != nil || a.Followers != nil {
		t.Errorf("development-mode artist %+v; want NULL popularity and followers", a)
	}
	if a := artists[a2]; a.Popularity == nil || *a.Popularity != 50 || *a.Followers != 1000 {
		t.Errorf("extended-mode artist %+v", a)
	}

	albums := map[string]tables.Album{}
	for _, a := range readTable[tables.Album](t, s, tables.Albums) {
		albums[a.AlbumID] = a
	}
	if a := albums[al1]; a.ArtistID != a1 || a.Label == nil || a.Popularity == nil {
		t.Errorf("al1 = %+v; want the full album, owned by the smallest listing artist a1", a)
	}
	if a := albums[al2]; a.ArtistID != a1 || a.Label != nil || a.Popularity != nil {
		t.Errorf("al2 = %+v; want the listed (simplified) album of a1", a)
	}
	if a := albums[al3]; a.ArtistID != other {
		t.Errorf("al3 = %+v; want its primary artist, as no listing named it", a)
	}

	tracks := map[string]tables.Track{}
	for _, x := range readTable[tables.Track](t, s, tables.Tracks) {
		tracks[x.TrackID] = x
	}
	if x := tracks[tr(1)]; x.ArtistID != a2 || x.Popularity == nil {
		t.Errorf("tr1 = %+v; want the full track of a2's top tracks", x)
	}
	for _, id := range []string{tr(2), tr(3)} {
		if x := tracks[id]; x.ArtistID != a1 || x.AlbumID != al1 || x.AlbumName == nil || *x.AlbumName != "First" {
			t.Errorf("%s = %+v; want al1's tracked artist a1 and album name", id, x)
		}
	}
	if x := tracks[tr(11)]; x.Name != "Eleven" {
		t.Errorf("tr11 = %+v; want the latest", x)
	}

	top := readTable[tables.ArtistTopTrack](t, s, tables.ArtistTopTracks)
	wantTop := []tables.ArtistTopTrack{
		// Each list carries the fetch time of the record it came from.
		{ArtistID: a1, Market: "US", Rank: 1, TrackID: tr(11), FetchedAt: t0.Add(time.Hour)},
		{ArtistID: a1, Market: "US", Rank: 2, TrackID: tr(12), FetchedAt: t0.Add(time.Hour)},
		{ArtistID: a2, Market: "US", Rank: 1, TrackID: tr(1), FetchedAt: t0.Add(-2 * time.Hour)},
	}
	if !reflect.DeepEqual(top, wantTop) {
		t.Errorf("top tracks\n got %+v\nwant %+v", top, wantTop)
	}
	features := readTable[tables.AudioFeature](t, s, tables.AudioFeatures)
	if len(features) != 2 || features[1].TrackID != tr(10) || features[1].Tempo != 99 {
		t.Errorf("audio features %+v; want tr11 then the later-read tr10", features)
	}

	if keys, _ := s.List(context.Background(), lake.StagingRoot); len(keys) != 0 {
		t.Errorf("staging left behind: %q", keys)
	}
}

// partitionBytes returns every curated and quarantine object of the date.
func partitionBytes(t *testing.T, s lake.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, prefix := range []string{"curated/", "quarantine/"} {
		keys, err := s.List(context.Background(), prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			rc, err := s.Get(context.Background(), k)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			out[k] = string(b)
		}
	}
	return out
}

func TestRunIsIdempotent(t *testing.T) {
	s := openFileLake(t)
	r := scenario()
	r.add(EntityArtists, 2, t0, "/v1/artists?ids=", "x", apiArtistObj("bad id", "Bad"))
	r.write(t, s)
	opts := Options{Market: "US", MaxRejectRate: 1}
	if _, err := Run(context.Background(), s, testDT, opts); err != nil {
		t.Fatal(err)
	}
	first := partitionBytes(t, s)
	if _, err := Run(context.Background(), s, testDT, opts); err != nil {
		t.Fatal(err)
	}
	second := partitionBytes(t, s)
	if len(first) == 0 || !reflect.DeepEqual(first, second) {
		t.Fatalf("a re-run changed the output: %d objects before, %d after", len(first), len(second))
	}
	if _, ok := first[lake.QuarantineKey(EntityArtists, testDT, 2)]; !ok {
		t.Fatalf("quarantine of batch 2 missing from %v", slices.Sorted(mapsKeys(first)))
	}
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestRunResumesFromCheckpoint(t *testing.T) {
	ctx := context.Background()
	// The reference: one uninterrupted run.
	ref := openFileLake(t)
	scenario().write(t, ref)
	if _, err := Run(ctx, ref, testDT, Options{Market: "US", CheckpointEvery: 3}); err != nil {
		t.Fatal(err)
	}
	want := partitionBytes(t, ref)

	s := openFileLake(t)
	scenario().write(t, s)
	crash, cancel := context.WithCancel(ctx)
	heartbeat := 0
	_, err := Run(crash, s, testDT, Options{Market: "US", CheckpointEvery: 3, Progress: func(done int, _ string) {
		heartbeat = done
		if done == 7 {
			cancel() // the worker dies after its 7th object
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: error = %v, want context.Canceled", err)
	}
	if got := partitionBytes(t, s); len(got) != 0 {
		t.Fatalf("an interrupted run published %d objects", len(got))
	}

	var resumedAt []int
	rep, err := Run(ctx, s, testDT, Options{Market: "US", CheckpointEvery: 3, ResumeAfter: heartbeat,
		Progress: func(done int, key string) {
			if strings.HasPrefix(key, "raw/") {
				resumedAt = append(resumedAt, done)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	// Checkpoints after objects 3 and 6: the attempt resumes after 6.
	if rep.Resumed != 6 || resumedAt[0] != 7 {
		t.Errorf("resumed %d objects, then processed %v; want 6 resumed, then 7…9", rep.Resumed, resumedAt)
	}
	checkScenario(t, s, rep)
	if got := partitionBytes(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("resumed output differs from an uninterrupted run")
	}

	// A checkpoint made from other raw objects is not resumed.
	r := scenario()
	r.add(EntityArtists, 7, t0, "/v1/artists?ids=", a3, apiArtistObj(a3, "New"))
	r.write(t, s)
	_, err = Run(crash, s, testDT, Options{Market: "US", CheckpointEvery: 3, Progress: func(done int, _ string) {
		if done == 4 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("run on a cancelled context succeeded")
	}
	r2 := scenario()
	r2.add(EntityArtists, 8, t0, "/v1/artists?ids=", a3, apiArtistObj(a3, "Newer"))
	r2.write(t, s)
	rep, err = Run(ctx, s, testDT, Options{Market: "US", ResumeAfter: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resumed != 0 {
		t.Errorf("resumed %d objects of a checkpoint made from other raw objects", rep.Resumed)
	}
}

// writeRawLines writes a raw object line by line, so it can hold lines no
// writer would produce.
func writeRawLines(t *testing.T, s lake.Store, key string, lines ...string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	zw.Close()
	if err := s.Put(context.Background(), key, &buf); err != nil {
		t.Fatal(err)
	}
}

func TestRunDataQualityErrorAfterQuarantine(t *testing.T) {
	ctx := context.Background()
	s := openFileLake(t)
	// A good first run publishes a1.
	good := newRawLake()
	good.add(EntityArtists, 0, t0, "/v1/artists", a1, apiArtistObj(a1, "Good"))
	good.write(t, s)
	if _, err := Run(ctx, s, testDT, Options{}); err != nil {
		t.Fatal(err)
	}

	// The re-collected day is mostly bad.
	line := func(key string, data string) string {
		return fmt.Sprintf(`{"dt":%q,"batch":0,"fetched_at":"2026-11-01T06:00:00Z","endpoint":"/v1/artists","key":%q,"data":%s}`, testDT, key, data)
	}
	writeRawLines(t, s, lake.RawKey(EntityArtists, testDT, 0),
		line(a2, string(mustJSON(apiArtistObj(a2, "Fine")))),
		line("x", string(mustJSON(apiArtistObj("short", "Bad ID")))),
		line("y", string(mustJSON(apiArtistObj("also-short", "Bad ID")))),
		`{"dt":"2026-11-01","batch":0,"key":"trunc`,
		line(a3, string(mustJSON(apiArtistObj(a3, "Pop").with("popularity", 300)))),
	)
	rep, err := Run(ctx, s, testDT, Options{MaxRejectRate: 0.5})
	var dq *DataQualityError
	if !errors.As(err, &dq) {
		t.Fatalf("error = %v, want a *DataQualityError", err)
	}
	if dq.Rejected != 4 || dq.Checked != 5 || dq.Rate != 0.8 || dq.MaxRate != 0.5 {
		t.Errorf("error %+v; want 4 of 5 rejected, max 0.5", dq)
	}
	if dq.Worst[0] != (ReasonCount{Entity: EntityArtists, Reason: ReasonInvalidID, Count: 2}) || len(dq.Worst) != 3 {
		t.Errorf("worst reasons %+v; want invalid_id first", dq.Worst)
	}
	if !strings.Contains(err.Error(), "artists/invalid_id=2") {
		t.Errorf("error text %q does not name the worst reason", err)
	}
	// The quarantine holds every rejected record, the malformed line as read.
	qkey := lake.QuarantineKey(EntityArtists, testDT, 0)
	if !reflect.DeepEqual(rep.QuarantineKeys, []string{qkey}) {
		t.Errorf("report quarantine keys %q", rep.QuarantineKeys)
	}
	q := readQuarantine(t, s, qkey)
	var got []string
	for _, r := range q {
		got = append(got, r.Reason)
	}
	want := []string{ReasonInvalidID, ReasonInvalidID, ReasonMalformedJSON, ReasonPopularityOutOfRange}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("quarantine reasons %v, want %v", got, want)
	}
	if q[2].Line != `{"dt":"2026-11-01","batch":0,"key":"trunc` || q[2].Record != 4 || len(q[0].Data) == 0 {
		t.Errorf("quarantine records lack the original data: %+v", q)
	}
	// The curated partition of the good run is untouched, staging is gone.
	artists := readTable[tables.Artist](t, s, tables.Artists)
	if len(artists) != 1 || artists[0].Name != "Good" {
		t.Errorf("artists after a failed gate = %+v; want the previous partition", artists)
	}
	if keys, _ := s.List(ctx, lake.StagingRoot); len(keys) != 0 {
		t.Errorf("staging left behind: %q", keys)
	}

	// Fixed raw data: the stale quarantine object disappears.
	good.write(t, s)
	if _, err := Run(ctx, s, testDT, Options{}); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.List(ctx, "quarantine/"); len(keys) != 0 {
		t.Errorf("stale quarantine left: %q", keys)
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	s := openFileLake(t)
	tests := []struct {
		name string
		dt   string
		opts Options
	}{
		{"bad date", "2026-13-01", Options{}},
		{"rate above 1", testDT, Options{MaxRejectRate: 1.5}},
		{"negative rate", testDT, Options{MaxRejectRate: -0.1}},
		{"bad market", testDT, Options{Market: "USA"}},
	}
	for _, tt := range tests {
		if _, err := Run(context.Background(), s, tt.dt, tt.opts); err == nil {
			t.Errorf("%s: Run succeeded, want an error", tt.name)
		}
	}
	// A stray object in a raw partition is refused, not silently skipped.
	put := func(key string) {
		if err := s.Put(context.Background(), key, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	put(lake.RawPrefix(EntityArtists, testDT) + "notes.txt")
	if _, err := Run(context.Background(), s, testDT, Options{}); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("stray raw object: error = %v", err)
	}
}

func TestRunEmptyDay(t *testing.T) {
	s := openFileLake(t)
	rep, err := Run(context.Background(), s, testDT, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Objects != 0 || rep.RejectRate() != 0 {
		t.Errorf("report %+v", rep)
	}
	// Every table still has a (schema-only) partition.
	for _, table := range tables.All {
		if len(rep.CuratedKeys[table]) != 1 {
			t.Errorf("table %s: parts %q", table, rep.CuratedKeys[table])
		}
	}
}

func TestRunOnS3(t *testing.T) {
	endpoint, access, secret := testservers.StartVersityGW(t)
	ctx := context.Background()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	s, err := lake.Open(ctx, "s3://lake/metronome", lake.WithEndpoint(endpoint), lake.WithStaticCredentials(access, secret))
	if err != nil {
		t.Fatal(err)
	}
	scenario().write(t, s)
	rep, err := Run(ctx, s, testDT, Options{Market: "US", CheckpointEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	checkScenario(t, s, rep)
}
