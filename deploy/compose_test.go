package deploy

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"gopkg.in/yaml.v3"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/devserver"
)

// root is the repository root, seen from this package's directory.
const root = ".."

// compose is the part of a Compose file these tests read.
type compose struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

// service is one Compose service. Fields with two syntaxes (short and long)
// are kept raw and normalized by the helpers below.
type service struct {
	Image       string       `yaml:"image"`
	Build       any          `yaml:"build"`
	Environment any          `yaml:"environment"`
	Ports       []any        `yaml:"ports"`
	Volumes     []any        `yaml:"volumes"`
	DependsOn   any          `yaml:"depends_on"`
	Profiles    []string     `yaml:"profiles"`
	Healthcheck *healthcheck `yaml:"healthcheck"`
	Command     any          `yaml:"command"`
	Entrypoint  any          `yaml:"entrypoint"`
}

type healthcheck struct {
	Test    any  `yaml:"test"`
	Disable bool `yaml:"disable"`
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var c compose
	require.NoError(t, yaml.Unmarshal(b, &c), "docker-compose.yml")
	require.NotEmpty(t, c.Services, "docker-compose.yml has no services")
	return c
}

// environment returns a service's environment as a map, from either the
// mapping or the list ("KEY=VALUE") syntax.
func (s service) environment(t *testing.T) map[string]string {
	t.Helper()
	out := make(map[string]string)
	switch env := s.Environment.(type) {
	case nil:
	case map[string]any:
		for k, v := range env {
			if v == nil {
				out[k] = ""
			} else {
				out[k] = fmt.Sprint(v)
			}
		}
	case []any:
		for _, e := range env {
			k, v, _ := strings.Cut(fmt.Sprint(e), "=")
			out[k] = v
		}
	default:
		t.Fatalf("environment of unexpected form %T", env)
	}
	return out
}

// dependencies maps each service s depends on to the condition it waits
// for ("" with the short list syntax).
func (s service) dependencies(t *testing.T) map[string]string {
	t.Helper()
	out := make(map[string]string)
	switch deps := s.DependsOn.(type) {
	case nil:
	case []any:
		for _, d := range deps {
			out[fmt.Sprint(d)] = ""
		}
	case map[string]any:
		for name, v := range deps {
			m, _ := v.(map[string]any)
			cond, _ := m["condition"].(string)
			out[name] = cond
		}
	default:
		t.Fatalf("depends_on of unexpected form %T", deps)
	}
	return out
}

// oneShots are the services that run to completion: those others wait for
// with service_completed_successfully, and the on-demand tools of a profile.
func (c compose) oneShots(t *testing.T) map[string]bool {
	t.Helper()
	out := make(map[string]bool)
	for name, s := range c.Services {
		if len(s.Profiles) > 0 {
			out[name] = true
		}
		for dep, cond := range s.dependencies(t) {
			if cond == "service_completed_successfully" {
				out[dep] = true
			}
		}
	}
	return out
}

func TestComposeImagesArePinned(t *testing.T) {
	for name, s := range loadCompose(t).Services {
		t.Run(name, func(t *testing.T) {
			if s.Build != nil {
				return // built from the Dockerfile, whose bases TestDockerfile checks
			}
			require.NotEmpty(t, s.Image, "neither image nor build")
			assert.NoError(t, pinned(s.Image))
		})
	}
}

// pinned returns an error unless image names a digest or a tag other than
// latest.
func pinned(image string) error {
	if strings.Contains(image, "@sha256:") {
		return nil
	}
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	switch {
	case !ok || tag == "":
		return fmt.Errorf("image %q has no tag", image)
	case tag == "latest":
		return fmt.Errorf("image %q is not pinned: tag latest", image)
	case strings.Contains(tag, "$"):
		return fmt.Errorf("image %q: tag comes from a variable", image)
	}
	return nil
}

func TestPinned(t *testing.T) {
	tests := []struct {
		image string
		ok    bool
	}{
		{"postgres:16.9", true},
		{"quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", true},
		{"localhost:5000/metronome:1.2.3", true},
		{"busybox@sha256:0123", true},
		{"postgres", false},
		{"postgres:latest", false},
		{"localhost:5000/metronome", false},
		{"postgres:${PG_TAG}", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, pinned(tt.image) == nil, tt.image)
	}
}

func TestComposeMetronomeEnvironmentIsConfig(t *testing.T) {
	c := loadCompose(t)
	known := config.EnvNames()
	for _, name := range []string{"worker", "starter"} {
		s, ok := c.Services[name]
		require.True(t, ok, "no service %s", name)
		env := s.environment(t)
		require.NotEmpty(t, env, name)
		for k := range env {
			if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "OTEL_") {
				continue
			}
			_, ok := known[k]
			assert.True(t, ok, "%s: environment variable %s is neither a config key's (config.EnvNames) nor the AWS SDK's or OpenTelemetry's", name, k)
		}
	}
}

func TestComposeWorkerReachesItsBackends(t *testing.T) {
	c := loadCompose(t)
	env := c.Services["worker"].environment(t)
	tests := []struct {
		key, want string
	}{
		{"TEMPORAL_ADDRESS", "temporal:7233"},
		{"METRONOME_LAKE_URL", "s3://metronome-lake"},
		{"METRONOME_SERVING_URL", "dynamodb://metronome"},
		{"AWS_ENDPOINT_URL_S3", "http://minio:9000"},
		{"AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb:8000"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, env[tt.key], tt.key)
	}
	// The one-shots create what the worker opens.
	assert.Contains(t, fmt.Sprint(c.Services["minio-setup"].Command), "lake/metronome-lake")
	assert.Contains(t, fmt.Sprint(c.Services["dynamodb-setup"].Command), "t=metronome\n")
}

func TestComposeWorkerMetricsPortAgrees(t *testing.T) {
	c := loadCompose(t)
	worker := c.Services["worker"]
	_, port, ok := strings.Cut(worker.environment(t)["METRONOME_WORKER_METRICS_ADDR"], ":")
	require.True(t, ok, "worker has no METRONOME_WORKER_METRICS_ADDR host:port")
	require.NotNil(t, worker.Healthcheck)
	assert.Contains(t, fmt.Sprint(worker.Healthcheck.Test), "http://127.0.0.1:"+port+"/readyz")

	b, err := os.ReadFile(filepath.Join(root, "deploy/prometheus/prometheus.yml"))
	require.NoError(t, err)
	var prom struct {
		ScrapeConfigs []struct {
			JobName     string `yaml:"job_name"`
			DNSSDConfig []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(b, &prom))
	var scraped bool
	for _, sc := range prom.ScrapeConfigs {
		for _, d := range sc.DNSSDConfig {
			if slices.Contains(d.Names, "worker") {
				scraped = true
				assert.Equal(t, port, strconv.Itoa(d.Port), "prometheus job %s scrapes another port", sc.JobName)
			}
		}
	}
	assert.True(t, scraped, "prometheus.yml does not scrape the worker")
}

// published returns the host port of one ports entry and whether it
// publishes one.
func published(t *testing.T, p any) (string, bool) {
	t.Helper()
	switch p := p.(type) {
	case string:
		p, _, _ = strings.Cut(p, "/") // protocol
		parts := strings.Split(p, ":")
		if len(parts) == 1 {
			return "", false // container port only: a random host port
		}
		return parts[len(parts)-2], true
	case int:
		return "", false
	case map[string]any:
		if v, ok := p["published"]; ok {
			return fmt.Sprint(v), true
		}
		return "", false
	default:
		t.Fatalf("port of unexpected form %T", p)
		return "", false
	}
}

func TestPublished(t *testing.T) {
	tests := []struct {
		in   any
		want string
		ok   bool
	}{
		{"127.0.0.1:7233:7233", "7233", true},
		{"8080:80", "8080", true},
		{"9000:9000/udp", "9000", true},
		{"9000", "", false},
		{map[string]any{"target": 80, "published": 8081}, "8081", true},
		{map[string]any{"target": 80}, "", false},
	}
	for _, tt := range tests {
		got, ok := published(t, tt.in)
		assert.Equal(t, tt.ok, ok, "%v", tt.in)
		assert.Equal(t, tt.want, got, "%v", tt.in)
	}
}

func TestComposePublishedPortsAreUnique(t *testing.T) {
	c := loadCompose(t)
	owner := make(map[string]string)
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		for _, p := range c.Services[name].Ports {
			port, ok := published(t, p)
			if !ok {
				continue
			}
			if other, taken := owner[port]; taken {
				t.Errorf("host port %s is published by both %s and %s", port, other, name)
			}
			owner[port] = name
		}
	}
	assert.NotEmpty(t, owner, "nothing is published: no UI would be reachable")
}

func TestComposeLongRunningServicesHaveHealthChecks(t *testing.T) {
	c := loadCompose(t)
	oneShots := c.oneShots(t)
	for name, s := range c.Services {
		if oneShots[name] {
			continue
		}
		t.Run(name, func(t *testing.T) {
			require.NotNil(t, s.Healthcheck, "long-running service without health check")
			assert.False(t, s.Healthcheck.Disable)
			assert.NotContains(t, []string{"", "[NONE]"}, fmt.Sprint(s.Healthcheck.Test))
		})
	}
}

func TestComposeDependenciesWaitForTheRightCondition(t *testing.T) {
	c := loadCompose(t)
	oneShots := c.oneShots(t)
	for name, s := range c.Services {
		for dep, cond := range s.dependencies(t) {
			_, exists := c.Services[dep]
			require.True(t, exists, "%s depends on unknown service %s", name, dep)
			want := "service_healthy"
			if oneShots[dep] {
				want = "service_completed_successfully"
			}
			assert.Equal(t, want, cond, "%s waits for %s", name, dep)
		}
	}
	// The worker needs every backend ready: Temporal with its namespace,
	// the bucket and the table.
	deps := slices.Sorted(maps.Keys(c.Services["worker"].dependencies(t)))
	assert.Equal(t, []string{"dynamodb-setup", "minio-setup", "temporal", "temporal-setup"}, deps)
}

// mount is one volumes entry of a service.
type mount struct {
	kind, source, target string
	readOnly             bool
}

func parseMount(t *testing.T, v any) mount {
	t.Helper()
	switch v := v.(type) {
	case string:
		parts := strings.Split(v, ":")
		if len(parts) == 1 {
			return mount{kind: "volume", target: parts[0]} // anonymous
		}
		m := mount{source: parts[0], target: parts[1]}
		m.readOnly = len(parts) > 2 && slices.Contains(strings.Split(parts[2], ","), "ro")
		m.kind = "volume"
		if strings.HasPrefix(m.source, ".") || strings.HasPrefix(m.source, "/") || strings.HasPrefix(m.source, "~") {
			m.kind = "bind"
		}
		return m
	case map[string]any:
		m := mount{kind: fmt.Sprint(v["type"]), target: fmt.Sprint(v["target"])}
		if s, ok := v["source"]; ok {
			m.source = fmt.Sprint(s)
		}
		m.readOnly, _ = v["read_only"].(bool)
		return m
	default:
		t.Fatalf("volume of unexpected form %T", v)
		return mount{}
	}
}

func TestComposeVolumes(t *testing.T) {
	c := loadCompose(t)
	used := make(map[string]bool)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			m := parseMount(t, v)
			switch m.kind {
			case "volume":
				if assert.NotEmpty(t, m.source, "%s: anonymous volume at %s does not survive `down`", name, m.target) {
					_, declared := c.Volumes[m.source]
					assert.True(t, declared, "%s: volume %s is not declared at the top level", name, m.source)
					used[m.source] = true
				}
			case "bind":
				assert.True(t, strings.HasPrefix(m.source, "./deploy/"), "%s: bind mount %s outside ./deploy", name, m.source)
				assert.True(t, m.readOnly, "%s: bind mount %s is not read-only", name, m.source)
				_, err := os.Stat(filepath.Join(root, m.source))
				assert.NoError(t, err, "%s: bind mount source", name)
			default:
				t.Errorf("%s: volume of type %s at %s", name, m.kind, m.target)
			}
		}
	}
	for v := range c.Volumes {
		assert.True(t, used[v], "volume %s is declared but unused", v)
	}
}

func TestComposeRegistersTheSearchAttributesRunsSet(t *testing.T) {
	cliType := map[enumspb.IndexedValueType]string{
		enumspb.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
		enumspb.INDEXED_VALUE_TYPE_INT:      "Int",
		enumspb.INDEXED_VALUE_TYPE_KEYWORD:  "Keyword",
		enumspb.INDEXED_VALUE_TYPE_TEXT:     "Text",
		enumspb.INDEXED_VALUE_TYPE_BOOL:     "Bool",
		enumspb.INDEXED_VALUE_TYPE_DOUBLE:   "Double",
	}
	setup := fmt.Sprint(loadCompose(t).Services["temporal-setup"].Command)
	for name, typ := range devserver.DefaultSearchAttributes {
		want := fmt.Sprintf("--name %s --type %s", name, cliType[typ])
		assert.Contains(t, setup, want)
	}
}

func TestComposeCommandsExistInTheImage(t *testing.T) {
	c := loadCompose(t)
	assert.Equal(t, []any{"/usr/local/bin/worker"}, c.Services["worker"].Command)
	assert.Equal(t, []any{"/usr/local/bin/starter"}, c.Services["starter"].Entrypoint)
	assert.Equal(t, []string{"tools"}, c.Services["starter"].Profiles)

	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	dockerfile := string(b)
	for _, bin := range []string{"worker", "starter", "healthcheck"} {
		assert.Regexp(t, `(?m)^COPY --from=build .*/out/`+bin+`\b.* /usr/local/bin/$`, dockerfile)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	dockerfile := string(b)

	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(dockerfile, -1)
	require.Len(t, froms, 2, "a build stage and a final stage")
	for _, f := range froms {
		assert.NoError(t, pinned(f[1]))
	}
	assert.Regexp(t, `^golang:[0-9.]+-bookworm$`, froms[0][1], "build on glibc (bookworm), as the distroless/cc base")
	assert.Equal(t, "gcr.io/distroless/cc-debian12:nonroot", froms[1][1])
	assert.Regexp(t, `(?m)^USER nonroot`, dockerfile)
	assert.Contains(t, dockerfile, "CGO_ENABLED=1")
	assert.Contains(t, dockerfile, "-X github.com/metronome-data/metronome/activities.Version=${VERSION}")
	assert.Contains(t, dockerfile, "-o /out/worker ./worker")
	assert.Contains(t, dockerfile, "-o /out/starter ./starter")
	assert.Contains(t, dockerfile, "-o /out/healthcheck ./deploy/healthcheck")

	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	lines := strings.Split(string(ignore), "\n")
	assert.Contains(t, lines, ".env", "credentials must not reach the build context")
	assert.Contains(t, lines, ".git")
}

func TestEnvExampleHasOnlyKnownVariables(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, ".env.example"))
	require.NoError(t, err)
	compose, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		require.True(t, ok, "line %q is not NAME=VALUE", line)
		names = append(names, name)
		if strings.HasPrefix(name, "COMPOSE_") {
			continue // docker compose's own settings
		}
		// docker compose reads .env only for ${NAME} in docker-compose.yml.
		assert.Contains(t, string(compose), "${"+name, "%s in .env.example is not used by docker-compose.yml", name)
	}
	assert.Subset(t, names, []string{"SPOTIFY_ID", "SPOTIFY_SECRET"})
}
