package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/metrics"
)

func TestNewestProcessed(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		want string // empty: none
	}{
		{"none", nil, ""},
		{"a capture without a manifest is not complete", []string{"manifests/dt=2026-11-30/capture.json"}, ""},
		{"the newest manifest of the range", []string{
			"manifests/dt=2026-11-28/pipeline.json", "manifests/dt=2026-11-29/pipeline.json",
			"manifests/dt=2026-11-30/capture.json",
		}, "2026-11-29"},
		{"a manifest after the range is not counted", []string{
			"manifests/dt=2026-11-29/pipeline.json", "manifests/dt=2026-12-05/pipeline.json",
		}, "2026-11-29"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			store, err := lake.Open(ctx, "file://"+t.TempDir())
			require.NoError(t, err)
			for _, k := range tt.keys {
				require.NoError(t, store.Put(ctx, k, strings.NewReader("{}")))
			}
			got, err := newestProcessed(ctx, store, "2026-11-24", "2026-12-02")
			require.NoError(t, err)
			if tt.want == "" {
				require.True(t, got.IsZero(), "got %s", got)
				return
			}
			require.Equal(t, tt.want, got.Format(time.DateOnly))
		})
	}
}

// The worker exports the newest complete partition of the last week when it
// starts, and again as the lake changes.
func TestExportLastPartition(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	store, err := lake.Open(ctx, "file://"+t.TempDir())
	require.NoError(t, err)
	yesterday := time.Now().UTC().AddDate(0, 0, -1)
	key := "manifests/dt=" + yesterday.Format(time.DateOnly) + "/pipeline.json"
	require.NoError(t, store.Put(ctx, key, strings.NewReader("{}")))

	reg := prometheus.NewRegistry()
	m, err := metrics.NewPipeline(reg)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		exportLastPartition(ctx, store, m, zap.NewNop(), 10*time.Millisecond)
	}()
	gauge := func() float64 {
		fams, err := reg.Gather()
		require.NoError(t, err)
		for _, f := range fams {
			if f.GetName() == "metronome_last_complete_partition_timestamp_seconds" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return -1
	}
	y, mo, d := yesterday.Date()
	want := float64(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Unix())
	require.Eventually(t, func() bool { return gauge() == want }, 5*time.Second, 10*time.Millisecond)

	require.NoError(t, store.Delete(ctx, key))
	require.Eventually(t, func() bool { return gauge() == 0 }, 5*time.Second, 10*time.Millisecond,
		"a week without a complete partition exports 0")
	cancel()
	<-done
}

func TestMaxRejectRateIsTheOneCleanApplies(t *testing.T) {
	require.Equal(t, 0.2, maxRejectRate(&config.Config{Pipeline: config.PipelineConfig{MaxRejectRate: 0.2}}))
	require.Equal(t, curate.DefaultMaxRejectRate, maxRejectRate(&config.Config{}), "0 takes curate's default")
}
