package spotify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The slots Wait hands out are spaced by the cap's interval, whatever the
// learned pace, and a pace probe never goes past the cap.
func TestGateCapSpacesSlots(t *testing.T) {
	tests := []struct {
		name     string
		learned  float64 // requests/s learned from a 429; 0 none
		cap      float64
		wantPace float64
	}{
		{name: "cap only", cap: 200, wantPace: 200},
		{name: "learned pace slower than the cap", learned: 100, cap: 200, wantPace: 100},
		{name: "learned pace faster than the cap", learned: 400, cap: 200, wantPace: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGate(GateOptions{})
			if tt.learned > 0 {
				g.interval = time.Duration(float64(time.Second) / tt.learned)
			}
			g.SetCap(tt.cap)
			require.InDelta(t, tt.cap, g.Cap(), 0.01)
			require.InDelta(t, tt.wantPace, g.Pace(), 0.01)
			var slots []time.Time
			for range 5 {
				s, err := g.Wait(context.Background())
				require.NoError(t, err)
				slots = append(slots, s)
			}
			want := time.Duration(float64(time.Second) / tt.wantPace)
			for i := 1; i < len(slots); i++ {
				require.GreaterOrEqual(t, slots[i].Sub(slots[i-1]), want, "slot %d", i)
			}
			g.mu.Lock()
			g.quiet = time.Now().Add(-time.Hour)
			g.probeLocked(time.Now())
			g.mu.Unlock()
			require.LessOrEqual(t, g.Pace(), tt.cap+0.01, "a probe stays under the cap")
		})
	}
}

// A smaller share applies to the slot already handed out.
func TestGateCapShrinkDelaysNextSlot(t *testing.T) {
	g := NewGate(GateOptions{})
	g.SetCap(1000)
	first, err := g.Wait(context.Background())
	require.NoError(t, err)
	g.SetCap(100)
	second, err := g.Wait(context.Background())
	require.NoError(t, err)
	require.GreaterOrEqual(t, second.Sub(first), 10*time.Millisecond)
	g.SetCap(0)
	require.Zero(t, g.Cap())
}

// A held gate lets nothing through before the hold ends, and a request
// waiting on it gives up only with its context.
func TestGateHold(t *testing.T) {
	g := NewGate(GateOptions{})
	until := time.Now().Add(30 * time.Millisecond)
	g.Hold(until)
	held := g.Held()
	require.True(t, held)
	slot, err := g.Wait(context.Background())
	require.NoError(t, err)
	require.False(t, slot.Before(until), "sent before the hold ended")

	g.Hold(time.Now().Add(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = g.Wait(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	g.Hold(time.Time{})
	held = g.Held()
	require.False(t, held)
}

// A worker holds its gate until further notice, then for a few seconds
// once it knows its share: a request already waiting goes when the shorter
// hold ends, not when the first one would have (TestChaos hung on it).
func TestGateShorterHoldReleasesWaitingRequests(t *testing.T) {
	g := NewGate(GateOptions{})
	g.Hold(time.Now().Add(100 * 365 * 24 * time.Hour))
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		_, err := g.Wait(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a request went through a held gate: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	g.Hold(time.Now())
	require.NoError(t, <-done, "the waiting request was not released by the shorter hold")
}
