package metrics

import (
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	"go.uber.org/zap"
)

// temporalReportInterval is how often the SDK's counters and gauges reach
// the registry; timers are observed immediately.
const temporalReportInterval = time.Second

// temporalBuckets are the histogram buckets, in seconds, of the SDK's timers
// (latencies). Schedule-to-start on the rate-limited Spotify task queue may
// reach minutes, so they go up to an hour.
var temporalBuckets = []float64{
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
}

// temporalSanitize keeps metric names and label keys to Prometheus's
// [a-zA-Z0-9_] and label values readable: a task queue stays
// "metronome-spotify" rather than becoming "metronome_spotify".
var temporalSanitize = tally.SanitizeOptions{
	NameCharacters:       tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: tally.UnderscoreCharacters},
	KeyCharacters:        tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: tally.UnderscoreCharacters},
	ValueCharacters:      tally.ValidCharacters{Ranges: tally.AlphanumericRange, Characters: []rune{'_', '-', '.', ':', '/'}},
	ReplacementCharacter: tally.DefaultReplacementCharacter,
}

// TemporalHandler returns a Temporal SDK metrics handler (for
// client.Options.MetricsHandler) that registers the SDK's metrics with reg
// under Prometheus names: counters get a _total suffix, timers become
// histograms in seconds with a _seconds suffix, so the SDK's
// temporal_activity_schedule_to_start_latency is exposed as
// temporal_activity_schedule_to_start_latency_seconds_bucket/_sum/_count and
// temporal_activity_execution_failed as
// temporal_activity_execution_failed_total.
//
// Registration conflicts (the same name with other labels) are logged to
// logger and the metric is dropped; logger may be nil. Close the returned
// closer on shutdown: it flushes the last counts and stops the reporting
// goroutine.
func TemporalHandler(reg prometheus.Registerer, logger *zap.Logger) (client.MetricsHandler, io.Closer) {
	if logger == nil {
		logger = zap.NewNop()
	}
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: temporalBuckets,
		OnRegisterError: func(err error) {
			logger.Warn("temporal SDK metric not registered", zap.Error(err))
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &temporalSanitize,
		OmitCardinalityMetrics: true,
	}, temporalReportInterval)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}
