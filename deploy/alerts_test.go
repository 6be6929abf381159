package deploy

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const (
	alertRulesFile = "deploy/prometheus/alerts.yml"
	alertTestsFile = "deploy/prometheus/alerts_test.yml"
)

// ruleGroups is the part of a Prometheus rules file these tests read.
type ruleGroups struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string `yaml:"alert"`
			Record string `yaml:"record"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadAlertRules(t *testing.T) ruleGroups {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, alertRulesFile))
	require.NoError(t, err)
	var g ruleGroups
	require.NoError(t, yaml.Unmarshal(b, &g), alertRulesFile)
	return g
}

func (g ruleGroups) alerts() []string {
	var out []string
	for _, group := range g.Groups {
		for _, r := range group.Rules {
			if r.Alert != "" {
				out = append(out, r.Alert)
			}
		}
	}
	return out
}

// referencedMetrics returns the metronome_ and temporal_ series the rules
// query, sorted.
func (g ruleGroups) referencedMetrics() []string {
	var out []string
	for _, group := range g.Groups {
		for _, r := range group.Rules {
			out = append(out, metricRef.FindAllString(r.Expr, -1)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// promtool finds promtool (Debian's package prometheus). Without it the
// test is skipped on a developer's machine but fails in CI, where .ci/run
// installs it.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("promtool not found (%v) and CI is set: install it (apt-get install -y prometheus), as .ci/run does", err)
	}
	t.Skip("promtool not found: apt-get install -y prometheus to test the alert rules")
	return ""
}

// The rules parse, and each fires on the synthetic series of its tests
// where it should and stays quiet where it should not.
func TestAlertRules(t *testing.T) {
	bin := promtool(t)
	dir := filepath.Join(root, "deploy/prometheus")
	for _, args := range [][]string{
		{"check", "rules", path.Base(alertRulesFile)},
		{"test", "rules", path.Base(alertTestsFile)},
		{"check", "config", "prometheus.yml"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// alertTests is the part of a promtool test file these tests read.
type alertTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// Every alert has a test where it fires and one where it must not.
func TestEveryAlertIsTestedBothWays(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, alertTestsFile))
	require.NoError(t, err)
	var tests alertTests
	require.NoError(t, yaml.Unmarshal(b, &tests), alertTestsFile)
	assert.Equal(t, []string{path.Base(alertRulesFile)}, tests.RuleFiles)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tt := range tests.Tests {
		for _, at := range tt.AlertRuleTest {
			if len(at.ExpAlerts) > 0 {
				fires[at.Alertname] = true
			} else {
				quiet[at.Alertname] = true
			}
		}
	}
	alerts := loadAlertRules(t).alerts()
	require.Len(t, alerts, 5, "run failed, no partition for yesterday, quota wait, no worker polling, reject share")
	for _, a := range alerts {
		assert.True(t, fires[a], "no test of %s where it fires", a)
		assert.True(t, quiet[a], "no test of %s where it stays quiet", a)
	}
}

// The rules query only series the worker exports: metronome's own, and
// the Temporal SDK's as a real worker exported them.
func TestAlertRulesQueryExportedMetrics(t *testing.T) {
	refs := loadAlertRules(t).referencedMetrics()
	pipeline := pipelineSeries(t)
	var sdk []string
	for _, m := range refs {
		switch {
		case strings.HasPrefix(m, "metronome_"):
			assert.True(t, pipeline[m], "the alert rules query %s, which internal/metrics does not export", m)
		case strings.HasPrefix(m, "temporal_"):
			sdk = append(sdk, m)
		}
	}
	require.NotEmpty(t, sdk)
	if testing.Short() {
		t.Skip("the SDK's series need a Temporal server")
	}
	series := sdkSeries(t, sdk)
	for _, m := range sdk {
		assert.True(t, series[m], "the alert rules query %s, which the Temporal SDK did not export", m)
	}
}

// The compose Prometheus loads the rules: prometheus.yml names them and
// the service mounts them beside it.
func TestComposePrometheusLoadsTheAlertRules(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "deploy/prometheus/prometheus.yml"))
	require.NoError(t, err)
	var cfg struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	require.NoError(t, yaml.Unmarshal(b, &cfg))
	require.Equal(t, []string{path.Base(alertRulesFile)}, cfg.RuleFiles)

	mounts := map[string]string{}
	for _, v := range loadCompose(t).Services["prometheus"].Volumes {
		m := parseMount(t, v)
		mounts[m.source] = m.target
	}
	config := mounts["./deploy/prometheus/prometheus.yml"]
	require.NotEmpty(t, config, "prometheus.yml is not mounted")
	assert.Equal(t, path.Join(path.Dir(config), cfg.RuleFiles[0]), mounts["./"+alertRulesFile],
		"alerts.yml is not mounted where prometheus.yml looks for it")
}
