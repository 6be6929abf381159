package main

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
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
// their scheduled time's, each handing its date to pipeline-D; pause stops
// them; the schedule's backfill over three past dates captures the one
// still inside its capture window and refuses the two outside it, starting
// no pipeline for them; a schedule of the old action (PipelineWorkflow)
// joins pipeline-D too, and an update moves it to the new action.
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
	var res workflows.ScheduledResult
	require.NoError(t, c.GetWorkflow(ctx, first.StartWorkflowResult.WorkflowID, "").Get(ctx, &res))
	firstDate := first.ScheduleTime.UTC().Format(workflows.DateLayout)
	require.Equal(t, firstDate, res.Date)
	require.Equal(t, workflows.PipelineWorkflowID(firstDate), res.WorkflowID)
	require.Equal(t, firstDate, res.Pipeline.Date)
	require.Regexp(t, `^scheduled-pipeline-\d{4}-\d\d-\d\dT`, first.StartWorkflowResult.WorkflowID)

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

	// The schedule's own backfill over three past dates: yesterday is a
	// catch-up inside the grace and captures; the two before are refused.
	dates := []string{daysAgo(3), daysAgo(2), daysAgo(1)}
	r = starter("schedule", "create", "--id", "daily", "--paused", "--note", "backfill only")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "calendar hour=3 minute=0 second=0 in UTC")
	b := starter("schedule", "backfill", "--id", "daily", "--from", dates[0], "--to", dates[2])
	require.Equal(t, 0, b.code, b.stderr)
	store, err := lake.Open(ctx, cfg.Lake.URL)
	require.NoError(t, err)
	for i, date := range dates {
		id := "scheduled-pipeline-" + date + "T03:00:00Z"
		require.Eventually(t, func() bool {
			_, err := c.DescribeWorkflowExecution(ctx, id, "")
			return err == nil
		}, time.Minute, 200*time.Millisecond, "action %s never started", id)
		var res workflows.ScheduledResult
		err := c.GetWorkflow(ctx, id, "").Get(ctx, &res)
		if i < 2 {
			require.True(t, workflows.HasErrorType(err, workflows.ErrCaptureRefused), "%s: %v", id, err)
			require.ErrorContains(t, err, "scheduled run of "+date+" refused")
			_, err := c.DescribeWorkflowExecution(ctx, workflows.PipelineWorkflowID(date), "")
			var nf *serviceerror.NotFound
			require.ErrorAs(t, err, &nf, "a refused action started pipeline-%s", date)
			continue
		}
		require.NoError(t, err, id)
		require.Equal(t, date, res.Date)
		require.Equal(t, workflows.PipelineWorkflowID(date), res.WorkflowID)
		m, err := activities.ReadManifest(ctx, store, date)
		require.NoError(t, err)
		require.Equal(t, workflows.PipelineWorkflowID(date), m.WorkflowID)
		require.Equal(t, "schedule", m.Trigger)
		require.Equal(t, workflows.KindCapture, m.Kind)
		parts, err := store.List(ctx, lake.CuratedPrefix(tables.Artists, date))
		require.NoError(t, err)
		require.NotEmpty(t, parts, "curated artists of %s", date)
	}
	list := starter("status", "--from", dates[0], "--to", dates[2])
	require.Equal(t, 0, list.code, list.stderr)
	require.Regexp(t, `pipeline-`+dates[2]+` +`+dates[2]+` +Completed`, list.stdout)
	require.NotContains(t, list.stdout, "pipeline-"+dates[0])
	d = starter("schedule", "describe", "--id", "daily")
	require.Equal(t, 0, d.code, d.stderr)
	require.Contains(t, d.stdout, "→ scheduled-pipeline-"+dates[2]+"T03:00:00Z → pipeline-"+dates[2]+" (completed)")
	require.Contains(t, d.stdout, "→ scheduled-pipeline-"+dates[0]+"T03:00:00Z not started (refused)")

	// A schedule of the old action: PipelineWorkflow under
	// pipeline-<scheduled time>. Its run hands the date to pipeline-D.
	_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: "legacy", Spec: client.ScheduleSpec{CronExpressions: []string{"0 3 1 1 *"}},
		Action: &client.ScheduleWorkflowAction{ID: "pipeline", Workflow: "PipelineWorkflow",
			Args: []any{workflows.PipelineInput{Trigger: "schedule"}}, TaskQueue: cfg.Temporal.TaskQueue},
	})
	require.NoError(t, err)
	tr := starter("schedule", "trigger", "--id", "legacy")
	require.Equal(t, 0, tr.code, tr.stderr)
	require.Eventually(t, func() bool {
		return len(describeScheduleInfo(t, c, "legacy").Info.RecentActions) == 1
	}, time.Minute, 200*time.Millisecond)
	legacy := describeScheduleInfo(t, c, "legacy").Info.RecentActions[0].StartWorkflowResult
	require.Regexp(t, `^pipeline-\d{4}-\d\d-\d\dT`, legacy.WorkflowID)
	var legacyRes workflows.PipelineResult
	require.NoError(t, c.GetWorkflow(ctx, legacy.WorkflowID, legacy.FirstExecutionRunID).Get(ctx, &legacyRes))
	today := daysAgo(0)
	require.Equal(t, today, legacyRes.Date)
	m, err := activities.ReadManifest(ctx, store, today)
	require.NoError(t, err)
	require.Equal(t, workflows.PipelineWorkflowID(today), m.WorkflowID, "the legacy action's date was written by pipeline-D")
	up := starter("schedule", "update", "--id", "legacy", "--note", "moved")
	require.Equal(t, 0, up.code, up.stderr)
	migrated := describeScheduleInfo(t, c, "legacy").Schedule.Action.(*client.ScheduleWorkflowAction)
	require.Equal(t, "ScheduledPipelineWorkflow", migrated.Workflow)
	require.Equal(t, "scheduled-pipeline", migrated.ID)
	_, in, err := pipelineAction(migrated)
	require.NoError(t, err)
	require.Equal(t, cfg.Pipeline.CaptureGrace, in.CaptureGrace)

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
	_, in, err = pipelineAction(describeScheduleInfo(t, c, "daily").Schedule.Action)
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

	// The schedule ID as argument, as README writes it, or with --id.
	for _, args := range [][]string{
		{"describe", "daily"}, {"describe", "daily", "--id", "daily"}, {"describe", "--id", "daily"},
	} {
		r := starter(append([]string{"schedule"}, args...)...)
		require.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stdout, "schedule daily\n", "%v", args)
		require.Contains(t, r.stdout, "/schedules/daily\n", "%v", args)
	}
	pause := starter("schedule", "pause", "daily", "--note", "by argument")
	require.Equal(t, 0, pause.code, pause.stderr)
	require.Contains(t, pause.stdout, "paused schedule daily")
	require.Equal(t, "by argument", describeScheduleInfo(t, c, "daily").Schedule.State.Note)
	upd := starter("schedule", "update", "daily", "--note", "updated by argument", "-o", "json")
	require.Equal(t, 0, upd.code, upd.stderr)
	require.Contains(t, upd.stdout, `"note": "updated by argument"`)
	differ := starter("schedule", "delete", "daily", "--id", "legacy")
	require.Equal(t, 2, differ.code, differ.stderr)
	require.Contains(t, differ.stderr, `schedule ID "daily" and --id "legacy" differ`)
	describeScheduleInfo(t, c, "daily") // not deleted
	del = starter("schedule", "delete", "daily")
	require.Equal(t, 0, del.code, del.stderr)
	require.Contains(t, del.stdout, "deleted schedule daily")
	gone = starter("schedule", "describe", "daily")
	require.Equal(t, 2, gone.code)
	require.Contains(t, gone.stderr, `no schedule "daily"`)
}
