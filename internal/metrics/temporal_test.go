package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestTemporalHandlerServesSDKMetricsInTheSameOutput(t *testing.T) {
	reg := NewRegistry()
	p, err := NewPipeline(reg)
	require.NoError(t, err)
	h, closer := TemporalHandler(reg, nil)

	// The names and tags the SDK itself uses.
	tagged := h.WithTags(map[string]string{"activity_type": "Collect", "task_queue": "metronome-spotify"})
	tagged.Counter("temporal_activity_execution_failed").Inc(2)
	tagged.Timer("temporal_activity_schedule_to_start_latency").Record(3 * time.Second)
	h.Gauge("temporal_num_pollers").Update(4)
	p.RecordCollect("artists", 5)
	// Closing flushes the counters and gauges the scope buffers.
	require.NoError(t, closer.Close())

	body, _ := scrape(t, reg)
	lines := strings.Split(body, "\n")
	for _, want := range []string{
		"# TYPE temporal_activity_execution_failed_total counter",
		`temporal_activity_execution_failed_total{activity_type="Collect",task_queue="metronome-spotify"} 2`,
		"# TYPE temporal_activity_schedule_to_start_latency_seconds histogram",
		`temporal_activity_schedule_to_start_latency_seconds_bucket{activity_type="Collect",task_queue="metronome-spotify",le="2.5"} 0`,
		`temporal_activity_schedule_to_start_latency_seconds_bucket{activity_type="Collect",task_queue="metronome-spotify",le="5"} 1`,
		`temporal_activity_schedule_to_start_latency_seconds_count{activity_type="Collect",task_queue="metronome-spotify"} 1`,
		"temporal_num_pollers 4",
		`metronome_records_collected_total{entity="artists"} 5`,
	} {
		assert.Contains(t, lines, want)
	}
	assert.NotContains(t, body, "tally_internal")
}

func TestTemporalHandlerLogsConflictingRegistrations(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	reg := NewRegistry()
	h, closer := TemporalHandler(reg, zap.New(core))
	defer closer.Close()

	h.WithTags(map[string]string{"a": "1"}).Timer("temporal_request_latency").Record(time.Millisecond)
	// The same name with other label names cannot share a Prometheus family.
	h.WithTags(map[string]string{"b": "1"}).Timer("temporal_request_latency").Record(time.Millisecond)

	require.Equal(t, 1, logs.Len())
	assert.Equal(t, "temporal SDK metric not registered", logs.All()[0].Message)
}
