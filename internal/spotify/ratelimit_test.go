package spotify

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// collectAll collects ids in batches of 50, parallel batches at a time,
// as parallel activities of one worker would.
func collectAll(ctx context.Context, c *Client, mode Mode, ids []string, parallel int, req func(*BatchRequest)) ([]BatchResult, error) {
	var (
		mu      sync.Mutex
		results []BatchResult
		first   error
		wg      sync.WaitGroup
	)
	sem := make(chan struct{}, parallel)
	for start := 0; start < len(ids); start += MaxBatchArtists {
		batch := ids[start:min(start+MaxBatchArtists, len(ids))]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := BatchRequest{Mode: mode, ArtistIDs: batch}
			if req != nil {
				req(&r)
			}
			res, err := c.CollectBatch(ctx, r)
			mu.Lock()
			defer mu.Unlock()
			results = append(results, res)
			if err != nil && first == nil {
				first = err
			}
		}()
	}
	wg.Wait()
	return results, first
}

// Under a tight window the collector learns the app's rate from the first
// 429: no request goes out while a Retry-After is in force, and 429s stay
// under 1% of calls.
func TestTightWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: several rate-limit windows")
	}
	// A budget even a race-detector build exceeds, and two batches at a
	// time, one request each in flight, sharing the gate.
	const budget = 50
	f := startFake(t, spotifyfake.Options{Artists: 300, Budget: budget, Window: time.Second, Latency: 2 * time.Millisecond})
	rec := &recorder{base: http.DefaultTransport}
	c := newTestClient(t, f.url, func(o *Options) {
		o.Gate = NewGate(GateOptions{Window: time.Second})
		o.HTTPClient = &http.Client{Transport: rec}
		o.Concurrency = 1
	})
	_, err := collectAll(context.Background(), c, ModeExtended, f.artistIDs(300), 2, nil)
	require.NoError(t, err)

	st := f.srv.Stats()
	calls, limited := st.APICalls(), st.Status(http.StatusTooManyRequests)
	t.Logf("%d calls, %d answered 429 (%.2f%%), pace learned %.0f/s, %d arrived during a Retry-After",
		calls, limited, 100*float64(limited)/float64(calls), c.Gate().Pace(), st.DuringRetryAfter)
	require.Positive(t, st.RateLimited, "the window was reached")
	require.Less(t, float64(limited)/float64(calls), 0.01)
	require.Zero(t, rec.sentDuringRetryAfter(20*time.Millisecond), "nothing sent while a Retry-After was in force")
	require.Greater(t, c.Gate().Pace(), 0.0)
	require.LessOrEqual(t, c.Gate().Pace(), float64(budget))
}

// When the app's budget halves (another process now shares it), the window
// refuses the requests in flight with its 429 too, and the pace falls to
// just under the new budget.
func TestPaceFollowsAHalvedBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: several rate-limit windows")
	}
	const budget = 100
	gate := NewGate(GateOptions{Window: time.Second})
	collect := func(budget int) spotifyfake.Stats {
		// Enough latency that a few requests are in flight at the pace.
		f := startFake(t, spotifyfake.Options{Artists: 300, Budget: budget, Window: time.Second, Latency: 30 * time.Millisecond})
		c := newTestClient(t, f.url, func(o *Options) {
			o.Gate = gate
			o.Concurrency = 4
		})
		_, err := collectAll(context.Background(), c, ModeExtended, f.artistIDs(300), 2, nil)
		require.NoError(t, err)
		return f.srv.Stats()
	}
	st := collect(budget)
	learned := gate.Pace()
	t.Logf("budget %d/s: %d calls, %d answered 429, pace %.1f/s", budget, st.APICalls(), st.RateLimited, learned)
	require.Positive(t, st.RateLimited)
	require.InDelta(t, paceMargin*budget, learned, 0.1*budget)

	time.Sleep(time.Second) // our requests leave the window
	st = collect(budget / 2)
	t.Logf("budget %d/s: %d calls, %d answered 429, pace %.1f/s", budget/2, st.APICalls(), st.RateLimited, gate.Pace())
	require.Positive(t, st.RateLimited)
	require.InDelta(t, paceMargin*budget/2, gate.Pace(), 0.1*budget/2, "the pace follows the halved budget")
	require.Less(t, float64(st.RateLimited)/float64(st.APICalls()), 0.03)
}

// 429s the window does not explain, 5% of the requests at random with a
// Retry-After, as in the chaos test: each closes the gate for its
// Retry-After, and none teaches a pace, since the requests in flight with
// it were answered.
func TestSparse429sTeachNoPace(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: every 429 closes the gate for a second")
	}
	f := startFake(t, spotifyfake.Options{Artists: 100, Latency: 20 * time.Millisecond,
		Faults: spotifyfake.Faults{RateLimited: 0.05, Seed: 8}})
	rec := &recorder{base: http.DefaultTransport}
	c := newTestClient(t, f.url, func(o *Options) {
		o.HTTPClient = &http.Client{Transport: rec}
		o.Concurrency = 4
	})
	start := time.Now()
	_, err := collectAll(context.Background(), c, ModeExtended, f.artistIDs(100), 2, nil)
	require.NoError(t, err)
	st := f.srv.Stats()
	t.Logf("%d calls, %d answered 429 in %v; %d arrived during a Retry-After", st.APICalls(), st.Faults["429"], time.Since(start).Round(time.Millisecond), st.DuringRetryAfter)
	require.Positive(t, st.Faults["429"])
	require.Zero(t, c.Gate().Pace(), "no pace learned from sparse 429s")
	require.Zero(t, rec.sentDuringRetryAfter(20*time.Millisecond), "every Retry-After honored")
}
