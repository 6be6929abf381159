package spotify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

func byEntity(recs []Raw) map[string][]Raw {
	out := map[string][]Raw{}
	for _, r := range recs {
		out[r.Entity] = append(out[r.Entity], r)
	}
	return out
}

func jsonKeys(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m), string(raw))
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func TestProbeMode(t *testing.T) {
	for _, mode := range []string{spotifyfake.ModeExtended, spotifyfake.ModeDevelopment} {
		t.Run(mode, func(t *testing.T) {
			f := startFake(t, spotifyfake.Options{Artists: 10, Mode: mode})
			c := newTestClient(t, f.url)
			got, err := c.ProbeMode(context.Background())
			require.NoError(t, err)
			require.Equal(t, Mode(mode), got)
			require.Equal(t, 1, f.srv.Stats().APICalls(), "one cheap call")
			resolved, err := c.ResolveMode(context.Background(), ModeAuto)
			require.NoError(t, err)
			require.Equal(t, Mode(mode), resolved)
			forced, err := c.ResolveMode(context.Background(), ModeExtended)
			require.NoError(t, err)
			require.Equal(t, ModeExtended, forced)
		})
	}
}

func TestCollectExtended(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 60, Seed: 2})
	cat := f.srv.Catalog()
	ids := f.artistIDs(49)
	unknown := "0TnOYISbd1XYRBk9myaseg"
	c := newTestClient(t, f.url)
	var progress []int
	res, err := c.CollectBatch(context.Background(), BatchRequest{
		// 50 distinct IDs, one Spotify does not know, one twice.
		Mode: ModeExtended, ArtistIDs: append(append([]string{}, ids[:10]...), append([]string{unknown, ids[3]}, ids[10:]...)...),
		Progress: func(n int) { progress = append(progress, n) },
	})
	require.NoError(t, err)
	require.Equal(t, []string{unknown}, res.Missing)
	require.Empty(t, res.Unavailable)
	require.Len(t, progress, 50, "once per distinct artist")
	require.Equal(t, 50, progress[49])

	recs := byEntity(res.Records)
	require.Len(t, recs[EntityArtists], 49)
	require.Len(t, recs[EntityTopTracks], 49)
	wantTracks := map[string]bool{}
	for i, id := range ids {
		a, _ := cat.Artist(id)
		r := recs[EntityArtists][i]
		require.Equal(t, id, r.Key, "artists in request order")
		require.Equal(t, EndpointArtists, r.Endpoint)
		require.False(t, r.FetchedAt.IsZero())
		var got struct {
			ID         string
			Name       string
			Popularity *int
		}
		require.NoError(t, json.Unmarshal(r.Data, &got))
		require.Equal(t, a.Name, got.Name)
		require.NotNil(t, got.Popularity)
		require.Equal(t, a.Popularity, *got.Popularity)

		tt := recs[EntityTopTracks][i]
		require.Equal(t, id, tt.Key)
		var top struct{ Tracks []struct{ ID string } }
		require.NoError(t, json.Unmarshal(tt.Data, &top))
		want, _ := cat.TopTracks(id, "US", time.Time{})
		require.Len(t, top.Tracks, len(want))
		for j := range want {
			require.Equal(t, want[j].ID, top.Tracks[j].ID)
			wantTracks[want[j].ID] = true
		}
	}
	require.Len(t, recs[EntityAudioFeatures], len(wantTracks), "features of every distinct top track")
	for _, r := range recs[EntityAudioFeatures] {
		require.True(t, wantTracks[r.Key])
		require.Equal(t, r.Key, jsonString(t, r.Data, "id"))
	}
	featureCalls := (len(wantTracks) + 99) / 100
	require.Equal(t, map[string]int{EndpointArtists: 1, EndpointTopTracks: 49, EndpointAudioFeatures: featureCalls}, res.Calls)
	require.Equal(t, 1, res.ArtistCalls[ids[0]][EndpointTopTracks])
	require.Equal(t, 1+49+featureCalls, f.srv.Stats().APICalls(), "no call beyond the minimum")

	// The raw artist is exactly what a single-artist call returns.
	direct, err := c.GetArtistRaw(context.Background(), ids[7])
	require.NoError(t, err)
	require.JSONEq(t, string(direct), string(recs[EntityArtists][7].Data))
}

func jsonString(t *testing.T, raw []byte, key string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	s, _ := m[key].(string)
	return s
}

// developmentMinimum is the fewest calls development mode needs for an
// artist whose albums are all unknown: the artist, its albums pages, each
// album, and the extra track pages of albums longer than 50 tracks.
func developmentMinimum(a *spotifyfake.Artist) int {
	n := 1 + max(1, (len(a.Albums)+9)/10) + len(a.Albums)
	for _, al := range a.Albums {
		if len(al.Tracks) > 50 {
			n += (len(al.Tracks) - 1) / 50
		}
	}
	return n
}

func TestCollectDevelopment(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 60, Seed: 2, Mode: spotifyfake.ModeDevelopment})
	cat := f.srv.Catalog()
	ids := f.artistIDs(50)
	c := newTestClient(t, f.url)
	res, err := c.CollectBatch(context.Background(), BatchRequest{Mode: ModeDevelopment, ArtistIDs: ids})
	require.NoError(t, err)
	require.Empty(t, res.Missing)
	require.ElementsMatch(t, []string{"top_tracks", "audio_features", "popularity", "followers", "available_markets"}, res.Unavailable)

	recs := byEntity(res.Records)
	require.Len(t, recs[EntityArtists], 50)
	require.Empty(t, recs[EntityTopTracks])
	require.Empty(t, recs[EntityAudioFeatures])
	minimum, albums, longAlbums := 0, 0, 0
	for i, id := range ids {
		a, _ := cat.Artist(id)
		minimum += developmentMinimum(a)
		albums += len(a.Albums)
		require.Equal(t, developmentMinimum(a), sum(res.ArtistCalls[id]), id)
		r := recs[EntityArtists][i]
		require.Equal(t, id, r.Key)
		require.Equal(t, EndpointArtist, r.Endpoint)
		k := jsonKeys(t, r.Data)
		require.False(t, k["popularity"], "absent, never 0")
		require.False(t, k["followers"])
		for _, al := range a.Albums {
			if len(al.Tracks) > 50 {
				longAlbums++
			}
		}
	}
	require.Len(t, recs[EntityAlbums], albums)
	for _, r := range recs[EntityAlbums] {
		al, ok := cat.Album(r.Key)
		require.True(t, ok)
		require.Equal(t, al.Name, jsonString(t, r.Data, "name"))
		require.False(t, jsonKeys(t, r.Data)["popularity"])
	}
	require.Positive(t, longAlbums)
	require.Len(t, recs[EntityAlbumTracks], longAlbums)
	pages := 0
	for _, r := range recs[EntityArtistAlbums] {
		var p struct {
			Limit int
			Items []json.RawMessage
		}
		require.NoError(t, json.Unmarshal(r.Data, &p))
		require.Equal(t, 10, p.Limit)
		pages++
	}
	require.Equal(t, pages, res.Calls[EndpointArtistAlbums])
	require.Equal(t, minimum, sum(res.Calls), "the minimum calls for the mode")
	require.Equal(t, minimum, f.srv.Stats().APICalls())

	// The next day: every album is known, and so is each artist's total.
	known, totals := knownFrom(t, res.Records)
	f.srv.ResetStats()
	res2, err := c.CollectBatch(context.Background(), BatchRequest{
		Mode: ModeDevelopment, ArtistIDs: ids,
		KnownAlbum:      func(id string) bool { return known[id] },
		KnownAlbumTotal: func(id string) (int, bool) { n, ok := totals[id]; return n, ok },
	})
	require.NoError(t, err)
	require.Equal(t, map[string]int{EndpointArtist: 50, EndpointArtistAlbums: 50}, res2.Calls,
		"an artist call and one albums page each")
	require.Empty(t, byEntity(res2.Records)[EntityAlbums])

	// Without the totals every page is read, still no album fetched.
	res3, err := c.CollectBatch(context.Background(), BatchRequest{
		Mode: ModeDevelopment, ArtistIDs: ids, KnownAlbum: func(id string) bool { return known[id] },
	})
	require.NoError(t, err)
	require.Equal(t, map[string]int{EndpointArtist: 50, EndpointArtistAlbums: pages}, res3.Calls)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// knownFrom is what the lake knows after a run: album IDs and each
// artist's albums total.
func knownFrom(t *testing.T, recs []Raw) (map[string]bool, map[string]int) {
	known, totals := map[string]bool{}, map[string]int{}
	for _, r := range recs {
		switch r.Entity {
		case EntityAlbums:
			known[r.Key] = true
		case EntityArtistAlbums:
			var p struct{ Total int }
			require.NoError(t, json.Unmarshal(r.Data, &p))
			totals[r.Key] = p.Total
		}
	}
	return known, totals
}

func TestCollectDevelopmentFetchesOnlyNewReleases(t *testing.T) {
	asOf := time.Date(2026, time.May, 31, 0, 0, 0, 0, time.UTC)
	before := startFake(t, spotifyfake.Options{Artists: 200, Seed: 4, Mode: spotifyfake.ModeDevelopment, AsOf: asOf})
	after := startFake(t, spotifyfake.Options{Artists: 200, Seed: 4, Mode: spotifyfake.ModeDevelopment})
	cat := after.srv.Catalog()
	ids := after.artistIDs(200)

	known, totals := map[string]bool{}, map[string]int{}
	for start := 0; start < len(ids); start += 50 {
		res, err := newTestClient(t, before.url).CollectBatch(context.Background(),
			BatchRequest{Mode: ModeDevelopment, ArtistIDs: ids[start : start+50]})
		require.NoError(t, err)
		k, tot := knownFrom(t, res.Records)
		for id := range k {
			known[id] = true
		}
		for id, n := range tot {
			totals[id] = n
		}
	}
	var fresh []string
	for _, id := range ids {
		a, _ := cat.Artist(id)
		for _, al := range a.Albums {
			if al.Released.After(asOf) {
				fresh = append(fresh, al.ID)
			}
		}
	}
	require.NotEmpty(t, fresh)

	var got []string
	c := newTestClient(t, after.url)
	for start := 0; start < len(ids); start += 50 {
		res, err := c.CollectBatch(context.Background(), BatchRequest{
			Mode: ModeDevelopment, ArtistIDs: ids[start : start+50],
			KnownAlbum:      func(id string) bool { return known[id] },
			KnownAlbumTotal: func(id string) (int, bool) { n, ok := totals[id]; return n, ok },
		})
		require.NoError(t, err)
		for _, r := range byEntity(res.Records)[EntityAlbums] {
			got = append(got, r.Key)
		}
		require.Equal(t, 50, res.Calls[EndpointArtist])
	}
	require.ElementsMatch(t, fresh, got, "exactly the albums released since")
	st := after.srv.Stats()
	require.Equal(t, len(fresh), st.Calls("album"))
	require.Less(t, st.Calls("artist_albums"), 200+len(fresh)+50)
}

func TestCollectRefusesBadRequestsWithoutCalling(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 60})
	c := newTestClient(t, f.url)
	ids := f.artistIDs(51)
	tests := []struct {
		name string
		req  BatchRequest
		want string
	}{
		{"unresolved mode", BatchRequest{Mode: ModeAuto, ArtistIDs: ids[:1]}, `mode "auto"`},
		{"no artists", BatchRequest{Mode: ModeExtended}, "0 distinct artist IDs"},
		{"too many artists", BatchRequest{Mode: ModeExtended, ArtistIDs: ids}, "51 distinct artist IDs"},
		{"not an ID", BatchRequest{Mode: ModeExtended, ArtistIDs: []string{"Pitbull"}}, `"Pitbull" is not a Spotify ID`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CollectBatch(context.Background(), tt.req)
			e := asAPIError(err)
			require.NotNil(t, e)
			require.Equal(t, 400, e.Status)
			require.False(t, e.Retryable)
			require.Contains(t, e.Message, tt.want)
		})
	}
	require.Zero(t, f.srv.Stats().Total)
}

func TestCollectExtendedOnADevelopmentApp(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 10, Mode: spotifyfake.ModeDevelopment})
	_, err := newTestClient(t, f.url).CollectBatch(context.Background(), BatchRequest{Mode: ModeExtended, ArtistIDs: f.artistIDs(3)})
	e := asAPIError(err)
	require.NotNil(t, e)
	require.Equal(t, http.StatusForbidden, e.Status)
	require.False(t, e.Retryable)
	require.ErrorContains(t, err, "development")
}

// An extended app without audio features (created after 2024-11-27)
// records them unavailable and collects the rest.
func TestCollectRecordsRefusedEndpoints(t *testing.T) {
	forbid := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v1/audio-features") {
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`{"error":{"status":403,"message":"Forbidden"}}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	f := startFake(t, spotifyfake.Options{Artists: 60}, forbid)
	res, err := newTestClient(t, f.url).CollectBatch(context.Background(), BatchRequest{Mode: ModeExtended, ArtistIDs: f.artistIDs(50)})
	require.NoError(t, err)
	require.Equal(t, []string{"audio_features"}, res.Unavailable)
	recs := byEntity(res.Records)
	require.Len(t, recs[EntityTopTracks], 50)
	require.Empty(t, recs[EntityAudioFeatures])
	require.LessOrEqual(t, res.Calls[EndpointAudioFeatures], 5)
}

// With faults on, the collector retries within each call and collects the
// same data as with faults off.
func TestCollectSameDataWithFaults(t *testing.T) {
	faults := spotifyfake.Faults{ServerError: 0.05, Slow: 0.02, Truncated: 0.04, Malformed: 0.04, SlowDelay: 5 * time.Second, Seed: 11}
	for _, mode := range []string{spotifyfake.ModeExtended, spotifyfake.ModeDevelopment} {
		t.Run(mode, func(t *testing.T) {
			clean := startFake(t, spotifyfake.Options{Artists: 60, Seed: 8, Mode: mode})
			faulty := startFake(t, spotifyfake.Options{Artists: 60, Seed: 8, Mode: mode, Faults: faults})
			collect := func(f *fakeAPI) BatchResult {
				c := newTestClient(t, f.url, func(o *Options) {
					o.MaxAttempts = 10
					o.Timeout = 300 * time.Millisecond
				})
				res, err := c.CollectBatch(context.Background(), BatchRequest{Mode: Mode(mode), ArtistIDs: f.artistIDs(50)})
				require.NoError(t, err)
				return res
			}
			want, got := collect(clean), collect(faulty)
			require.Len(t, got.Records, len(want.Records))
			for i := range want.Records {
				w, g := want.Records[i], got.Records[i]
				require.Equal(t, w.Entity, g.Entity)
				require.Equal(t, w.Key, g.Key)
				require.Equal(t, strings.ReplaceAll(string(w.Data), clean.url, faulty.url), string(g.Data))
			}
			st := faulty.srv.Stats()
			injected := st.Faults["5xx"] + st.Faults["slow"] + st.Faults["truncated"] + st.Faults["malformed"]
			require.Positive(t, injected)
			require.Equal(t, sum(want.Calls)+injected, sum(got.Calls), "one extra call per injected fault")
		})
	}
}

// A daily quota ends the batch at once with a retryable error carrying the
// long Retry-After, returns what was finished and sends nothing more.
func TestCollectStopsAtTheQuota(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 60, Mode: spotifyfake.ModeDevelopment, Quota: 60})
	c := newTestClient(t, f.url, func(o *Options) { o.Concurrency = 4 })
	res, err := c.CollectBatch(context.Background(), BatchRequest{Mode: ModeDevelopment, ArtistIDs: f.artistIDs(50)})
	e := asAPIError(err)
	require.NotNil(t, e, "%v", err)
	require.Equal(t, 429, e.Status)
	require.True(t, e.Quota)
	require.True(t, e.Retryable)
	require.Greater(t, e.RetryAfter, time.Duration(0))
	d, ok := RetryAfter(err)
	require.True(t, ok)
	require.Equal(t, e.RetryAfter, d)
	st := f.srv.Stats()
	require.LessOrEqual(t, st.QuotaExceeded, 4, "only requests already in flight")
	require.Less(t, len(byEntity(res.Records)[EntityArtists]), 50)

	// Later calls are refused by the gate, not sent. (The server's count
	// is no measure of that: a request the first batch sent before the
	// quota answer arrived, and then gave up, may reach the server later.)
	later, err := c.CollectBatch(context.Background(), BatchRequest{Mode: ModeDevelopment, ArtistIDs: f.artistIDs(1)})
	require.True(t, asAPIError(err).Quota)
	require.Zero(t, sum(later.Calls), "requests sent after the quota: %v", later.Calls)
}

func TestCollectSharesTheGateAcrossClients(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 60})
	gate := NewGate(GateOptions{})
	a := newTestClient(t, f.url, func(o *Options) { o.Gate = gate })
	b := newTestClient(t, f.url, func(o *Options) { o.Gate = gate })
	gate.block(5*time.Minute, false)
	for _, c := range []*Client{a, b} {
		_, err := c.CollectBatch(context.Background(), BatchRequest{Mode: ModeExtended, ArtistIDs: f.artistIDs(2)})
		require.Equal(t, 429, asAPIError(err).Status)
	}
	require.Zero(t, f.srv.Stats().APICalls())
}

func TestCollectConcurrentBatches(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 200, Mode: spotifyfake.ModeDevelopment})
	c := newTestClient(t, f.url)
	ids := f.artistIDs(200)
	var wg sync.WaitGroup
	results := make([]BatchResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = c.CollectBatch(context.Background(), BatchRequest{Mode: ModeDevelopment, ArtistIDs: ids[i*50 : i*50+50]})
		}(i)
	}
	wg.Wait()
	total := 0
	for i := range results {
		require.NoError(t, errs[i])
		total += sum(results[i].Calls)
	}
	require.Equal(t, f.srv.Stats().APICalls(), total)
}
