package spotify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// fakeAPI is a fake Spotify server for a test, optionally behind a
// middleware that changes some answers.
type fakeAPI struct {
	url string
	srv *spotifyfake.Server
}

func startFake(t testing.TB, opts spotifyfake.Options, middleware ...func(http.Handler) http.Handler) *fakeAPI {
	t.Helper()
	srv, err := spotifyfake.New(opts)
	require.NoError(t, err)
	var h http.Handler = srv
	for _, m := range middleware {
		h = m(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &fakeAPI{url: ts.URL, srv: srv}
}

func (f *fakeAPI) artistIDs(n int) []string {
	var out []string
	for _, a := range f.srv.Catalog().Artists()[:n] {
		out = append(out, a.ID)
	}
	return out
}

// newTestClient returns a client of url with its own gate.
func newTestClient(t testing.TB, url string, change ...func(*Options)) *Client {
	t.Helper()
	opts := Options{
		ClientID: spotifyfake.DefaultClientID, ClientSecret: spotifyfake.DefaultClientSecret,
		BaseURL: url + "/v1/", TokenURL: url + "/api/token",
		Gate:    NewGate(GateOptions{}),
		Backoff: time.Millisecond,
	}
	for _, c := range change {
		c(&opts)
	}
	c, err := New(context.Background(), opts)
	require.NoError(t, err)
	return c
}

// recorder is a base transport that logs what is sent and received.
type recorder struct {
	base http.RoundTripper

	mu    sync.Mutex
	sends []time.Time
	// limited are the 429s: when they arrived and for how long.
	limited []window
}

type window struct{ from, until time.Time }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := r.base.RoundTrip(req)
	got := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.URL.Path != "/api/token" {
		r.sends = append(r.sends, sent)
	}
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		r.limited = append(r.limited, window{got, got.Add(parseRetryAfter(resp.Header.Get("Retry-After")))})
	}
	return resp, err
}

// sentDuringRetryAfter counts requests sent after a 429 arrived and
// before its Retry-After ended. grace allows for the instant between the
// 429 reaching the recorder and the gate closing above it.
func (r *recorder) sentDuringRetryAfter(grace time.Duration) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.sends {
		for _, w := range r.limited {
			if s.After(w.from.Add(grace)) && s.Before(w.until) {
				n++
				break
			}
		}
	}
	return n
}
