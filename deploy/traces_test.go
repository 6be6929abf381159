package deploy

import (
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// composeDefault is the value docker compose gives ${NAME-default} or
// ${NAME:-default} when NAME is unset; any other value is itself.
func composeDefault(v string) string {
	if m := regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*:?-(.*)\}$`).FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return v
}

// The worker and the starter send their traces to the compose stack's
// Jaeger over OTLP/HTTP, on the port Jaeger's image serves it on.
func TestComposeTracesGoToJaeger(t *testing.T) {
	c := loadCompose(t)
	jaeger, ok := c.Services["jaeger"]
	require.True(t, ok, "no jaeger service")
	require.Regexp(t, `^jaegertracing/jaeger:2\.`, jaeger.Image, "Jaeger v2's all-in-one image")
	for _, name := range []string{"worker", "starter"} {
		env := c.Services[name].environment(t)
		assert.Equal(t, "http/protobuf", env["OTEL_EXPORTER_OTLP_PROTOCOL"], name)
		endpoint, err := url.Parse(composeDefault(env["OTEL_EXPORTER_OTLP_ENDPOINT"]))
		require.NoError(t, err, name)
		assert.Equal(t, "jaeger:4318", endpoint.Host, "%s: OTEL_EXPORTER_OTLP_ENDPOINT", name)
		_, waits := c.Services[name].dependencies(t)["jaeger"]
		assert.False(t, waits, "%s waits for its trace backend: it must run without one", name)
	}
}

func TestComposeDefault(t *testing.T) {
	tests := []struct{ in, want string }{
		{"${OTEL_EXPORTER_OTLP_ENDPOINT-http://jaeger:4318}", "http://jaeger:4318"},
		{"${X:-a}", "a"},
		{"http://jaeger:4318", "http://jaeger:4318"},
		{"${X}", "${X}"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, composeDefault(tt.in), tt.in)
	}
}
