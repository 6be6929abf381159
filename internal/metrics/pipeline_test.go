package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scrape returns the /metrics page of Handler(g, nil) and its content type.
func scrape(t *testing.T, g prometheus.Gatherer) (body, contentType string) {
	t.Helper()
	srv := httptest.NewServer(Handler(g, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b), resp.Header.Get("Content-Type")
}

func TestPipelineRendersInPrometheusTextFormat(t *testing.T) {
	tests := []struct {
		name   string
		record func(p *Pipeline)
		want   []string // exact lines of the text format
		absent []string // substrings that must not appear
	}{
		{
			name:   "spotify call by endpoint and status",
			record: func(p *Pipeline) { p.RecordSpotifyCall("artists", 200); p.RecordSpotifyCall("artists", 200) },
			want: []string{
				"# TYPE metronome_spotify_requests_total counter",
				`metronome_spotify_requests_total{endpoint="artists",status="200"} 2`,
			},
			absent: []string{"metronome_spotify_rate_limited_total{"},
		},
		{
			name:   "429 also counts as rate limited",
			record: func(p *Pipeline) { p.RecordSpotifyCall("artist_top_tracks", 429) },
			want: []string{
				`metronome_spotify_requests_total{endpoint="artist_top_tracks",status="429"} 1`,
				`metronome_spotify_rate_limited_total{endpoint="artist_top_tracks"} 1`,
			},
		},
		{
			name:   "a call without response has status error",
			record: func(p *Pipeline) { p.RecordSpotifyCall("search", 0) },
			want:   []string{`metronome_spotify_requests_total{endpoint="search",status="error"} 1`},
		},
		{
			name:   "back-off adds up in seconds",
			record: func(p *Pipeline) { p.RecordBackoff(1500 * time.Millisecond); p.RecordBackoff(2 * time.Second) },
			want:   []string{"metronome_spotify_backoff_seconds_total 3.5"},
		},
		{
			name: "collected by entity",
			record: func(p *Pipeline) {
				p.RecordCollect("artists", 50)
				p.RecordCollect("artists", 7)
				p.RecordCollect("tracks", 0)
			},
			want:   []string{`metronome_records_collected_total{entity="artists"} 57`},
			absent: []string{`entity="tracks"`},
		},
		{
			name:   "cleaned by table",
			record: func(p *Pipeline) { p.RecordClean("albums", 12) },
			want:   []string{`metronome_records_cleaned_total{table="albums"} 12`},
		},
		{
			name:   "rejected by entity and reason",
			record: func(p *Pipeline) { p.RecordReject("tracks", "missing_id", 3) },
			want:   []string{`metronome_records_rejected_total{entity="tracks",reason="missing_id"} 3`},
		},
		{
			name: "lake bytes by zone of the key",
			record: func(p *Pipeline) {
				p.RecordLakeWrite("raw/spotify/artists/dt=2026-11-01/batch=00000.jsonl.gz", 100)
				p.RecordLakeWrite("curated/artists/dt=2026-11-01/part-00000.parquet", 2048)
				p.RecordLakeWrite("somewhere/else", 5)
			},
			want: []string{
				`metronome_lake_bytes_written_total{zone="raw"} 100`,
				`metronome_lake_bytes_written_total{zone="curated"} 2048`,
				`metronome_lake_bytes_written_total{zone="other"} 5`,
				`metronome_lake_bytes_written_total{zone="marts"} 0`,
			},
			absent: []string{`zone="somewhere"`},
		},
		{
			name:   "serving writes and retries",
			record: func(p *Pipeline) { p.RecordServingWrites(25); p.RecordServingRetries(2) },
			want:   []string{"metronome_serving_writes_total 25", "metronome_serving_retries_total 2"},
		},
		{
			name:   "stage duration histogram by stage",
			record: func(p *Pipeline) { p.ObserveStage("collect", 3*time.Second) },
			want: []string{
				"# TYPE metronome_stage_duration_seconds histogram",
				`metronome_stage_duration_seconds_bucket{stage="collect",le="2.5"} 0`,
				`metronome_stage_duration_seconds_bucket{stage="collect",le="5"} 1`,
				`metronome_stage_duration_seconds_bucket{stage="collect",le="+Inf"} 1`,
				`metronome_stage_duration_seconds_sum{stage="collect"} 3`,
				`metronome_stage_duration_seconds_count{stage="collect"} 1`,
				// Known stages exist before their first run.
				`metronome_stage_duration_seconds_count{stage="manifest"} 0`,
			},
		},
		{
			name:   "records checked add up",
			record: func(p *Pipeline) { p.RecordChecked(120); p.RecordChecked(0); p.RecordChecked(30) },
			want:   []string{"# TYPE metronome_records_checked_total counter", "metronome_records_checked_total 150"},
		},
		{
			name:   "the reject rate limit",
			record: func(p *Pipeline) { p.SetMaxRejectRate(0.2) },
			want:   []string{"# TYPE metronome_max_reject_rate gauge", "metronome_max_reject_rate 0.2"},
		},
		{
			name: "the newest complete partition is the start of its day, UTC",
			record: func(p *Pipeline) {
				p.SetLastCompletePartition(time.Date(2026, 11, 30, 17, 45, 0, 0, time.FixedZone("CET", 3600)))
			},
			want: []string{
				"# TYPE metronome_last_complete_partition_timestamp_seconds gauge",
				"metronome_last_complete_partition_timestamp_seconds 1.7959968e+09",
			},
		},
		{
			name: "no complete partition is 0",
			record: func(p *Pipeline) {
				p.SetLastCompletePartition(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
				p.SetLastCompletePartition(time.Time{})
			},
			want: []string{"metronome_last_complete_partition_timestamp_seconds 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := NewRegistry()
			p, err := NewPipeline(reg)
			require.NoError(t, err)
			tt.record(p)

			body, contentType := scrape(t, reg)
			assert.True(t, strings.HasPrefix(contentType, "text/plain; version=0.0.4"), "content type %q", contentType)
			lines := strings.Split(body, "\n")
			for _, w := range tt.want {
				assert.Contains(t, lines, w)
			}
			for _, a := range tt.absent {
				assert.NotContains(t, body, a)
			}
			// The registry's runtime collectors are served alongside.
			assert.Contains(t, body, "go_goroutines ")
		})
	}
}

func TestNamesAreTheRegisteredFamilies(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := NewPipeline(reg)
	require.NoError(t, err)
	p.RecordSpotifyCall("artists", 429)
	p.RecordBackoff(time.Second)
	p.RecordCollect("artists", 1)
	p.RecordClean("artists", 1)
	p.RecordReject("artists", "bad", 1)
	p.RecordLakeWrite("raw/x", 1)
	p.RecordServingWrites(1)
	p.RecordServingRetries(1)
	p.ObserveStage("store", time.Second)

	families, err := reg.Gather()
	require.NoError(t, err)
	var got []string
	for _, f := range families {
		got = append(got, f.GetName())
	}
	slices.Sort(got)
	assert.Equal(t, Names(), got)
	for _, n := range got {
		assert.True(t, strings.HasPrefix(n, "metronome_"), n)
	}
}

func TestNilPipelineRecordsNothing(t *testing.T) {
	var p *Pipeline
	assert.NotPanics(t, func() {
		p.RecordSpotifyCall("artists", 200)
		p.RecordBackoff(time.Second)
		p.RecordCollect("artists", 1)
		p.RecordClean("artists", 1)
		p.RecordReject("artists", "bad", 1)
		p.RecordLakeWrite("raw/x", 1)
		p.RecordServingWrites(1)
		p.RecordServingRetries(1)
		p.ObserveStage("collect", time.Second)
		p.RecordChecked(1)
		p.SetMaxRejectRate(0.2)
		p.SetLastCompletePartition(time.Now())
	})
}

func TestNewPipelineRefusesASecondRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := NewPipeline(reg)
	require.NoError(t, err)
	_, err = NewPipeline(reg)
	require.ErrorContains(t, err, "register pipeline metrics")
}

// The quota wait gauge shows the seconds left of the latest wait, and 0
// once it is over.
func TestQuotaWaitGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := NewPipeline(reg)
	require.NoError(t, err)
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	p.quotaWait.now = func() time.Time { return now }
	gauge := func() float64 {
		families, err := reg.Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() == spotifyQuotaWaitName {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s in /metrics", spotifyQuotaWaitName)
		return 0
	}
	require.Zero(t, gauge(), "no wait before a quota 429")
	p.RecordQuotaWait(now.Add(90 * time.Minute))
	require.Equal(t, 5400.0, gauge())
	now = now.Add(time.Hour)
	require.Equal(t, 1800.0, gauge())
	now = now.Add(time.Hour)
	require.Zero(t, gauge(), "the wait is over")
	var nilPipeline *Pipeline
	require.NotPanics(t, func() { nilPipeline.RecordQuotaWait(now) })
}
