package spotify

import (
	"cmp"
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGateWaitsOutAShortRetryAfter(t *testing.T) {
	g := NewGate(GateOptions{})
	g.block(300*time.Millisecond, false)
	d, quota := g.Closed()
	require.Greater(t, d, 200*time.Millisecond)
	require.False(t, quota)
	start := time.Now()
	at, err := g.Wait(context.Background())
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	require.False(t, at.Before(start))
	d, _ = g.Closed()
	require.Zero(t, d)
}

func TestGateRefusesWaitsItShouldNotSleepThrough(t *testing.T) {
	tests := []struct {
		name      string
		block     time.Duration
		quota     bool
		ctxExpiry time.Duration
	}{
		{"longer than MaxWait", 5 * time.Second, false, 0},
		{"a quota", 100 * time.Millisecond, true, 0},
		{"longer than the context allows", 500 * time.Millisecond, false, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGate(GateOptions{MaxWait: time.Second})
			g.block(tt.block, tt.quota)
			ctx := context.Background()
			if tt.ctxExpiry > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxExpiry)
				defer cancel()
			}
			start := time.Now()
			_, err := g.Wait(ctx)
			require.Less(t, time.Since(start), 50*time.Millisecond, "returns at once")
			e := asAPIError(err)
			require.NotNil(t, e, err)
			require.Equal(t, 429, e.Status)
			require.True(t, e.Retryable)
			require.Equal(t, tt.quota, e.Quota)
			require.InDelta(t, tt.block.Seconds(), e.RetryAfter.Seconds(), 0.05)
		})
	}
}

func TestGateLearnsThePaceFromA429(t *testing.T) {
	g := NewGate(GateOptions{Window: time.Second})
	require.Zero(t, g.Pace(), "unpaced until a 429")
	now := time.Now()
	for i := 0; i < 100; i++ {
		g.answer(now.Add(-time.Duration(i) * time.Millisecond))
	}
	g.answer(now.Add(-2 * time.Second)) // outside the window
	g.block(50*time.Millisecond, false)
	// A request that was in flight when the 429 came is counted too.
	g.answer(now.Add(-time.Millisecond))
	require.Zero(t, g.Pace(), "learned when the gate reopens")
	_, err := g.Wait(context.Background())
	require.NoError(t, err)
	require.InDelta(t, 97.97, g.Pace(), 0.5, "just under 101 answered per 1s window")

	// A quota says nothing about the window's rate.
	q := NewGate(GateOptions{Window: time.Second, MaxWait: time.Hour})
	q.answer(now)
	q.block(10*time.Millisecond, true)
	time.Sleep(20 * time.Millisecond)
	_, err = q.Wait(context.Background())
	require.NoError(t, err)
	require.Zero(t, q.Pace())

	g.Reset()
	require.Zero(t, g.Pace())
	d, _ := g.Closed()
	require.Zero(t, d)
}

func TestGatePacesRequests(t *testing.T) {
	g := NewGate(GateOptions{Rate: 50, Window: time.Minute})
	require.InDelta(t, 50, g.Pace(), 0.01)
	start := time.Now()
	var last time.Time
	for i := 0; i < 11; i++ {
		at, err := g.Wait(context.Background())
		require.NoError(t, err)
		if i > 0 {
			require.GreaterOrEqual(t, at.Sub(last), 19*time.Millisecond, "slots 20ms apart")
		}
		last = at
	}
	require.GreaterOrEqual(t, time.Since(start), 190*time.Millisecond)
}

func TestGateProbesUpAfterQuietWindows(t *testing.T) {
	g := NewGate(GateOptions{Rate: 100, Window: 5 * time.Millisecond})
	time.Sleep(quietWindows*5*time.Millisecond + 10*time.Millisecond)
	_, err := g.Wait(context.Background())
	require.NoError(t, err)
	require.InDelta(t, 105, g.Pace(), 0.5)
}

func TestGateWaitStopsWithTheContext(t *testing.T) {
	g := NewGate(GateOptions{Rate: 1})
	_, err := g.Wait(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = g.Wait(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

// TestGateLearnsOnlyFromWindow429s is the rule of learnLocked, case by
// case: which 429s set the pace, over a 1 s window.
func TestGateLearnsOnlyFromWindow429s(t *testing.T) {
	tests := []struct {
		name   string
		budget int     // learned before; 0: none
		pace   float64 // pace before; 0: paceMargin × budget
		// n requests answered in the window before the 429, served of
		// them in flight with it; refused requests in flight with it
		// answered 429 too; earlier 429s in the window.
		n, served, refused, earlier int
		// busy: more than inFlightEvidence requests were in flight
		// at once in the window.
		busy       bool
		teaches    bool
		wantBudget int
		wantPace   float64
	}{
		{name: "first 429 teaches", n: 100, teaches: true, wantBudget: 100, wantPace: 97},
		{name: "first 429, one answered in flight", n: 101, served: 1, teaches: true, wantBudget: 101, wantPace: 97.97},
		{name: "first 429, in flight refused too", n: 100, refused: 6, teaches: true, wantBudget: 100, wantPace: 97},
		{name: "first 429 among answers is sparse", n: 20, served: 10, refused: 1},
		{name: "first 429, one answered in flight, app was busy", n: 101, served: 1, busy: true},
		{name: "first 429, none in flight, app was busy", n: 101, busy: true},
		{name: "first 429, in flight refused too, app was busy", n: 100, refused: 2, busy: true, teaches: true, wantBudget: 100, wantPace: 97},
		{name: "sparse 429 at the pace", budget: 100, n: 97, served: 1, wantBudget: 100, wantPace: 97},
		{name: "sparse 429 below the pace", budget: 100, n: 40, wantBudget: 100, wantPace: 97},
		{name: "one refused in flight is no evidence", budget: 100, n: 50, refused: 1, wantBudget: 100, wantPace: 97},
		{name: "refused fewer than answered in flight", budget: 100, n: 50, served: 3, refused: 2, wantBudget: 100, wantPace: 97},
		{name: "a probe filled the window", budget: 100, pace: 101.85, n: 99, teaches: true, wantBudget: 99, wantPace: 96.03},
		{name: "the budget reached again", budget: 100, n: 100, teaches: true, wantBudget: 100, wantPace: 97},
		{name: "the budget shrank", budget: 100, n: 50, refused: 3, teaches: true, wantBudget: 50, wantPace: 48.5},
		{name: "persistent 429s", budget: 100, n: 40, earlier: 15, teaches: true, wantBudget: 40, wantPace: 38.8},
		{name: "5% 429s are not persistent", budget: 100, n: 90, earlier: 4, wantBudget: 100, wantPace: 97},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGate(GateOptions{Window: time.Second})
			g.budget = tt.budget
			if pace := cmp.Or(tt.pace, paceMargin*float64(tt.budget)); pace > 0 {
				g.interval = time.Duration(float64(time.Second) / pace)
			}
			now := time.Now()
			if tt.busy {
				for range inFlightEvidence + 1 {
					g.sending()
				}
				for range inFlightEvidence + 1 {
					g.sent()
				}
			}
			for i := 0; i < tt.earlier; i++ {
				g.limited = append(g.limited, now.Add(-500*time.Millisecond))
			}
			for i := 0; i < tt.n-tt.served; i++ {
				g.answer(now.Add(-time.Duration(i) * 5 * time.Millisecond))
			}
			g.block(time.Millisecond, false)
			for i := 0; i < tt.served; i++ {
				g.answer(now)
			}
			for i := 0; i < tt.refused; i++ {
				g.block(time.Millisecond, false)
			}
			quiet := g.quiet
			g.mu.Lock()
			g.learnLocked(time.Now())
			g.mu.Unlock()
			require.Equal(t, tt.wantBudget, g.budget, "budget")
			require.InDelta(t, tt.wantPace, g.Pace(), 0.05, "pace")
			if tt.teaches {
				require.True(t, g.quiet.After(quiet), "a lesson starts a new quiet spell")
			} else {
				require.Equal(t, quiet, g.quiet, "a 429 that does not teach keeps the quiet spell")
			}
		})
	}
}

// Sparse 429s the app's rate does not explain (5% of the requests,
// whatever the window holds) close the gate for their Retry-After but do
// not wear the learned pace down: the old rule cut it by paceMargin at
// every one of them.
func TestGatePaceSurvivesSparse429s(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: several seconds of paced requests")
	}
	const (
		window  = 200 * time.Millisecond
		budget  = 100
		latency = 2 * time.Millisecond
		share   = 0.05
		want429 = 60
	)
	g := NewGate(GateOptions{Window: window})
	// Learn a budget of 100 per window from a 429 with nothing in flight.
	now := time.Now()
	for i := 0; i < budget; i++ {
		g.answer(now.Add(-time.Duration(i) * time.Millisecond))
	}
	g.block(time.Millisecond, false)
	ctx := context.Background()
	_, err := g.Wait(ctx)
	require.NoError(t, err)
	learned := g.Pace()
	require.InDelta(t, paceMargin*budget/window.Seconds(), learned, 1)
	time.Sleep(window) // the lesson's answers leave the window

	var (
		mu       sync.Mutex
		rng      = rand.New(rand.NewPCG(8, 8))
		sent     int
		limited  int
		lowest   = learned
		deadline = time.Now().Add(20 * time.Second)
		wg       sync.WaitGroup
	)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				at, err := g.Wait(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				time.Sleep(latency)
				mu.Lock()
				if limited >= want429 || time.Now().After(deadline) {
					mu.Unlock()
					return
				}
				sent++
				is429 := rng.Float64() < share
				if is429 {
					limited++
				}
				lowest = min(lowest, g.Pace())
				mu.Unlock()
				if is429 {
					g.block(2*time.Millisecond, false)
				} else {
					g.answer(at)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests, %d answered 429; pace learned %.0f/s, lowest %.0f/s, last %.0f/s", sent, limited, learned, lowest, g.Pace())
	require.Equal(t, want429, limited)
	require.GreaterOrEqual(t, lowest, 0.9*learned, "the pace wore down")
	require.GreaterOrEqual(t, g.Pace(), 0.9*learned)
}
