package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"gopkg.in/yaml.v3"

	"github.com/metronome-data/metronome/internal/devserver/devservertest"
	"github.com/metronome-data/metronome/internal/metrics"
)

// panel is the part of a Grafana panel these tests read; rows nest panels.
type panel struct {
	Type       string     `json:"type"`
	Title      string     `json:"title"`
	Datasource datasource `json:"datasource"`
	Targets    []struct {
		Datasource datasource `json:"datasource"`
		Expr       string     `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboard struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "deploy/grafana/dashboards/metronome.json"))
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(b, &d), "metronome.json")
	require.NotEmpty(t, d.UID)
	return d
}

// queries returns every PromQL expression of the dashboard by panel title.
func (d dashboard) queries() map[string][]string {
	out := make(map[string][]string)
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out[p.Title] = append(out[p.Title], tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// metricRef matches the metric names a query can use: metronome's own and
// the Temporal SDK's.
var metricRef = regexp.MustCompile(`\b(?:metronome|temporal)_[a-zA-Z0-9_]+\b`)

// referencedMetrics returns the metronome_ and temporal_ series names the
// dashboard queries, sorted.
func (d dashboard) referencedMetrics() []string {
	var out []string
	for _, exprs := range d.queries() {
		for _, e := range exprs {
			out = append(out, metricRef.FindAllString(e, -1)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// seriesNames returns the series names a registry exposes: a histogram
// family F as F_bucket, F_sum and F_count, a summary as F, F_sum, F_count.
func seriesNames(t *testing.T, g prometheus.Gatherer) map[string]bool {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	out := make(map[string]bool)
	for _, f := range families {
		name := f.GetName()
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			out[name], out[name+"_sum"], out[name+"_count"] = true, true, true
		default:
			out[name] = true
		}
	}
	return out
}

// pipelineSeries returns the series names of every pipeline metric, each
// recorded once so that its family exists in the registry.
func pipelineSeries(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	p, err := metrics.NewPipeline(reg)
	require.NoError(t, err)
	p.RecordSpotifyCall("artists", 429)
	p.RecordBackoff(time.Second)
	p.RecordCollect("artists", 1)
	p.RecordClean("artists", 1)
	p.RecordReject("artists", "r", 1)
	p.RecordLakeWrite("raw/x", 1)
	p.RecordServingWrites(1)
	p.RecordServingRetries(1)
	p.ObserveStage("collect", time.Second)
	series := seriesNames(t, reg)
	// Guard against this list falling behind the package.
	for _, f := range metrics.Names() {
		require.True(t, series[f] || series[f+"_count"], "pipelineSeries does not record %s", f)
	}
	return series
}

func TestDashboardUsesTheProvisionedDatasource(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "deploy/grafana/provisioning/datasources/prometheus.yml"))
	require.NoError(t, err)
	var prov struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(b, &prov))
	require.Len(t, prov.Datasources, 1)
	ds := prov.Datasources[0]
	assert.Equal(t, "prometheus", ds.Type)
	assert.Equal(t, "http://prometheus:9090", ds.URL, "the compose service and port of Prometheus")

	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" {
				assert.Equal(t, ds.UID, p.Datasource.UID, "panel %q", p.Title)
				require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				assert.Equal(t, ds.UID, tg.Datasource.UID, "panel %q", p.Title)
				assert.NotEmpty(t, tg.Expr, "panel %q", p.Title)
			}
			walk(p.Panels)
		}
	}
	walk(loadDashboard(t).Panels)
}

func TestDashboardIsProvisionedFromItsMount(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "deploy/grafana/provisioning/dashboards/metronome.yml"))
	require.NoError(t, err)
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	require.NoError(t, yaml.Unmarshal(b, &prov))
	require.Len(t, prov.Providers, 1)

	var target string
	for _, v := range loadCompose(t).Services["grafana"].Volumes {
		if m := parseMount(t, v); m.source == "./deploy/grafana/dashboards" {
			target = m.target
		}
	}
	assert.Equal(t, target, prov.Providers[0].Options.Path)
}

func TestDashboardQueriesPipelineMetrics(t *testing.T) {
	d := loadDashboard(t)
	series := pipelineSeries(t)
	refs := d.referencedMetrics()
	for _, m := range refs {
		if strings.HasPrefix(m, "metronome_") {
			assert.True(t, series[m], "the dashboard queries %s, which internal/metrics does not export", m)
		}
	}
	// Every pipeline metric is on the dashboard.
	for _, f := range metrics.Names() {
		assert.True(t, slices.ContainsFunc(refs, func(r string) bool { return strings.HasPrefix(r, f) }),
			"no panel shows %s", f)
	}
	// And the SDK's metrics the issue asks for.
	assert.Contains(t, refs, "temporal_activity_schedule_to_start_latency_seconds_bucket")
	assert.Contains(t, refs, "temporal_activity_execution_failed_total")
}

// flaky fails its first attempt.
func flaky(ctx context.Context) error {
	if activity.GetInfo(ctx).Attempt < 2 {
		return errors.New("first attempt fails")
	}
	return nil
}

// broken fails for good.
func broken(context.Context) error {
	return temporal.NewNonRetryableApplicationError("broken", "Broken", nil)
}

// stage runs flaky, or broken when fail is set.
func stage(ctx workflow.Context, fail bool) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaximumAttempts: 3},
	})
	if fail {
		return workflow.ExecuteActivity(ctx, broken).Get(ctx, nil)
	}
	return workflow.ExecuteActivity(ctx, flaky).Get(ctx, nil)
}

// TestDashboardQueriesTemporalSDKMetrics checks that every temporal_
// series the dashboard queries is one the SDK exports.
func TestDashboardQueriesTemporalSDKMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	var sdk []string
	for _, m := range loadDashboard(t).referencedMetrics() {
		if strings.HasPrefix(m, "temporal_") {
			sdk = append(sdk, m)
		}
	}
	require.NotEmpty(t, sdk)
	series := sdkSeries(t, sdk)
	for _, m := range sdk {
		assert.True(t, series[m], "the dashboard queries %s, which the Temporal SDK did not export", m)
	}
}

// sdkSeries runs a worker with metrics.TemporalHandler against a real
// Temporal server, through an activity failure, a retry, a completed and a
// failed workflow, and returns the series names in its registry once want
// are all there (or after 15 s, when they are not).
func sdkSeries(t *testing.T, want []string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reg := metrics.NewRegistry()
	handler, closer := metrics.TemporalHandler(reg, nil)
	_, c := devservertest.Start(t, devservertest.WithClient(func(o *client.Options) { o.MetricsHandler = handler }))

	const queue = "deploy-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(stage)
	w.RegisterActivity(flaky)
	w.RegisterActivity(broken)
	require.NoError(t, w.Start())
	for i, fail := range []bool{false, true} {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("deploy-test-%d", i), TaskQueue: queue,
		}, stage, fail)
		require.NoError(t, err)
		err = run.Get(ctx, nil)
		assert.Equal(t, fail, err != nil, "workflow %d: %v", i, err)
	}
	// The worker counts a workflow's end when it completes the task, which
	// may be after the client saw the result; counters reach the registry
	// every report interval.
	exported := func() bool {
		series := seriesNames(t, reg)
		for _, m := range want {
			if !series[m] {
				return false
			}
		}
		return true
	}
	assert.Eventually(t, exported, 15*time.Second, 200*time.Millisecond)
	w.Stop()
	require.NoError(t, closer.Close()) // flush counters

	series := seriesNames(t, reg)
	for _, m := range want {
		if !series[m] {
			var have []string
			for s := range series {
				if strings.HasPrefix(s, "temporal_") {
					have = append(have, s)
				}
			}
			slices.Sort(have)
			t.Logf("the SDK exported: %s", strings.Join(have, " "))
			break
		}
	}
	return series
}
