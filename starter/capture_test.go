package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/tables"
	"github.com/metronome-data/metronome/workflows"
)

// apiCalls counts the Spotify API requests the fake served, the token
// endpoint aside.
func apiCalls(fake *spotifyfake.Server) int {
	n := 0
	for endpoint, byStatus := range fake.Stats().Requests {
		if endpoint == "token" {
			continue
		}
		for _, c := range byStatus {
			n += c
		}
	}
	return n
}

// lakeKeysOf lists the lake objects of a date, under every prefix.
func lakeKeysOf(t *testing.T, store lake.Store, date string) []string {
	t.Helper()
	all, err := store.List(context.Background(), "")
	require.NoError(t, err)
	var keys []string
	for _, k := range all {
		if strings.Contains(k, "dt="+date+"/") {
			keys = append(keys, k)
		}
	}
	return keys
}

// A past date is never labelled with present-day numbers unless the user
// says --capture-now; a captured date is reprocessed from raw with no
// Spotify call and the same rows; a backfill reprocesses and lists the
// dates never captured.
func TestCaptureAndReprocessEndToEnd(t *testing.T) {
	_, c := testServer(t, devserver.Options{})
	cfg, fake := startRealWorkerWithFake(t, c, 12)
	ctx := context.Background()
	store, err := lake.Open(ctx, cfg.Lake.URL)
	require.NoError(t, err)
	past, older := daysAgo(10), daysAgo(11)

	// A date outside its window, never captured: refused before anything.
	calls := apiCalls(fake)
	r := starter("run", "--date", past, "--wait")
	require.Equal(t, 2, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "Spotify keeps no history")
	require.Contains(t, r.stderr, "--capture-now")
	require.Equal(t, calls, apiCalls(fake), "a refused run called Spotify")
	require.Empty(t, lakeKeysOf(t, store, past), "a refused run wrote to the lake")

	// --capture-now: a late capture, said in every row and the manifest.
	r = starter("run", "--date", past, "--capture-now", "--wait")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "late capture")
	require.Greater(t, apiCalls(fake), calls)
	capture, found, err := activities.ReadCapture(ctx, store, past)
	require.NoError(t, err)
	require.True(t, found, "no capture record after a capture")
	require.True(t, capture.LateCapture)
	require.Equal(t, contract.KindLateCapture, capture.Kind)
	require.NotEmpty(t, capture.Objects)
	for _, o := range capture.Objects {
		require.Len(t, o.SHA256, 64, o.Key)
		require.Positive(t, o.Size, o.Key)
		require.True(t, strings.HasPrefix(o.Key, "raw/spotify/"), o.Key)
	}
	require.NotEmpty(t, capture.Window.First)
	// As instants: RFC 3339 with trimmed nanoseconds does not sort as text.
	first, err := time.Parse(time.RFC3339Nano, capture.Window.First)
	require.NoError(t, err)
	last, err := time.Parse(time.RFC3339Nano, capture.Window.Last)
	require.NoError(t, err)
	require.False(t, last.Before(first), "capture window %s .. %s", capture.Window.First, capture.Window.Last)
	late, err := activities.ReadManifest(ctx, store, past)
	require.NoError(t, err)
	require.Equal(t, contract.KindLateCapture, late.Kind)
	require.True(t, late.LateCapture)
	require.Equal(t, capture.CapturedAt, late.CapturedAt)
	require.Equal(t, capture.Objects, late.RawObjects)
	require.Equal(t, capture.Window, late.CaptureWindow)
	n, lateRows := countRows[tables.Artist](t, store, tables.Artists, past)
	require.Equal(t, 12, n)
	for _, row := range lateRows {
		require.True(t, row.LateCapture, "artist %s of a late capture", row.ArtistID)
	}

	// The same date again: reprocessed from raw, no Spotify call, the same
	// rows, and the manifest names the one it replaced.
	calls = apiCalls(fake)
	r = starter("run", "--date", past, "--wait")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "reprocess")
	require.Contains(t, r.stdout, "no call: rebuilt from the capture of "+capture.CapturedAt)
	require.Equal(t, calls, apiCalls(fake), "a reprocess called Spotify")
	reprocessed, err := activities.ReadManifest(ctx, store, past)
	require.NoError(t, err)
	require.Equal(t, contract.KindReprocess, reprocessed.Kind)
	require.True(t, reprocessed.LateCapture, "a reprocess of a late capture is still late")
	require.Equal(t, capture.Objects, reprocessed.RawObjects)
	require.NotNil(t, reprocessed.Replaced)
	require.Equal(t, late.RunID, reprocessed.Replaced.RunID)
	require.Equal(t, contract.KindLateCapture, reprocessed.Replaced.Kind)
	_, again := countRows[tables.Artist](t, store, tables.Artists, past)
	require.Equal(t, lateRows, again, "a reprocess with unchanged code changed the rows")

	// A backfill reprocesses the captured date and lists the other.
	r = starter("backfill", "--from", older, "--to", past, "--rerun", "--wait", "-o", "json")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	var out struct {
		Result workflows.BackfillResult `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r.stdout)
	require.Equal(t, []string{past}, out.Result.Completed)
	require.Equal(t, []string{older}, out.Result.NotCaptured)
	require.Empty(t, out.Result.Failed)
	require.Equal(t, calls, apiCalls(fake), "a backfill called Spotify")
	require.Empty(t, lakeKeysOf(t, store, older), "a backfill wrote a date never captured")
	text := starter("backfill", "--from", older, "--to", past, "--wait")
	require.Equal(t, 0, text.code, text.stderr)
	require.Contains(t, text.stdout, "not captured  "+older)

	// --capture-now replaces a late capture, never one made on the day.
	today := daysAgo(0)
	r = starter("run", "--wait")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "run of "+today+" finished (capture")
	todayCapture, found, err := activities.ReadCapture(ctx, store, today)
	require.NoError(t, err)
	require.True(t, found)
	require.False(t, todayCapture.LateCapture)
	_, rows := countRows[tables.Artist](t, store, tables.Artists, today)
	for _, row := range rows {
		require.False(t, row.LateCapture, "artist %s of a capture on its day", row.ArtistID)
	}

	// Reprocessing the older date leaves the serving store on today's view.
	r = starter("run", "--date", past, "--wait")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	srv, err := serving.Open(ctx, cfg.Serving.URL)
	require.NoError(t, err)
	defer srv.Close()
	for _, row := range rows {
		view, found, err := srv.Artist(ctx, row.ArtistID)
		require.NoError(t, err)
		require.True(t, found, row.ArtistID)
		require.Equal(t, today, view.DT, "artist %s: a reprocess of %s replaced the newer snapshot", row.ArtistID, past)
		if view.TopTracksDT != "" {
			require.Equal(t, today, view.TopTracksDT, "artist %s: top tracks", row.ArtistID)
		}
	}
}
