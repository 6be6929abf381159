package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/tables"
)

// isolateEnv unsets every variable metronome reads and runs the test in an
// empty directory, so neither the developer's environment nor
// config/metronome.yaml leaks in.
func isolateEnv(t *testing.T) string {
	t.Helper()
	for name := range config.EnvNames() {
		t.Setenv(name, "")
	}
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

func runStarter(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func freePorts(t *testing.T) (int, int) {
	t.Helper()
	p1, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	p2, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	require.NotEqual(t, p1, p2)
	return p1, p2
}

// countRows counts the rows of every Parquet object of a curated partition.
func countRows[T any](t *testing.T, store lake.Store, table, date string) (int, []T) {
	t.Helper()
	keys, err := store.List(context.Background(), lake.CuratedPrefix(table, date))
	require.NoError(t, err)
	var rows []T
	for _, k := range keys {
		require.NoError(t, lake.ReadParquet(context.Background(), store, k, func(r T) error {
			rows = append(rows, r)
			return nil
		}))
	}
	return len(rows), rows
}

// TestDevRunsThePipelineEndToEnd is `starter dev --exit` on fresh ports and
// a fresh data directory: the real embedded Temporal server, a worker and
// the sample catalog. The lake, the Parquet tables, the serving store and
// the manifest must agree with the catalog.
func TestDevRunsThePipelineEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server, worker and pipeline")
	}
	dir := isolateEnv(t)
	const artists = 30
	t.Setenv("METRONOME_SPOTIFY_FAKE_ARTISTS", strconv.Itoa(artists))
	t.Setenv("METRONOME_LOG_LEVEL", "warn")
	port, uiPort := freePorts(t)
	data := filepath.Join(dir, "data")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := runStarter(t, ctx, "dev", "--exit", "--data", data,
		"--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort))
	require.NoError(t, err, out)
	today := time.Now().UTC().Format("2006-01-02")
	require.Contains(t, out, "run of "+today+" finished")
	require.Contains(t, out, fmt.Sprintf("http://127.0.0.1:%d/namespaces/default/workflows/pipeline-%s/", uiPort, today))
	for _, stage := range []string{"resolve", "collect", "clean", "store", "aggregate", "manifest"} {
		require.Contains(t, out, "✓ "+stage)
	}

	catalog := spotifyfake.NewCatalog(artists, 1)
	var wantIDs []string
	for _, a := range catalog.Artists() {
		wantIDs = append(wantIDs, a.ID)
	}
	sort.Strings(wantIDs)

	store, err := lake.Open(ctx, "file://"+filepath.Join(data, "lake"))
	require.NoError(t, err)

	// The manifest is written last and counts what the tables hold.
	m, err := activities.ReadManifest(ctx, store, today)
	require.NoError(t, err)
	require.Equal(t, artists, m.Resolve.Artists)
	require.Equal(t, "extended", m.Resolve.Mode)

	nArtists, artistRows := countRows[tables.Artist](t, store, tables.Artists, today)
	require.Equal(t, artists, nArtists)
	var gotIDs []string
	for _, r := range artistRows {
		gotIDs = append(gotIDs, r.ArtistID)
		require.NotNil(t, r.Popularity, "extended mode has popularity")
	}
	sort.Strings(gotIDs)
	require.Equal(t, wantIDs, gotIDs)
	require.Equal(t, nArtists, m.Clean.Report.RowsOut[tables.Artists])

	nTop, _ := countRows[tables.ArtistTopTrack](t, store, tables.ArtistTopTracks, today)
	require.Equal(t, 10*artists, nTop, "10 top tracks per artist")
	require.Equal(t, nTop, m.Clean.Report.RowsOut[tables.ArtistTopTracks])
	nTracks, _ := countRows[tables.Track](t, store, tables.Tracks, today)
	require.Equal(t, nTracks, m.Clean.Report.RowsOut[tables.Tracks])
	require.Positive(t, nTracks)

	raw, err := store.List(ctx, "raw/spotify/artists/dt="+today+"/")
	require.NoError(t, err)
	require.Len(t, raw, (artists+49)/50)

	// The serving store holds every artist, tracked, with its top tracks.
	srv, err := serving.Open(ctx, "sqlite://"+filepath.Join(data, "serving.db"))
	require.NoError(t, err)
	defer srv.Close()
	tracked, err := srv.Tracked(ctx)
	require.NoError(t, err)
	sort.Strings(tracked)
	require.Equal(t, wantIDs, tracked)
	for _, a := range catalog.Artists()[:3] {
		view, ok, err := srv.Artist(ctx, a.ID)
		require.NoError(t, err)
		require.True(t, ok, a.ID)
		require.Equal(t, a.Name, view.Name)
		require.Len(t, view.TopTracks, 10)
	}

	// DuckDB reads the Parquet the pipeline wrote, and the marts.
	engine, err := analytics.NewDuckDB()
	require.NoError(t, err)
	defer engine.Close()
	res, err := engine.Query(ctx, filepath.Join(data, "lake"), "select count(*) from artist_daily where dt = '"+today+"'")
	require.NoError(t, err)
	require.EqualValues(t, artists, res.Rows[0][0])
	require.EqualValues(t, artists, m.Aggregate.Rows["artist_daily"])

	// A second dev on the same data directory still shows the first run.
	out2, err := runStarter(t, ctx, "dev", "--exit", "--data", data,
		"--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort))
	require.NoError(t, err, out2)
	require.Contains(t, out2, "run of "+today+" finished")

	srvAgain, err := devserver.Start(ctx, devserver.Options{DatabaseFile: filepath.Join(data, "temporal.db")})
	require.NoError(t, err)
	defer srvAgain.Stop()
	c, err := client.Dial(client.Options{HostPort: srvAgain.FrontendAddress()})
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowId = 'pipeline-" + today + "'",
		})
		return err == nil && len(resp.Executions) == 2
	}, 10*time.Second, 100*time.Millisecond, "both runs of the date are listed after restarts")
}
