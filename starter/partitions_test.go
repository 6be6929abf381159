package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/lake/laketest"
	"github.com/metronome-data/metronome/workflows"
)

// partitionsLake is a file:// lake in a temporary directory, used by the
// starter through METRONOME_LAKE_URL.
func partitionsLake(t *testing.T) lake.Store {
	t.Helper()
	isolateEnv(t)
	dir := filepath.Join(t.TempDir(), "lake")
	t.Setenv("METRONOME_LAKE_URL", "file://"+dir)
	store, err := lake.Open(context.Background(), "file://"+dir)
	require.NoError(t, err)
	return store
}

func putJSON(t *testing.T, store lake.Store, key string, v any) {
	t.Helper()
	body, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, store.Put(context.Background(), key, bytes.NewReader(body)))
}

func putCapture(t *testing.T, store lake.Store, c activities.Capture) {
	putJSON(t, store, lake.CaptureKey(c.Date), c)
}

func putManifest(t *testing.T, store lake.Store, m activities.Manifest) {
	putJSON(t, store, lake.ManifestKey(m.Date), m)
}

// manifestOf is a manifest of date with a few rows, marts and rejects.
func manifestOf(date, kind, workflowID, capturedAt string) activities.Manifest {
	m := activities.Manifest{CapturedAt: capturedAt, WrittenAt: date + "T04:00:00Z"}
	m.Date, m.Kind, m.WorkflowID, m.RunID = date, kind, workflowID, "run-"+date
	m.Clean.Report = contract.QualityReport{
		RowsOut:  map[string]int{"artists": 3, "albums": 12, "tracks": 40, "artist_top_tracks": 30},
		Rejected: map[string]map[string]int{"tracks": {"missing_id": 2}, "albums": {"bad_date": 1}},
	}
	m.Aggregate.Rows = map[string]int64{"artist_daily": 3, "genre_daily": 5}
	m.LateCapture = kind == contract.KindLateCapture
	return m
}

// seedPartitions writes, newest first: 10-10 captured and processed, 10-09
// late capture, 10-08 reprocessed, 10-07 captured not processed, 10-06 ..
// 10-03 gaps, 10-02 processed before capture records existed, 10-01 gap.
func seedPartitions(t *testing.T, store lake.Store) {
	putCapture(t, store, activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-10", Kind: contract.KindCapture, WorkflowID: "pipeline-2026-10-10", RunID: "run-2026-10-10"},
		CapturedAt: "2026-10-10T03:05:00Z"})
	putManifest(t, store, manifestOf("2026-10-10", contract.KindCapture, "pipeline-2026-10-10", "2026-10-10T03:05:00Z"))

	putCapture(t, store, activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-09", Kind: contract.KindLateCapture, WorkflowID: "pipeline-2026-10-09", RunID: "run-2026-10-09"},
		LateCapture: true, CapturedAt: "2026-10-11T09:00:00Z"})
	putManifest(t, store, manifestOf("2026-10-09", contract.KindLateCapture, "pipeline-2026-10-09", "2026-10-11T09:00:00Z"))

	putCapture(t, store, activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-08", Kind: contract.KindCapture, WorkflowID: "daily-2026-10-08T03:00:00Z", RunID: "run-capture"},
		CapturedAt: "2026-10-08T03:05:00Z"})
	putManifest(t, store, manifestOf("2026-10-08", contract.KindReprocess, "pipeline-2026-10-08", "2026-10-08T03:05:00Z"))

	putCapture(t, store, activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-07", Kind: contract.KindCapture, WorkflowID: "pipeline-2026-10-07", RunID: "run-2026-10-07"},
		CapturedAt: "2026-10-07T03:05:00Z"})

	putManifest(t, store, manifestOf("2026-10-02", "", "pipeline-2026-10-02", ""))
}

func TestPartitionsText(t *testing.T) {
	store := partitionsLake(t)
	seedPartitions(t, store)
	r := starter("partitions", "--from", "2026-10-01", "--to", "2026-10-10")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	// Each wanted line is matched by its fields, so column widths may change.
	want := [][]string{
		{"DATE", "CAPTURED", "PROCESSED", "KIND", "REJECTED", "WORKFLOW", "ROWS", "/", "MARTS"},
		{"2026-10-10", "yes", "yes", "capture", "3", "pipeline-2026-10-10",
			"albums=12", "artist_top_tracks=30", "artists=3", "tracks=40", "/", "artist_daily=3", "genre_daily=5"},
		{"2026-10-09", "late", "yes", "late_capture", "3", "pipeline-2026-10-09"},
		{"2026-10-08", "yes", "yes", "reprocess", "3", "pipeline-2026-10-08"},
		{"2026-10-07", "yes", "no", "capture", "-", "pipeline-2026-10-07", "-"},
		{"↳", "captured,", "not", "processed:", "run", "`starter", "backfill", "--from", "2026-10-07", "--to", "2026-10-07`"},
		{"2026-10-03", "..", "2026-10-06", "gap", "(4", "dates)", "—", "not", "captured"},
		{"2026-10-02", "unknown", "yes", "capture", "3", "pipeline-2026-10-02"},
		{"2026-10-01", "gap", "—", "not", "captured"},
		{"2026-10-01", "..", "2026-10-10:", "10", "dates,", "4", "processed,", "1", "captured", "not", "processed,", "5", "gaps"},
	}
	require.Len(t, lines, len(want), "output:\n%s", r.stdout)
	for i, w := range want {
		got := strings.Fields(lines[i])
		require.GreaterOrEqual(t, len(got), len(w), "line %d: %q", i, lines[i])
		require.Equal(t, w, got[:len(w)], "line %d: %q", i, lines[i])
	}
}

func TestPartitionsJSON(t *testing.T) {
	store := partitionsLake(t)
	seedPartitions(t, store)
	r := starter("partitions", "--from", "2026-10-01", "--to", "2026-10-10", "--output", "json")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	var rep partitionsReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	require.Equal(t, "2026-10-01", rep.From)
	require.Equal(t, "2026-10-10", rep.To)
	require.Len(t, rep.Dates, 10, "every date, gaps included")
	require.Equal(t, []string{"2026-10-06", "2026-10-05", "2026-10-04", "2026-10-03", "2026-10-01"}, rep.Gaps)

	byDate := map[string]partitionRow{}
	for i, d := range rep.Dates {
		require.Equal(t, time.Date(2026, 10, 10-i, 0, 0, 0, 0, time.UTC).Format(workflows.DateLayout), d.Date, "newest first")
		byDate[d.Date] = d
	}
	tests := []struct {
		date                          string
		captured, late, processed     bool
		status, kind, workflow, capWF string
		rejected                      int
	}{
		{"2026-10-10", true, false, true, captureComplete, "capture", "pipeline-2026-10-10", "pipeline-2026-10-10", 3},
		{"2026-10-09", true, true, true, captureLate, "late_capture", "pipeline-2026-10-09", "pipeline-2026-10-09", 3},
		{"2026-10-08", true, false, true, captureComplete, "reprocess", "pipeline-2026-10-08", "daily-2026-10-08T03:00:00Z", 3},
		{"2026-10-07", true, false, false, captureComplete, "capture", "pipeline-2026-10-07", "pipeline-2026-10-07", 0},
		{"2026-10-05", false, false, false, captureNone, "", "", "", 0},
		{"2026-10-02", false, false, true, captureUnknown, "capture", "pipeline-2026-10-02", "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			d := byDate[tt.date]
			require.Equal(t, tt.captured, d.Captured, "captured")
			require.Equal(t, tt.late, d.LateCapture, "late_capture")
			require.Equal(t, tt.processed, d.Processed, "processed")
			require.Equal(t, tt.status, d.CaptureStatus)
			require.Equal(t, tt.kind, d.Kind)
			require.Equal(t, tt.workflow, d.WorkflowID)
			require.Equal(t, tt.capWF, d.CaptureWF)
			require.Equal(t, tt.rejected, d.Rejected)
			require.NotNil(t, d.Rows, "rows is always an object")
			require.NotNil(t, d.Marts, "marts is always an object")
			if tt.processed {
				require.Equal(t, 40, d.Rows["tracks"])
				require.Equal(t, int64(5), d.Marts["genre_daily"])
				require.Equal(t, "run-"+tt.date, d.RunID)
				require.Equal(t, tt.date+"T04:00:00Z", d.WrittenAt)
			}
		})
	}

	// The field names are the contract with scripts.
	var raw struct {
		Dates []map[string]any `json:"dates"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw))
	for _, key := range []string{"date", "captured", "late_capture", "processed", "kind", "rows", "marts",
		"rejected", "workflow_id", "run_id", "captured_at", "written_at"} {
		require.Contains(t, raw.Dates[0], key)
	}
}

// Without --from the range starts at the earliest date the lake holds, or
// covers 30 days when it holds none.
func TestPartitionsDefaultRange(t *testing.T) {
	store := partitionsLake(t)
	r := starter("partitions", "--to", "2026-10-10", "-o", "json")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	var rep partitionsReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Equal(t, "2026-09-11", rep.From, "an empty lake shows 30 days")
	require.Len(t, rep.Gaps, 30)

	text := starter("partitions", "--to", "2026-10-10")
	require.Equal(t, 0, text.code)
	require.Contains(t, text.stdout, "2026-09-11 .. 2026-10-10  gap (30 dates)")
	require.Contains(t, text.stdout, "holds no capture or manifest")

	seedPartitions(t, store)
	r = starter("partitions", "--to", "2026-10-10", "-o", "json")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Equal(t, "2026-10-02", rep.From, "the earliest date held")
	require.Len(t, rep.Dates, 9)
}

// A manifest that does not decode is shown on its line; the other dates are
// still listed and the exit code is 1.
func TestPartitionsUnreadableManifest(t *testing.T) {
	store := partitionsLake(t)
	seedPartitions(t, store)
	require.NoError(t, store.Put(context.Background(), lake.ManifestKey("2026-10-05"), strings.NewReader("{not json")))
	r := starter("partitions", "--from", "2026-10-01", "--to", "2026-10-10")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, "2026-10-05  unreadable: decode manifest of 2026-10-05")
	require.Contains(t, r.stdout, "2026-10-10  yes")
	require.Contains(t, r.stdout, "2026-10-03 .. 2026-10-04  gap (2 dates)")
	require.Contains(t, r.stderr, "1 of 10 dates could not be read")
}

// Only the dates that have files are read: ten years of gaps cost one
// listing.
func TestPartitionsReadsOnlyHeldDates(t *testing.T) {
	store := partitionsLake(t)
	putCapture(t, store, activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-07", Kind: contract.KindCapture, WorkflowID: "pipeline-2026-10-07"}})
	putManifest(t, store, manifestOf("2026-10-07", contract.KindCapture, "pipeline-2026-10-07", ""))
	cs := &laketest.CountingStore{Store: store}
	to := time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC)
	rep, err := readPartitions(context.Background(), cs, to.AddDate(0, 0, -(maxPartitionDays-1)), to)
	require.NoError(t, err)
	require.Len(t, rep.Dates, maxPartitionDays)
	require.Len(t, rep.Gaps, maxPartitionDays-1)
	require.Equal(t, int64(2), cs.Gets.Load(), "one capture record and one manifest")
}

func TestPartitionsBadUsageExitsWithCode2(t *testing.T) {
	dir := isolateEnv(t)
	future := time.Now().UTC().AddDate(0, 0, 2).Format(workflows.DateLayout)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad from", []string{"--from", "2026-02-30"}, `--from "2026-02-30" is not a date`},
		{"bad to", []string{"--to", "yesterday"}, `--to "yesterday" is not a date`},
		{"reversed", []string{"--from", "2026-03-05", "--to", "2026-03-01"}, "--from 2026-03-05 is after --to 2026-03-01"},
		{"from after today", []string{"--from", future}, "(today, UTC)"},
		{"too long", []string{"--from", "2010-01-01", "--to", "2026-01-01"}, "spans 5845 days, more than 3660"},
		{"extra argument", []string{"2026-03-01"}, "unknown command"},
		{"bad output", []string{"--output", "yaml"}, `--output "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := starter(append([]string{"partitions"}, tt.args...)...)
			require.Equal(t, 2, r.code, "stderr: %s", r.stderr)
			msg := strings.TrimSpace(r.stderr)
			require.Contains(t, msg, tt.want)
			require.NotContains(t, msg, "\n", "want one line")
		})
	}
	_, err := os.Stat(filepath.Join(dir, "data"))
	require.True(t, os.IsNotExist(err), "bad usage opened the lake")

	help := starter("partitions", "--help")
	require.Equal(t, 0, help.code)
	require.Contains(t, help.stdout, "--output")
}

// A date captured again after it was processed says so: its curated data
// is not from the raw data the lake holds now.
func TestPartitionsCapturedAgainAfterProcessing(t *testing.T) {
	store := partitionsLake(t)
	putCapture(t, store, activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-07", Kind: contract.KindCapture, WorkflowID: "pipeline-2026-10-07"},
		CapturedAt: "2026-10-07T20:00:00Z"})
	putManifest(t, store, manifestOf("2026-10-07", contract.KindCapture, "pipeline-2026-10-07", "2026-10-07T03:05:00Z"))
	r := starter("partitions", "--from", "2026-10-07", "--to", "2026-10-07")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	require.Contains(t, r.stdout, "raw captured again at 2026-10-07T20:00:00Z")
	require.Contains(t, r.stdout, "`starter backfill --from 2026-10-07 --to 2026-10-07 --rerun`")
}
