package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/devserver"
)

// A worker run end to end: /readyz turns ready once the workers poll, and
// after a run the pipeline counters on /metrics equal the manifest's counts.
func TestServeExportsMetricsThatMatchTheManifest(t *testing.T) {
	port, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cfg := startHarness(t, map[string]string{"METRONOME_WORKER_METRICS_ADDR": metricsAddr})

	workerCtx, stopWorker := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- Serve(workerCtx, cfg, zap.NewNop()) }()
	defer func() {
		stopWorker()
		require.NoError(t, <-served)
	}()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + metricsAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	require.Eventually(t, func() bool { code, _ := get("/readyz"); return code == http.StatusOK },
		30*time.Second, 50*time.Millisecond, "/readyz never turned ready")
	code, _ := get("/healthz")
	require.Equal(t, http.StatusOK, code)

	c, err := Dial(ctx, cfg, zap.NewNop())
	require.NoError(t, err)
	defer c.Close()
	_, m := runPipeline(t, ctx, c, cfg)

	code, body := get("/metrics")
	require.Equal(t, http.StatusOK, code)
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	counter := func(name, label, value string) int {
		f, ok := families[name]
		if !ok {
			return 0
		}
		for _, metric := range f.Metric {
			for _, l := range metric.Label {
				if l.GetName() == label && l.GetValue() == value {
					return int(metric.GetCounter().GetValue())
				}
			}
		}
		return 0
	}
	for entity, n := range m.Collect.Records {
		require.Equal(t, n, counter("metronome_records_collected_total", "entity", entity), entity)
	}
	for table, n := range m.Clean.Report.RowsOut {
		require.Equal(t, n, counter("metronome_records_cleaned_total", "table", table), table)
	}
	// The reject share's denominator and limit (deploy/prometheus/alerts.yml).
	checked := 0
	for _, n := range m.Clean.Report.RowsIn {
		checked += n
	}
	require.Positive(t, checked)
	require.Equal(t, float64(checked), families["metronome_records_checked_total"].GetMetric()[0].GetCounter().GetValue())
	require.Equal(t, cfg.Pipeline.MaxRejectRate, families["metronome_max_reject_rate"].GetMetric()[0].GetGauge().GetValue())
	calls := 0
	for _, n := range m.Collect.Calls {
		calls += n
	}
	spotify := 0
	for _, metric := range families["metronome_spotify_requests_total"].GetMetric() {
		isToken := false
		for _, l := range metric.Label {
			if l.GetName() == "endpoint" && (l.GetValue() == "token" || l.GetValue() == "search") {
				isToken = true
			}
		}
		if !isToken {
			spotify += int(metric.GetCounter().GetValue())
		}
	}
	require.Equal(t, calls+m.Resolve.Probes, spotify, "Spotify calls on /metrics and in the manifest")
	require.Contains(t, families, "temporal_activity_execution_latency_seconds", "the SDK's own metrics")

	// The serving store's own write counter reaches /metrics within an
	// export interval: at least an artist snapshot and its history item each.
	require.Eventually(t, func() bool {
		_, body := get("/metrics")
		fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			return false
		}
		f, ok := fams["metronome_serving_writes_total"]
		return ok && len(f.Metric) == 1 && int(f.Metric[0].GetCounter().GetValue()) >= 2*m.Store.Artists
	}, 3*servingStatsEvery, 100*time.Millisecond, "serving-store writes never reached /metrics")
}
