package main

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/workflows"
)

// Twenty on-demand requests within the window produce one child run, not
// twenty; the artists end up stored and tracked, and --wait prints the
// artist once it is stored.
func TestRequestEndToEnd(t *testing.T) {
	_, c := testServer(t, devserver.Options{})
	cfg := startRealWorker(t, c, 20)
	ctx := context.Background()
	catalog := spotifyfake.NewCatalog(20, 1).Artists()

	for _, a := range catalog[:19] {
		r := starter("request", a.Name, "--window", "5s")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "requested "+a.Name)
	}
	last := catalog[19]
	r := starter("request", last.ID, "--wait")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "stored     "+last.ID+" → "+last.ID)

	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: "WorkflowType = 'ArtistRequestRunWorkflow'",
	})
	require.NoError(t, err)
	require.Len(t, resp.GetExecutions(), 1, "request runs")

	store, err := serving.Open(ctx, cfg.Serving.URL)
	require.NoError(t, err)
	defer store.Close()
	tracked, err := store.Tracked(ctx)
	require.NoError(t, err)
	var want []string
	for _, a := range catalog {
		want = append(want, a.ID)
		view, ok, err := store.Artist(ctx, a.ID)
		require.NoError(t, err)
		require.True(t, ok, "artist %s (%s) not stored", a.Name, a.ID)
		require.Equal(t, a.Name, view.Name)
	}
	sort.Strings(want)
	require.Equal(t, want, tracked)
	reqID := regexp.MustCompile(`\(request (cli-[0-9a-f]+)\)`).FindStringSubmatch(r.stdout)
	require.Len(t, reqID, 2, r.stdout)
	req, ok, err := store.GetRequest(ctx, reqID[1])
	require.NoError(t, err)
	require.True(t, ok, "request %s not in the serving store", reqID[1])
	require.Equal(t, serving.RequestStored, req.State)
	require.Equal(t, last.ID, req.ArtistID)

	// The progress query holds every outcome; the serving store too.
	s := starter("status", workflows.ArtistRequestWorkflowID)
	require.Equal(t, 0, s.code, s.stderr)
	require.Contains(t, s.stdout, "runs      1")
	require.Equal(t, 10, strings.Count(s.stdout, "\n  stored "), "the last ten outcomes:\n%s", s.stdout)

	require.Equal(t, 1, replayAll(t, c, "WorkflowType = 'ArtistRequestRunWorkflow'"))

	nf := starter("request", "Nobody By This Name 12345", "--wait")
	require.Equal(t, 1, nf.code, "stdout: %s\nstderr: %s", nf.stdout, nf.stderr)
	require.Contains(t, nf.stdout, "not found  Nobody By This Name 12345")
	require.Contains(t, nf.stderr, "1 of 1 requests not stored")
	require.Equal(t, 1, replayAll(t, c, "WorkflowType = 'ArtistRequestWorkflow'"), "the running collector replays")
}
