package main

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/tables"
	"github.com/metronome-data/metronome/worker/app"
	"github.com/metronome-data/metronome/workflows"
)

// startRealWorker runs metronome's worker with the real activities over
// the built-in sample catalog of the given size, the lake and serving store
// in the test's data directory. It returns the worker's config.
func startRealWorker(t *testing.T, c client.Client, artists int) *config.Config {
	t.Helper()
	cfg, _ := startRealWorkerWithFake(t, c, artists)
	return cfg
}

// startRealWorkerWithFake is startRealWorker that also returns the sample
// catalog's server, whose Stats count the Spotify requests served.
func startRealWorkerWithFake(t *testing.T, c client.Client, artists int) (*config.Config, *spotifyfake.Server) {
	t.Helper()
	t.Setenv("METRONOME_SPOTIFY_FAKE_ARTISTS", strconv.Itoa(artists))
	cfg, err := config.NewLoader().Load()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	fake, stopFake, err := app.StartFakeServer(ctx, cfg)
	require.NoError(t, err)
	cfg.Spotify.RequestsPerSecond = 1000
	b, err := app.OpenBackends(ctx, cfg, zap.NewNop(), nil)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- app.RunWorkers(ctx, c, cfg, b.Activities, nil) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, b.Close())
		stopFake()
	})
	return cfg, fake
}

func describeScheduleInfo(t *testing.T, c client.Client, id string) *client.ScheduleDescription {
	t.Helper()
	d, err := c.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background())
	require.NoError(t, err)
	return d
}

// A schedule with an every-second interval fires runs whose logical date is
// their scheduled time's; pause stops them; the schedule's backfill over
// three past dates produces three runs whose lake partitions carry those
// dates.
func TestScheduleEndToEnd(t *testing.T) {
	_, c := testServer(t, devserver.Options{})
	cfg := startRealWorker(t, c, 10)
	ctx := context.Background()

	r := starter("schedule", "create", "--id", "every-second", "--every", "1s")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "created schedule every-second")
	require.Contains(t, r.stdout, "every 1s in UTC")
	dup := starter("schedule", "create", "--id", "every-second", "--every", "1s")
	require.Equal(t, 2, dup.code)
	require.Contains(t, dup.stderr, `schedule "every-second" exists already`)
	require.Contains(t, dup.stderr, "starter schedule update --id every-second")

	// Runs fire; each takes its date from its scheduled time.
	require.Eventually(t, func() bool {
		return describeScheduleInfo(t, c, "every-second").Info.NumActions >= 2
	}, time.Minute, 200*time.Millisecond)
	first := describeScheduleInfo(t, c, "every-second").Info.RecentActions[0]
	var res workflows.PipelineResult
	require.NoError(t, c.GetWorkflow(ctx, first.StartWorkflowResult.WorkflowID, "").Get(ctx, &res))
	require.Equal(t, first.ScheduleTime.UTC().Format(workflows.DateLayout), res.Date)
	require.Regexp(t, `^pipeline-\d{4}-\d\d-\d\dT`, first.StartWorkflowResult.WorkflowID)

	// Pause stops them.
	p := starter("schedule", "pause", "--id", "every-second", "--note", "enough for now")
	require.Equal(t, 0, p.code, p.stderr)
	paused := describeScheduleInfo(t, c, "every-second").Info.NumActions
	time.Sleep(3 * time.Second)
	require.Equal(t, paused, describeScheduleInfo(t, c, "every-second").Info.NumActions, "a paused schedule started runs")
	d := starter("schedule", "describe", "--id", "every-second")
	require.Equal(t, 0, d.code, d.stderr)
	require.Contains(t, d.stdout, "paused      yes")
	require.Contains(t, d.stdout, "note        enough for now")
	require.Contains(t, d.stdout, "overlap     skip, catch-up window 24h0m0s")
	require.Eventually(t, func() bool {
		return len(describeScheduleInfo(t, c, "every-second").Info.RunningWorkflows) == 0
	}, time.Minute, 200*time.Millisecond)

	// The schedule's own backfill over three past dates.
	dates := []string{daysAgo(12), daysAgo(11), daysAgo(10)}
	r = starter("schedule", "create", "--id", "daily", "--paused", "--note", "backfill only")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "calendar hour=3 minute=0 second=0 in UTC")
	b := starter("schedule", "backfill", "--id", "daily", "--from", dates[0], "--to", dates[2])
	require.Equal(t, 0, b.code, b.stderr)
	store, err := lake.Open(ctx, cfg.Lake.URL)
	require.NoError(t, err)
	for _, date := range dates {
		id := "pipeline-" + date + "T03:00:00Z"
		require.Eventually(t, func() bool {
			_, err := c.DescribeWorkflowExecution(ctx, id, "")
			return err == nil
		}, time.Minute, 200*time.Millisecond, "run %s never started", id)
		var res workflows.PipelineResult
		require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res), id)
		require.Equal(t, date, res.Date)
		m, err := activities.ReadManifest(ctx, store, date)
		require.NoError(t, err)
		require.Equal(t, id, m.WorkflowID)
		require.Equal(t, "schedule", m.Trigger)
		parts, err := store.List(ctx, lake.CuratedPrefix(tables.Artists, date))
		require.NoError(t, err)
		require.NotEmpty(t, parts, "curated artists of %s", date)
	}
	list := starter("status", "--from", dates[0], "--to", dates[2])
	require.Equal(t, 0, list.code, list.stderr)
	for _, date := range dates {
		require.Regexp(t, `pipeline-`+date+`T03:00:00Z +`+date+` +Completed`, list.stdout)
	}
	d = starter("schedule", "describe", "--id", "daily")
	require.Equal(t, 0, d.code, d.stderr)
	require.Contains(t, d.stdout, "→ pipeline-"+dates[2]+"T03:00:00Z")

	// Update keeps what is not given and moves the action's time zone
	// with the spec's.
	u := starter("schedule", "update", "--id", "daily", "--cron", "0 5 * * *", "--tz", "Europe/Berlin", "-o", "json")
	require.Equal(t, 0, u.code, u.stderr)
	var view scheduleView
	require.NoError(t, json.Unmarshal([]byte(u.stdout), &view))
	require.Equal(t, "Europe/Berlin", view.TimeZone)
	require.Contains(t, view.Spec, "hour=5")
	require.True(t, view.Paused)
	require.Equal(t, "backfill only", view.Note)
	_, in, err := pipelineAction(describeScheduleInfo(t, c, "daily").Schedule.Action)
	require.NoError(t, err)
	require.Equal(t, "Europe/Berlin", in.TimeZone)
	require.Equal(t, "schedule", in.Trigger)

	l := starter("schedule", "list")
	require.Equal(t, 0, l.code, l.stderr)
	require.Contains(t, l.stdout, "daily")
	require.Contains(t, l.stdout, "every-second")

	// Unknown schedules and specs the server refuses are bad usage.
	for _, args := range [][]string{
		{"describe"}, {"pause"}, {"unpause"}, {"trigger"}, {"delete"}, {"update", "--note", "x"},
		{"backfill", "--from", dates[0], "--to", dates[1]},
	} {
		r := starter(append([]string{"schedule", args[0], "--id", "nope"}, args[1:]...)...)
		require.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stderr, `no schedule "nope"`, "%v", args)
	}
	bad := starter("schedule", "create", "--id", "bad-cron", "--cron", "61 * * * *")
	require.Equal(t, 2, bad.code, bad.stderr)
	require.Contains(t, bad.stderr, `--cron "61 * * * *" is not a cron expression`)

	del := starter("schedule", "delete", "--id", "every-second")
	require.Equal(t, 0, del.code, del.stderr)
	gone := starter("schedule", "describe", "--id", "every-second")
	require.Equal(t, 2, gone.code)
}
