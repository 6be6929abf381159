package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
)

// mockCaptureActivities mocks the partition look-up (the date has no
// capture, unless the test mocks Partition itself) and the begin and
// completion of a capture.
func mockCaptureActivities(env *testsuite.TestWorkflowEnvironment, rec *recorder, batches int, over map[string]bool) {
	var a *activities.Activities
	if !over["Partition"] {
		env.OnActivity(a.Partition, mock.Anything, mock.Anything).Return(
			func(_ context.Context, date string) (contract.PartitionState, error) {
				rec.add("Partition")
				return contract.PartitionState{Date: date}, nil
			}).Maybe()
	}
	env.OnActivity(a.BeginCapture, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ string) error {
			rec.add("BeginCapture")
			return nil
		}).Maybe()
	env.OnActivity(a.CompleteCapture, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.CaptureInput) (contract.CaptureSummary, error) {
			rec.add("CompleteCapture")
			return contract.CaptureSummary{
				Key: "manifests/dt=" + in.Date + "/capture.json", Kind: in.Kind, LateCapture: in.Kind == KindLateCapture,
				CapturedAt: "2026-12-01T10:00:00Z", Mode: in.Mode, Artists: in.Artists, Batches: in.Batches,
				BatchSize: in.BatchSize, Objects: batches * 2,
			}, nil
		}).Maybe()
}

func TestCaptureWindowOf(t *testing.T) {
	tests := []struct {
		name       string
		date, tz   string
		grace      time.Duration
		start, end string
	}{
		{name: "UTC, default grace", date: "2026-11-01",
			start: "2026-11-01T00:00:00Z", end: "2026-11-03T00:00:00Z"},
		{name: "Berlin, 6h grace", date: "2026-11-01", tz: "Europe/Berlin", grace: 6 * time.Hour,
			start: "2026-10-31T23:00:00Z", end: "2026-11-02T05:00:00Z"},
		{name: "the day summer time ends is 25 hours long", date: "2026-10-25", tz: "Europe/Berlin", grace: time.Hour,
			start: "2026-10-24T22:00:00Z", end: "2026-10-26T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := CaptureWindowOf(tt.date, tt.tz, tt.grace)
			require.NoError(t, err)
			require.Equal(t, tt.start, w.Start.UTC().Format(time.RFC3339))
			require.Equal(t, tt.end, w.End.UTC().Format(time.RFC3339))
			require.True(t, w.Contains(w.Start))
			require.False(t, w.Contains(w.End), "the window ends before its end")
			require.False(t, w.Contains(w.Start.Add(-time.Nanosecond)))
		})
	}
	_, err := CaptureWindowOf("2026-11-31", "", 0)
	require.Error(t, err)
	_, err = CaptureWindowOf("2026-11-01", "Mars/Olympus", 0)
	require.Error(t, err)
}

func capturedState(date string, late bool) contract.PartitionState {
	kind := KindCapture
	if late {
		kind = KindLateCapture
	}
	return contract.PartitionState{Date: date, Captured: true,
		Capture: contract.CaptureSummary{Key: "manifests/dt=" + date + "/capture.json", Kind: kind, LateCapture: late,
			CapturedAt: date + "T09:00:00Z", Mode: "development", Artists: 120, Batches: 3, BatchSize: 50, Objects: 9}}
}

func TestPipelineKinds(t *testing.T) {
	const date = "2026-11-01"
	inWindow := time.Date(2026, 11, 2, 18, 0, 0, 0, time.UTC)   // the grace of 2026-11-01
	afterWindow := time.Date(2026, 11, 3, 0, 0, 1, 0, time.UTC) // one second past it
	tests := []struct {
		name      string
		now       time.Time
		in        PipelineInput
		partition contract.PartitionState
		wantKind  string
		wantErr   string // error type
		wantCalls []string
	}{
		{name: "inside the window a run captures", now: inWindow, in: PipelineInput{Date: date},
			partition: capturedState(date, false), wantKind: KindCapture,
			wantCalls: []string{"Partition", "BeginCapture", "Resolve", "CollectBatch", "CompleteCapture", "Clean", "Store", "Aggregate", "WriteManifest"}},
		{name: "after the window a captured date is reprocessed", now: afterWindow, in: PipelineInput{Date: date},
			partition: capturedState(date, false), wantKind: KindReprocess,
			wantCalls: []string{"Partition", "Clean", "Store", "Aggregate", "WriteManifest"}},
		{name: "after the window a date never captured is refused before any call", now: afterWindow,
			in: PipelineInput{Date: date}, partition: contract.PartitionState{Date: date},
			wantErr: ErrCaptureRefused, wantCalls: []string{"Partition"}},
		{name: "capture-now captures late", now: afterWindow, in: PipelineInput{Date: date, CaptureNow: true},
			partition: contract.PartitionState{Date: date}, wantKind: KindLateCapture,
			wantCalls: []string{"Partition", "BeginCapture", "Resolve", "CollectBatch", "CompleteCapture", "Clean", "Store", "Aggregate", "WriteManifest"}},
		{name: "capture-now may replace a late capture", now: afterWindow, in: PipelineInput{Date: date, CaptureNow: true},
			partition: capturedState(date, true), wantKind: KindLateCapture,
			wantCalls: []string{"Partition", "BeginCapture", "Resolve", "CollectBatch", "CompleteCapture", "Clean", "Store", "Aggregate", "WriteManifest"}},
		{name: "capture-now never replaces a capture of the date's own day", now: afterWindow,
			in: PipelineInput{Date: date, CaptureNow: true}, partition: capturedState(date, false),
			wantErr: ErrCaptureRefused, wantCalls: []string{"Partition"}},
		{name: "capture-now inside the window is a plain capture", now: inWindow, in: PipelineInput{Date: date, CaptureNow: true},
			partition: contract.PartitionState{Date: date}, wantKind: KindCapture,
			wantCalls: []string{"Partition", "BeginCapture", "Resolve", "CollectBatch", "CompleteCapture", "Clean", "Store", "Aggregate", "WriteManifest"}},
		{name: "a future date is refused", now: time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), in: PipelineInput{Date: date, CaptureNow: true},
			partition: contract.PartitionState{Date: date}, wantErr: ErrCaptureRefused, wantCalls: []string{"Partition"}},
		{name: "reprocess-only inside the window does not call Spotify", now: inWindow, in: PipelineInput{Date: date, ReprocessOnly: true},
			partition: capturedState(date, false), wantKind: KindReprocess,
			wantCalls: []string{"Partition", "Clean", "Store", "Aggregate", "WriteManifest"}},
		{name: "reprocess-only of a date never captured fails NotCaptured", now: inWindow, in: PipelineInput{Date: date, ReprocessOnly: true},
			partition: contract.PartitionState{Date: date}, wantErr: ErrNotCaptured, wantCalls: []string{"Partition"}},
		{name: "a longer grace keeps the window open", now: afterWindow, in: PipelineInput{Date: date, CaptureGrace: 48 * time.Hour},
			partition: contract.PartitionState{Date: date}, wantKind: KindCapture,
			wantCalls: []string{"Partition", "BeginCapture", "Resolve", "CollectBatch", "CompleteCapture", "Clean", "Store", "Aggregate", "WriteManifest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, rec := newEnv(t, 1, "Partition", "Clean", "WriteManifest")
			env.SetStartTime(tt.now)
			var a *activities.Activities
			env.OnActivity(a.Partition, mock.Anything, mock.Anything).Return(
				func(_ context.Context, _ string) (contract.PartitionState, error) {
					rec.add("Partition")
					return tt.partition, nil
				})
			var clean contract.CleanInput
			env.OnActivity(a.Clean, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in contract.CleanInput) (contract.CleanResult, error) {
					rec.add("Clean")
					clean = in
					return contract.CleanResult{Report: contract.QualityReport{RowsOut: map[string]int{"artists": 50}}}, nil
				}).Maybe()
			var manifest contract.ManifestInput
			env.OnActivity(a.WriteManifest, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in contract.ManifestInput) (contract.ManifestResult, error) {
					rec.add("WriteManifest")
					manifest = in
					return contract.ManifestResult{Key: "manifests/dt=" + in.Date + "/pipeline.json"}, nil
				}).Maybe()

			env.ExecuteWorkflow(PipelineWorkflow, tt.in)
			require.True(t, env.IsWorkflowCompleted())
			require.Equal(t, tt.wantCalls, rec.calls)
			if tt.wantErr != "" {
				var appErr *temporal.ApplicationError
				require.ErrorAs(t, env.GetWorkflowError(), &appErr)
				require.Equal(t, tt.wantErr, appErr.Type())
				require.Contains(t, appErr.Message(), date)
				return
			}
			require.NoError(t, env.GetWorkflowError())
			var res PipelineResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, tt.wantKind, res.Kind)
			require.Equal(t, tt.wantKind, manifest.Kind)
			require.Zero(t, clean.Batches, "the capture removed stale batches; a clean never deletes raw")
			require.Equal(t, tt.wantKind == KindLateCapture, clean.LateCapture)
			if tt.wantKind == KindReprocess {
				require.Equal(t, tt.partition.Capture.Mode, clean.Mode, "a reprocess cleans in the capture's API mode")
				require.Equal(t, 120, res.Artists)
				require.Equal(t, tt.partition.Capture, manifest.Capture)
			}
		})
	}
}

func TestRefusalSaysWhatToDo(t *testing.T) {
	w, err := CaptureWindowOf("2026-11-01", "", 0)
	require.NoError(t, err)
	msg := w.refusal("2026-11-01", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	require.Contains(t, msg, "Spotify keeps no history")
	require.Contains(t, msg, "--capture-now")
	require.Contains(t, msg, "Reprocess")
	require.Contains(t, msg, "2026-11-03T00:00:00Z")
}
