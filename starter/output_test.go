package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/workflows"
)

// Each view's JSON is byte for byte what the command printed before views,
// when it encoded a map: the JSON is a contract with scripts.
func TestViewJSONIsUnchanged(t *testing.T) {
	at := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	reqs := []workflows.ArtistRequest{{ID: "cli-1", Artist: "Air"}}
	tests := []struct {
		name   string
		view   view
		former any
	}{
		{"run started", workflowStarted{WorkflowID: "pipeline-2026-11-01", RunID: "r1", Attached: true, UI: "http://ui"},
			map[string]any{"workflow_id": "pipeline-2026-11-01", "run_id": "r1", "attached": true, "ui": "http://ui"}},
		{"run result", runResult{Result: workflows.PipelineResult{Date: "2026-11-01"}, UI: "http://ui", Lake: "data/lake"},
			map[string]any{"result": workflows.PipelineResult{Date: "2026-11-01"}, "ui": "http://ui", "lake": "data/lake", "serving": ""}},
		{"backfill started", backfillStarted{workflowStarted{WorkflowID: "backfill-a-b", RunID: "r1", UI: "http://ui"}, &backfillFlags{}},
			map[string]any{"workflow_id": "backfill-a-b", "run_id": "r1", "attached": false, "ui": "http://ui"}},
		{"backfill ended", backfillEnded{WorkflowID: "backfill-a-b", Result: workflows.BackfillResult{From: "a"}, UI: "http://ui"},
			map[string]any{"workflow_id": "backfill-a-b", "result": workflows.BackfillResult{From: "a"}, "ui": "http://ui"}},
		{"cancelled", cancelled{Action: "cancel", Reason: "why", RunID: "r1", Status: "requested", WorkflowID: "w"},
			map[string]string{"workflow_id": "w", "run_id": "r1", "action": "cancel", "reason": "why", "status": "requested"}},
		{"requests sent", requestsSent{WorkflowID: workflows.ArtistRequestWorkflowID, Requests: reqs, window: time.Second},
			map[string]any{"workflow_id": workflows.ArtistRequestWorkflowID, "requests": reqs}},
		{"requests settled", requestsSettled{WorkflowID: workflows.ArtistRequestWorkflowID, Outcomes: []workflows.RequestOutcome{{Artist: "Air"}}},
			map[string]any{"workflow_id": workflows.ArtistRequestWorkflowID, "outcomes": []workflows.RequestOutcome{{Artist: "Air"}}}},
		{"schedule backfill", scheduleBackfill{ID: "daily", From: "a", To: "b", Start: at, End: at.Add(time.Hour), Overlap: "skip"},
			map[string]any{"id": "daily", "from": "a", "to": "b", "start": at, "end": at.Add(time.Hour), "overlap": "skip"}},
		{"schedule done", scheduleDone{Action: "paused", ID: "daily", Note: "n"},
			map[string]string{"id": "daily", "action": "paused", "note": "n"}},
		{"empty schedule list", scheduleList{}, []any{}},
		{"setup", setupDone{Steps: []setupStep{{"lake", "ok"}}}, map[string]any{"steps": []setupStep{{"lake", "ok"}}}},
		{"runs", runList{Runs: []runRow{{WorkflowID: "pipeline-2026-11-01"}}, workflowsURL: "http://ui"},
			map[string]any{"runs": []runRow{{WorkflowID: "pipeline-2026-11-01"}}, "backfills_running": []runRow(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got, want bytes.Buffer
			require.NoError(t, render(&got, outputJSON, tt.view))
			require.NoError(t, writeJSON(&want, tt.former))
			require.Equal(t, want.String(), got.String())
		})
	}
}

// Text goes to the text form, JSON to encoding/json of the same value, and
// progress lines only with text.
func TestRenderFormats(t *testing.T) {
	v := scheduleDone{Action: "paused", ID: "daily"}
	var text, js bytes.Buffer
	require.NoError(t, render(&text, outputText, v))
	require.Equal(t, "paused schedule daily\n", text.String())
	require.NoError(t, render(&js, outputJSON, v))
	require.JSONEq(t, `{"action":"paused","id":"daily","note":""}`, js.String())

	var out bytes.Buffer
	_, _ = progressOut(outputText, &out).Write([]byte("line\n"))
	_, _ = progressOut(outputJSON, &out).Write([]byte("hidden\n"))
	require.Equal(t, "line\n", out.String())
}

// The started lines of run and backfill, text as before views.
func TestStartedText(t *testing.T) {
	run := workflowStarted{WorkflowID: "pipeline-2026-11-01", RunID: "r1", UI: "http://ui/run"}
	attached := run
	attached.Attached = true
	tests := []struct {
		name string
		view view
		want string
	}{
		{"run started", run, "started pipeline-2026-11-01 (run r1)\n  http://ui/run\n"},
		{"run attached", attached, "attached to running pipeline-2026-11-01 (run r1)\n  http://ui/run\n"},
		{"backfill started", backfillStarted{workflowStarted{WorkflowID: "backfill-a-b", UI: "http://ui/b"}, &backfillFlags{from: "a", to: "b", parallel: 3}},
			"started backfill-a-b (a .. b, at most 3 dates at once)\n  http://ui/b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, render(&out, outputText, tt.view))
			require.Equal(t, tt.want, out.String())
		})
	}
}
