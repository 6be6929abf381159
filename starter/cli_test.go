package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
	"github.com/metronome-data/metronome/workflows"
)

// starterResult is one in-process run of the command line.
type starterResult struct {
	code   int
	stdout string
	stderr string
}

func starter(args ...string) starterResult {
	var stdout, stderr bytes.Buffer
	code := execute(args, &stdout, &stderr)
	return starterResult{code, stdout.String(), stderr.String()}
}

// The new commands refuse bad usage with exit code 2 and one line naming
// the value, before they connect anywhere (TEMPORAL_ADDRESS points at a
// port nobody listens on) or write anything.
func TestOperateCommandsBadUsageExitsWithCode2(t *testing.T) {
	dir := isolateEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	future := time.Now().UTC().AddDate(0, 0, 2).Format(workflows.DateLayout)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"schedule without subcommand", []string{"schedule"}, nil, "needs a subcommand"},
		{"cron and every", []string{"schedule", "create", "--cron", "0 3 * * *", "--every", "1h"}, nil, "exclude each other"},
		{"empty cron", []string{"schedule", "create", "--cron", ""}, nil, `--cron ""`},
		{"tiny interval", []string{"schedule", "create", "--every", "500ms"}, nil, "--every 500ms"},
		{"bad interval", []string{"schedule", "create", "--every", "daily"}, nil, `invalid argument "daily"`},
		{"bad zone", []string{"schedule", "create", "--tz", "Mars/Olympus"}, nil, `--tz "Mars/Olympus"`},
		{"bad overlap", []string{"schedule", "create", "--overlap", "sometimes"}, nil, `--overlap "sometimes"`},
		{"short catch-up", []string{"schedule", "create", "--catchup-window", "1s"}, nil, "--catchup-window 1s"},
		{"negative jitter", []string{"schedule", "create", "--jitter", "-1s"}, nil, "--jitter -1s"},
		{"bad schedule ID", []string{"schedule", "create", "--id", "my schedule"}, nil, `--id "my schedule"`},
		{"blank schedule artists", []string{"schedule", "create", "--artists", " "}, nil, "names no artist"},
		{"update without change", []string{"schedule", "update"}, nil, "needs at least one"},
		{"update bad zone", []string{"schedule", "update", "--tz", "Nowhere"}, nil, `--tz "Nowhere"`},
		{"delete without ID", []string{"schedule", "delete"}, nil, "delete needs --id"},
		{"trigger bad overlap", []string{"schedule", "trigger", "--overlap", "twice"}, nil, `--overlap "twice"`},
		{"schedule backfill without dates", []string{"schedule", "backfill"}, nil, "needs --from and --to"},
		{"schedule backfill bad date", []string{"schedule", "backfill", "--from", "2026-02-30", "--to", "2026-03-01"}, nil, `--from "2026-02-30"`},
		{"schedule backfill reversed", []string{"schedule", "backfill", "--from", "2026-03-02", "--to", "2026-03-01"}, nil, "is after --to"},
		{"schedule backfill future", []string{"schedule", "backfill", "--from", "2026-03-01", "--to", future}, nil, "in the future"},
		{"schedule backfill too long", []string{"schedule", "backfill", "--from", "2020-01-01", "--to", "2022-01-01"}, nil, "more than --max-days 366"},
		{"schedule backfill extra arg", []string{"schedule", "backfill", "daily", "hourly"}, nil, "accepts at most 1 arg"},
		{"schedule ID and a different --id", []string{"schedule", "pause", "nightly", "--id", "hourly"}, nil, `schedule ID "nightly" and --id "hourly" differ`},
		{"schedule two IDs", []string{"schedule", "delete", "nightly", "hourly"}, nil, "accepts at most 1 arg"},
		{"bad temporal.ui_url", []string{"status"}, map[string]string{"METRONOME_TEMPORAL_UI_URL": "localhost:8233"}, `temporal.ui_url = "localhost:8233"`},
		{"backfill without dates", []string{"backfill"}, nil, "needs --from and --to"},
		{"backfill bad from", []string{"backfill", "--from", "yesterday", "--to", "2026-03-01"}, nil, `--from "yesterday"`},
		{"backfill bad to", []string{"backfill", "--from", "2026-03-01", "--to", "2026-3-2"}, nil, `--to "2026-3-2"`},
		{"backfill reversed", []string{"backfill", "--from", "2026-03-05", "--to", "2026-03-01"}, nil, "--from 2026-03-05 is after --to 2026-03-01"},
		{"backfill future", []string{"backfill", "--from", "2026-03-01", "--to", future}, nil, "--to " + future + " is in the future"},
		{"backfill too long", []string{"backfill", "--from", "2024-01-01", "--to", "2025-06-01"}, nil, "spans 518 days, more than --max-days 366"},
		{"backfill max-days limit", []string{"backfill", "--from", "2024-01-01", "--to", "2024-01-02", "--max-days", "0"}, nil, "--max-days 0"},
		{"backfill parallel 0", []string{"backfill", "--from", "2026-03-01", "--to", "2026-03-02", "--parallel", "0"}, nil, "--parallel 0"},
		{"backfill parallel huge", []string{"backfill", "--from", "2026-03-01", "--to", "2026-03-02", "--parallel", "65"}, nil, "--parallel 65"},
		{"backfill artists", []string{"backfill", "--from", "2026-03-01", "--to", "2026-03-02", "--artists", "Santos Giants"}, nil, "cannot add artists to past dates"},
		{"status bad date", []string{"status", "--from", "2026-13-01"}, nil, `--from "2026-13-01"`},
		{"status reversed", []string{"status", "--from", "2026-03-02", "--to", "2026-03-01"}, nil, "is after --to"},
		{"status filter with ID", []string{"status", "pipeline-2026-03-01", "--from", "2026-03-01"}, nil, "without a WORKFLOW_ID"},
		{"status bad limit", []string{"status", "--limit", "0"}, nil, "--limit 0"},
		{"status two IDs", []string{"status", "a", "b"}, nil, "accepts at most 1 arg"},
		{"request without artist", []string{"request"}, nil, "requires at least 1 arg"},
		{"request blank artist", []string{"request", "Air", "  "}, nil, "artist 2 is blank"},
		{"request short window", []string{"request", "Air", "--window", "0s"}, nil, "--window 0s"},
		{"request big batch", []string{"request", "Air", "--max-artists", "51"}, nil, "--max-artists 51"},
		{"request no timeout", []string{"request", "Air", "--wait", "--timeout", "0s"}, nil, "--timeout 0s"},
		{"cancel without ID", []string{"cancel"}, nil, "accepts 1 arg"},
		{"terminate without ID", []string{"terminate", "--reason", "x"}, nil, "accepts 1 arg"},
		{"cancel empty ID", []string{"cancel", ""}, nil, "needs a WORKFLOW_ID"},
		{"cancel negative wait", []string{"cancel", "pipeline-2026-03-01", "--wait", "-1s"}, nil, "--wait -1s"},
		{"setup athena on a file lake", []string{"setup"}, map[string]string{"METRONOME_ANALYTICS_ENGINE": "athena"}, `lake.url = "file://`},
		{"setup bad athena database", []string{"setup", "--athena-database", "Bad-Name"},
			map[string]string{"METRONOME_ANALYTICS_ENGINE": "athena", "METRONOME_LAKE_URL": "s3://bucket/lake"}, `(--athena-database) "Bad-Name"`},
		{"setup bad athena output", []string{"setup", "--athena-output", "/tmp/out"},
			map[string]string{"METRONOME_ANALYTICS_ENGINE": "athena", "METRONOME_LAKE_URL": "s3://bucket/lake"}, `(--athena-output) "/tmp/out"`},
		{"bad output", []string{"status", "--output", "yaml"}, nil, `--output "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := starter(tt.args...)
			require.Equal(t, 2, r.code, "stderr: %s", r.stderr)
			msg := strings.TrimSpace(r.stderr)
			require.Contains(t, msg, tt.want)
			require.NotContains(t, msg, "\n", "want one line")
		})
	}
	_, err := os.Stat(filepath.Join(dir, "data"))
	require.True(t, os.IsNotExist(err), "bad usage wrote data")
}

func TestEveryOperateCommandHasHelp(t *testing.T) {
	isolateEnv(t)
	for _, args := range [][]string{
		{"setup"}, {"schedule"}, {"schedule", "create"}, {"schedule", "update"}, {"schedule", "describe"},
		{"schedule", "list"}, {"schedule", "pause"}, {"schedule", "unpause"}, {"schedule", "trigger"},
		{"schedule", "delete"}, {"schedule", "backfill"}, {"backfill"}, {"status"}, {"request"},
		{"cancel"}, {"terminate"},
	} {
		r := starter(append(args, "--help")...)
		require.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stdout, "Usage:", "%v", args)
		require.Contains(t, r.stdout, "--output", "%v: the global flags are listed", args)
	}
}

func TestBackfillWindow(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	day := func(s string) time.Time {
		d, err := time.Parse(workflows.DateLayout, s)
		require.NoError(t, err)
		return d
	}
	tests := []struct {
		name               string
		from, to           string
		loc                *time.Location
		wantStart, wantEnd string
	}{
		{"one day in UTC", "2026-11-01", "2026-11-01", time.UTC, "2026-11-01T00:00:00Z", "2026-11-01T23:59:59Z"},
		{"three days in UTC", "2026-11-01", "2026-11-03", time.UTC, "2026-11-01T00:00:00Z", "2026-11-03T23:59:59Z"},
		{"across the end of summer time in Berlin", "2026-10-24", "2026-10-25", berlin,
			"2026-10-24T00:00:00+02:00", "2026-10-25T23:59:59+01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := backfillWindow(day(tt.from), day(tt.to), tt.loc)
			require.Equal(t, tt.wantStart, start.Format(time.RFC3339))
			require.Equal(t, tt.wantEnd, end.Format(time.RFC3339))
		})
	}
}

func TestFormatSpec(t *testing.T) {
	tests := []struct {
		name string
		spec client.ScheduleSpec
		want string
	}{
		{"cron", client.ScheduleSpec{CronExpressions: []string{"0 3 * * *"}}, `cron "0 3 * * *"`},
		{"interval with jitter", client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}, Jitter: time.Minute},
			"every 1s; jitter 1m0s"},
		{"daily calendar", client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Second: []client.ScheduleRange{{Start: 0}}, Minute: []client.ScheduleRange{{Start: 0}}, Hour: []client.ScheduleRange{{Start: 3}},
			DayOfMonth: []client.ScheduleRange{{Start: 1, End: 31}}, Month: []client.ScheduleRange{{Start: 1, End: 12}},
			DayOfWeek: []client.ScheduleRange{{Start: 0, End: 6}},
		}}}, "calendar hour=3 minute=0 second=0"},
		{"weekdays every 15 minutes", client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Minute: []client.ScheduleRange{{Start: 0, End: 59, Step: 15}}, DayOfWeek: []client.ScheduleRange{{Start: 1, End: 5}},
		}}}, "calendar weekday=1-5 minute=0-59/15"},
		{"nothing", client.ScheduleSpec{}, "no times (runs only when triggered or backfilled)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, formatSpec(tt.spec))
		})
	}
}

func TestListQuery(t *testing.T) {
	d := func(s string) time.Time {
		v, _ := time.Parse(workflows.DateLayout, s)
		return v
	}
	require.Equal(t, "PipelineDate IS NOT NULL", listQuery(time.Time{}, time.Time{}))
	require.Equal(t, "PipelineDate >= '2026-11-01T00:00:00Z'", listQuery(d("2026-11-01"), time.Time{}))
	require.Equal(t, "PipelineDate >= '2026-11-01T00:00:00Z' AND PipelineDate < '2026-11-04T00:00:00Z'",
		listQuery(d("2026-11-01"), d("2026-11-03")))
}

func TestBar(t *testing.T) {
	require.Equal(t, "[----------]", bar(0, 10, 10))
	require.Equal(t, "[###-------]", bar(3, 10, 10))
	require.Equal(t, "[##########]", bar(10, 10, 10))
	require.Equal(t, "[-----]", bar(0, 0, 5))
}

// testServer starts an in-memory embedded Temporal server on free ports
// and points TEMPORAL_ADDRESS at it; the environment is isolated first.
func testServer(t *testing.T, opts devserver.Options) (string, client.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server")
	}
	dir := isolateEnv(t)
	t.Setenv("METRONOME_LOG_LEVEL", "warn")
	t.Setenv("METRONOME_DATA_DIR", filepath.Join(dir, "data"))
	srv, c := devservertest.Start(t, devservertest.WithServer(opts))
	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendAddress())
	return dir, c
}
