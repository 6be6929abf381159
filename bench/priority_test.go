package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/workflows"
)

// An on-demand request sent while a backfill keeps the pipeline task queue
// backed up (all its parallel dates in flight on a worker of two activity
// slots), without and then with the priorities the starter sets: the
// server records the priority of each start and hands it down to the
// backfill's dates and to the request run, and the test logs how long the
// request waited for its first activity and its first Spotify call.
func TestPriorityRequestBehindBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server, a fake Spotify API and a worker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, err := startStack(ctx)
	require.NoError(t, err)
	defer st.close()

	const dates, parallel, artists = 40, 20, 100
	tests := []struct {
		on   bool
		end  string
		want map[string]temporal.Priority
	}{
		{false, "2026-01-01", map[string]temporal.Priority{
			"backfill": {}, "backfill date": {}, "artist-requests": {}, "request run": {},
		}},
		{true, "2025-01-01", map[string]temporal.Priority{
			"backfill":        workflows.BackfillPriority("2024-11-22", "2024-12-31"),
			"backfill date":   workflows.BackfillPriority("2024-11-22", "2024-12-31"),
			"artist-requests": workflows.RequestPriority(),
			"request run":     workflows.RequestPriority(),
		}},
	}
	for _, tt := range tests {
		dir := filepath.Join(t.TempDir(), "run")
		r, err := priorityRun(ctx, st, dir, tt.on, tt.end, dates, parallel, artists)
		require.NoError(t, err)
		t.Logf("priorities %t: backlog %d activity tasks; the request's first activity started %.2fs after its signal "+
			"(%.2fs of it in the queue), its first Spotify call %.2fs after, done after %.2fs; backfill dates settled: %d of %d when sent, %d when done",
			tt.on, r.Backlog, r.FirstActivitySeconds, r.FirstQueueSeconds, r.FirstSpotifySeconds, r.DoneSeconds, r.SettledBefore, dates, r.BackfillSettled)
		require.Equal(t, tt.want, r.Recorded)
	}
}
