package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/workflows"
)

// harnessDate is the date the end-to-end tests run: a fixed past date,
// captured late, so the whole pipeline runs whatever the day.
const harnessDate = "2026-11-01"

// startHarness is what the worker's end-to-end tests share: a clean
// environment and working directory, the embedded Temporal server, a config
// of 20 sample artists pointing at both, and the sample catalog served. env
// is set before the config loads. The context ends with the test, or after
// 3 minutes.
func startHarness(t *testing.T, env map[string]string) (context.Context, *config.Config) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server and a worker")
	}
	for name := range config.EnvNames() {
		t.Setenv(name, "")
	}
	dir := t.TempDir()
	t.Chdir(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)

	srv := devservertest.StartServer(t)
	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendAddress())
	t.Setenv("METRONOME_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("METRONOME_SPOTIFY_FAKE_ARTISTS", "20")
	t.Setenv("METRONOME_SPOTIFY_REQUESTS_PER_SECOND", "1000")
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load("")
	require.NoError(t, err)
	stopFake, err := StartFake(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(stopFake)
	return ctx, cfg
}

// runPipeline runs PipelineWorkflow of harnessDate through c to its end and
// returns the run and the manifest it wrote.
func runPipeline(t *testing.T, ctx context.Context, c client.Client, cfg *config.Config) (client.WorkflowRun, activities.Manifest) {
	t.Helper()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.PipelineWorkflowID(harnessDate), TaskQueue: cfg.Temporal.TaskQueue,
	}, workflows.PipelineWorkflow, workflows.PipelineInput{Date: harnessDate, SpotifyTaskQueue: cfg.Temporal.SpotifyTaskQueue,
		CaptureNow: true})
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	store, err := lake.Open(ctx, cfg.Lake.URL)
	require.NoError(t, err)
	m, err := activities.ReadManifest(ctx, store, harnessDate)
	require.NoError(t, err)
	return run, m
}
