package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/otlptest"
	"github.com/metronome-data/metronome/workflows"
)

// `starter run` with OTEL_EXPORTER_OTLP_ENDPOINT set exports, before it
// exits, the span of its start of the run: the root of the run's trace,
// under the starter's service name. Its progress queries (--wait) are not
// traced: each would be a trace of its own. Without the variable it
// exports nothing.
func TestRunExportsTheRootSpanOfItsRun(t *testing.T) {
	_, c := testServer(t, devserver.Options{})
	startRealWorker(t, c, 10)
	otlptest.ClearEnv(t)
	receiver, endpoint := otlptest.Start(t)

	untraced := daysAgo(9)
	r := starter("run", "--date", untraced, "--capture-now", "--wait")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Empty(t, receiver.Spans(), "spans exported without OTEL_EXPORTER_OTLP_ENDPOINT")

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	date := daysAgo(10)
	r = starter("run", "--date", date, "--capture-now", "--wait")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Equal(t, map[string]bool{"metronome-starter": true}, receiver.Services())
	var starts int
	for _, s := range receiver.Spans() {
		require.NotRegexp(t, `^(QueryWorkflow|HandleQuery):`, s.Name, "a traced query")
		if s.Name != "StartWorkflow:PipelineWorkflow" {
			continue
		}
		starts++
		require.Empty(t, s.ParentSpanId, "the run's start is not the root of its trace")
		require.Equal(t, workflows.PipelineWorkflowID(date), otlptest.Attr(s, "temporalWorkflowID"))
	}
	require.Equal(t, 1, starts, "StartWorkflow spans of one `starter run`")
}
