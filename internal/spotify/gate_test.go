package spotify

import (
	"context"
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
