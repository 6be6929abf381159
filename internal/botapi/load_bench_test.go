package botapi

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/loadgen"
	"github.com/metronome-data/metronome/internal/serving"
)

var (
	loadDuration = flag.Duration("load.duration", 5*time.Second, "BenchmarkFrontDoorLoad: how long each route is loaded")
	loadConns    = flag.Int("load.conns", 32, "BenchmarkFrontDoorLoad: connections")
	loadArtists  = flag.Int("load.artists", 1000, "BenchmarkFrontDoorLoad: artists in the serving store, asked in turn")
)

// loadStore is a SQLite serving store of n artists as a daily run leaves
// them: a snapshot, 10 top tracks, 10 similar artists and a cached name.
func loadStore(b *testing.B, n int) (*serving.Store, []string) {
	b.Helper()
	ctx := context.Background()
	s, err := serving.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "serving.db"))
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, s.Close()) })
	ids := make([]string, n)
	snaps := make([]serving.ArtistSnapshot, n)
	top := map[string][]serving.TopTrack{}
	similar := map[string][]serving.Similar{}
	for i := range n {
		ids[i] = fmt.Sprintf("%022d", i)
		snaps[i] = serving.ArtistSnapshot{ID: ids[i], Name: fmt.Sprintf("Load Artist %d", i),
			Genres: []string{"rock", "indie"}, Popularity: ptr(50 + i%50), Followers: ptr(int64(1000 * i))}
		for r := range 10 {
			top[ids[i]] = append(top[ids[i]], serving.TopTrack{ID: fmt.Sprintf("t%d-%d", i, r), Name: fmt.Sprintf("Track %d of %d", r, i),
				Album: "An Album", Popularity: ptr(60), DurationMS: 200_000 + r})
			similar[ids[i]] = append(similar[ids[i]], serving.Similar{ArtistID: fmt.Sprintf("%022d", (i+r+1)%n),
				Name: fmt.Sprintf("Load Artist %d", (i+r+1)%n), Score: 0.9 - float64(r)/20})
		}
	}
	require.NoError(b, s.PutArtists(ctx, "2026-11-01", snaps))
	require.NoError(b, s.PutTopTracksBatch(ctx, "2026-11-01", top))
	require.NoError(b, s.PutSimilarBatch(ctx, "2026-11-01", similar))
	for i, id := range ids {
		require.NoError(b, s.PutName(ctx, snaps[i].Name, id, serving.NameExact))
	}
	return s, ids
}

// BenchmarkFrontDoorLoad loads /healthz, GET /v1/artists/{id} and signed
// slash commands for stored artists, one after the other in one run, each
// for -load.duration on -load.conns connections to 127.0.0.1, and reports
// throughput, p99, errors and the process's RSS. Run it once per
// measurement:
//
//	go test -run '^$' -bench FrontDoorLoad -benchtime 1x ./internal/botapi -load.duration 60s
func BenchmarkFrontDoorLoad(b *testing.B) {
	store, ids := loadStore(b, *loadArtists)
	h, err := New(Options{Store: store, Collect: func(context.Context, string, string) error { return nil },
		WorkflowID: testWorkflow, SigningSecret: testSecret, APIToken: testToken})
	require.NoError(b, err)
	srv := httptest.NewServer(h) // 127.0.0.1
	b.Cleanup(srv.Close)

	routes := []struct {
		name    string
		request func(conn, i int) (*http.Request, error)
	}{
		{"healthz", func(_, _ int) (*http.Request, error) {
			return http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		}},
		{"artist", func(conn, i int) (*http.Request, error) {
			r, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/artists/"+ids[(conn*7919+i)%len(ids)], nil)
			if err == nil {
				r.Header.Set("Authorization", "Bearer "+testToken)
			}
			return r, err
		}},
		{"slack", func(conn, i int) (*http.Request, error) {
			form := commandForm(fmt.Sprintf("Load Artist %d", (conn*7919+i)%len(ids)))
			body := form.Encode()
			return signedCommand(srv.URL, body), nil
		}},
	}
	b.ResetTimer()
	for range b.N {
		rps := map[string]float64{}
		for _, rt := range routes {
			rssBefore := loadgen.RSS()
			res, err := loadgen.Run(context.Background(), loadgen.Options{
				Connections: *loadConns, Duration: *loadDuration, Request: rt.request,
			})
			require.NoError(b, err)
			b.Logf("%-8s %s; RSS %d → %d MiB", rt.name, res, rssBefore>>20, loadgen.RSS()>>20)
			rps[rt.name] = res.RPS()
			b.ReportMetric(res.RPS(), rt.name+"-req/s")
			b.ReportMetric(float64(res.P99.Microseconds())/1000, rt.name+"-p99-ms")
			b.ReportMetric(float64(res.Errors), rt.name+"-errors")
		}
		b.ReportMetric(rps["artist"]/rps["healthz"], "artist/healthz")
		b.ReportMetric(rps["slack"]/rps["healthz"], "slack/healthz")
	}
}

// signedCommand is a POST of a slash command body to base, signed now.
func signedCommand(base, body string) *http.Request {
	ts := time.Now().Unix()
	r, _ := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
	return r
}
