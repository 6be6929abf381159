// Package metrics holds metronome's Prometheus metrics: the pipeline's own
// (prefix metronome_), the Temporal SDK's (prefix temporal_, through tally),
// and the HTTP server that exposes them with /healthz and /readyz.
//
// Activities record through a *Pipeline. A nil *Pipeline records nothing, so
// code paths without metrics (tests, tools) pass nil.
package metrics

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Names of the pipeline's metric families as they appear in /metrics.
// Histograms add the _bucket, _sum and _count series.
const (
	spotifyRequestsName    = "metronome_spotify_requests_total"
	spotifyRateLimitedName = "metronome_spotify_rate_limited_total"
	spotifyBackoffName     = "metronome_spotify_backoff_seconds_total"
	spotifyQuotaWaitName   = "metronome_spotify_quota_wait_seconds"
	recordsCollectedName   = "metronome_records_collected_total"
	recordsCleanedName     = "metronome_records_cleaned_total"
	recordsRejectedName    = "metronome_records_rejected_total"
	lakeBytesWrittenName   = "metronome_lake_bytes_written_total"
	servingWritesName      = "metronome_serving_writes_total"
	servingRetriesName     = "metronome_serving_retries_total"
	stageDurationName      = "metronome_stage_duration_seconds"
	recordsCheckedName     = "metronome_records_checked_total"
	maxRejectRateName      = "metronome_max_reject_rate"
	lastPartitionName      = "metronome_last_complete_partition_timestamp_seconds"
)

const (
	// statusTransportError is the status label of a call without response.
	statusTransportError = "error"
	// lakeZoneOther is the zone label of a key outside the lake's layout.
	lakeZoneOther = "other"
)

// Names returns the name of every pipeline metric family, sorted.
func Names() []string {
	names := []string{
		spotifyRequestsName, spotifyRateLimitedName, spotifyBackoffName, spotifyQuotaWaitName,
		recordsCollectedName, recordsCleanedName, recordsRejectedName,
		lakeBytesWrittenName, servingWritesName, servingRetriesName,
		stageDurationName, recordsCheckedName, maxRejectRateName, lastPartitionName,
	}
	slices.Sort(names)
	return names
}

// Stages are the pipeline's stages, in order; their duration series exist
// from the start so dashboards show zero rather than no data.
var Stages = []string{"resolve", "collect", "clean", "store", "aggregate", "manifest"}

// lakeZones are the top-level prefixes of the lake (see DESIGN.md); any other
// key is counted as "other", which keeps the label's values bounded.
var lakeZones = []string{"raw", "curated", "quarantine", "marts", "manifests"}

// stageBuckets span a tiny run's stages (sub-second) to a 100k-artist
// collect under a tight rate limit (an hour).
var stageBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// NewRegistry returns a registry with the Go runtime and process collectors,
// ready for NewPipeline and TemporalHandler.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Pipeline records the pipeline's metrics. Its methods are safe for
// concurrent use, and do nothing on a nil *Pipeline.
type Pipeline struct {
	spotifyRequests    *prometheus.CounterVec
	spotifyRateLimited *prometheus.CounterVec
	spotifyBackoff     prometheus.Counter
	collected          *prometheus.CounterVec
	cleaned            *prometheus.CounterVec
	rejected           *prometheus.CounterVec
	lakeBytes          *prometheus.CounterVec
	servingWrites      prometheus.Counter
	servingRetries     prometheus.Counter
	stageDuration      *prometheus.HistogramVec
	quotaWait          quotaWait
	checked            prometheus.Counter
	maxRejectRate      prometheus.Gauge
	lastPartition      prometheus.Gauge
}

// NewPipeline creates the pipeline's metrics and registers them with reg.
func NewPipeline(reg prometheus.Registerer) (*Pipeline, error) {
	p := &Pipeline{
		spotifyRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: spotifyRequestsName,
			Help: "Spotify Web API responses by endpoint and HTTP status (\"error\" when no response arrived).",
		}, []string{"endpoint", "status"}),
		spotifyRateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: spotifyRateLimitedName,
			Help: "Spotify Web API responses with status 429 Too Many Requests, by endpoint.",
		}, []string{"endpoint"}),
		spotifyBackoff: prometheus.NewCounter(prometheus.CounterOpts{
			Name: spotifyBackoffName,
			Help: "Seconds spent waiting before Spotify calls because of rate limiting (Retry-After and back-off).",
		}),
		collected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: recordsCollectedName,
			Help: "Records collected from Spotify and written raw to the lake, by entity.",
		}, []string{"entity"}),
		cleaned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: recordsCleanedName,
			Help: "Validated, normalized rows written to curated tables, by table.",
		}, []string{"table"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: recordsRejectedName,
			Help: "Records sent to quarantine, by entity and reason code.",
		}, []string{"entity", "reason"}),
		lakeBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: lakeBytesWrittenName,
			Help: "Bytes written to the lake, by zone (raw, curated, quarantine, marts, manifests, other).",
		}, []string{"zone"}),
		servingWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: servingWritesName,
			Help: "Items written to the serving store.",
		}),
		servingRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: servingRetriesName,
			Help: "Retried serving-store requests (throttling, server errors, unprocessed items).",
		}),
		stageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    stageDurationName,
			Help:    "Duration of one pipeline stage activity, by stage.",
			Buckets: stageBuckets,
		}, []string{"stage"}),
		checked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: recordsCheckedName,
			Help: "Raw records the clean stage checked: the share of them rejected is what pipeline.max_reject_rate bounds.",
		}),
		maxRejectRate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: maxRejectRateName,
			Help: "pipeline.max_reject_rate of this worker: a clean stage rejecting a larger share of its records fails the run.",
		}),
		lastPartition: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: lastPartitionName,
			Help: "Start (00:00 UTC, Unix seconds) of the newest date with a complete partition (a run manifest) in the lake, " +
				"as this worker last looked; 0 when none of the last days has one.",
		}),
	}
	p.quotaWait.now = time.Now
	for _, c := range []prometheus.Collector{
		p.quotaWait.gauge(),
		p.spotifyRequests, p.spotifyRateLimited, p.spotifyBackoff,
		p.collected, p.cleaned, p.rejected, p.lakeBytes,
		p.servingWrites, p.servingRetries, p.stageDuration,
		p.checked, p.maxRejectRate, p.lastPartition,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register pipeline metrics: %w", err)
		}
	}
	for _, s := range Stages {
		p.stageDuration.WithLabelValues(s)
	}
	for _, z := range lakeZones {
		p.lakeBytes.WithLabelValues(z)
	}
	return p, nil
}

// RecordSpotifyCall counts one Spotify response. endpoint is a route
// template such as "artists" or "artist_top_tracks", never a URL with IDs;
// status is the HTTP status, or 0 when the request got no response. A 429
// also counts as rate limited.
func (p *Pipeline) RecordSpotifyCall(endpoint string, status int) {
	if p == nil {
		return
	}
	label := statusTransportError
	if status > 0 {
		label = strconv.Itoa(status)
	}
	p.spotifyRequests.WithLabelValues(endpoint, label).Inc()
	if status == http.StatusTooManyRequests {
		p.spotifyRateLimited.WithLabelValues(endpoint).Inc()
	}
}

// RecordBackoff adds d to the time spent waiting out Spotify's rate limit.
func (p *Pipeline) RecordBackoff(d time.Duration) {
	if p == nil || d <= 0 {
		return
	}
	p.spotifyBackoff.Add(d.Seconds())
}

// RecordCollect counts n records of entity ("artists", "albums", "tracks",
// "top_tracks", "audio_features") collected into the raw zone.
func (p *Pipeline) RecordCollect(entity string, n int) {
	if p == nil || n <= 0 {
		return
	}
	p.collected.WithLabelValues(entity).Add(float64(n))
}

// RecordClean counts n rows written to the curated table.
func (p *Pipeline) RecordClean(table string, n int) {
	if p == nil || n <= 0 {
		return
	}
	p.cleaned.WithLabelValues(table).Add(float64(n))
}

// RecordReject counts n records of entity quarantined with reason, a reason
// code of the cleaning rules (a small fixed set, not a free-text message).
func (p *Pipeline) RecordReject(entity, reason string, n int) {
	if p == nil || n <= 0 {
		return
	}
	p.rejected.WithLabelValues(entity, reason).Add(float64(n))
}

// RecordLakeWrite counts n bytes written to the lake object key; the zone is
// the key's first path segment.
func (p *Pipeline) RecordLakeWrite(key string, n int64) {
	if p == nil || n <= 0 {
		return
	}
	p.lakeBytes.WithLabelValues(lakeZone(key)).Add(float64(n))
}

// RecordServingWrites counts n items written to the serving store.
func (p *Pipeline) RecordServingWrites(n int) {
	if p == nil || n <= 0 {
		return
	}
	p.servingWrites.Add(float64(n))
}

// RecordServingRetries counts n retried serving-store requests.
func (p *Pipeline) RecordServingRetries(n int) {
	if p == nil || n <= 0 {
		return
	}
	p.servingRetries.Add(float64(n))
}

// ObserveStage records that one run of stage took d.
func (p *Pipeline) ObserveStage(stage string, d time.Duration) {
	if p == nil {
		return
	}
	p.stageDuration.WithLabelValues(stage).Observe(d.Seconds())
}

// lakeZone maps a lake key to its zone label.
func lakeZone(key string) string {
	zone, _, _ := strings.Cut(key, "/")
	if slices.Contains(lakeZones, zone) {
		return zone
	}
	return lakeZoneOther
}
