package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// spotify.requests_per_second holds for all worker processes together, in
// both API modes: every call's arrival at the fake is recorded and no 10 s
// window holds more than 1.1 × the cap × 10 s plus one second's worth.
// Each run lasts about 25 s of calls at the cap, so it spans a few windows.
func TestCapHoldsAcrossWorkerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server, a fake Spotify API and worker processes")
	}
	const rps = 5.0
	bin := testWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	st, err := startStack(ctx)
	require.NoError(t, err)
	defer st.close()
	tests := []struct {
		mode    string
		artists int // about 120 calls: 1.12 an artist extended, 8.4 development
		workers int
	}{
		{spotifyfake.ModeExtended, 110, 1},
		{spotifyfake.ModeExtended, 110, 3},
		{spotifyfake.ModeDevelopment, 14, 1},
		{spotifyfake.ModeDevelopment, 14, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d workers", tt.mode, tt.workers), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			r, err := capRun(ctx, st, bin, dir, tt.mode, tt.workers, tt.artists, rps, time.Millisecond)
			require.NoError(t, err)
			t.Logf("%d calls, worst 10 s window %d (bound %d), %.3f of the cap, %d 429s, %.3f× minimum calls",
				r.Calls, r.WorstWindow, r.Bound, r.Utilization, r.RateLimited, r.CallsRatio)
			require.Greater(t, r.Calls, int(2*rps*CapWindow.Seconds()), "the run spans more than two windows")
			require.LessOrEqual(t, r.WorstWindow, CapBound(rps))
			require.Zero(t, r.RateLimited, "the fake refuses only past the bound")
		})
	}
}
