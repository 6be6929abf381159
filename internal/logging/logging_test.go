package logging

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestTemporalLoggerKeepsIDsAsFields(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	l := NewTemporalLogger(zap.New(core))

	l.With("WorkflowID", "pipeline-2026-11-01").Info("stage started", "stage", "clean", "Attempt", 2)
	l.Warn("odd", "lonely")
	l.Debug("dbg")
	l.Error("failed", 42, "not a string key")

	entries := logs.AllUntimed()
	require.Len(t, entries, 4)
	fields := entries[0].ContextMap()
	require.Equal(t, "pipeline-2026-11-01", fields["WorkflowID"])
	require.Equal(t, "clean", fields["stage"])
	require.EqualValues(t, 2, fields["Attempt"])
	require.Equal(t, "lonely", entries[1].ContextMap()["extra"], "an odd value is kept, not dropped")
	require.Equal(t, "not a string key", entries[3].ContextMap()["42"])
}

func TestNew(t *testing.T) {
	tests := []struct {
		level   string
		format  Format
		wantErr string
	}{
		{"info", Console, ""},
		{"debug", JSON, ""},
		{"loud", JSON, `log level "loud"`},
		{"info", "xml", `log format "xml"`},
	}
	for _, tt := range tests {
		l, err := New(tt.level, tt.format)
		if tt.wantErr != "" {
			require.ErrorContains(t, err, tt.wantErr)
			continue
		}
		require.NoError(t, err)
		require.NotNil(t, l)
	}
}
