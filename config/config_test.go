package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

// clearEnv unsets every variable metronome reads, for the test's duration.
func clearEnv(t *testing.T) {
	for name := range EnvNames() {
		if v, ok := os.LookupEnv(name); ok {
			os.Unsetenv(name)
			t.Cleanup(func() { os.Setenv(name, v) })
		}
	}
}

func writeFile(t *testing.T, body string) string {
	path := filepath.Join(t.TempDir(), "metronome.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir()) // no config/metronome.yaml here
	cfg, err := Load("")
	require.NoError(t, err)
	require.Equal(t, "data", cfg.DataDir)
	require.Equal(t, "127.0.0.1:7233", cfg.Temporal.Address)
	require.Equal(t, "default", cfg.Temporal.Namespace)
	require.Equal(t, 8233, cfg.Temporal.UIPort)
	require.Equal(t, "metronome", cfg.Temporal.TaskQueue)
	require.Equal(t, "file://data/lake", cfg.Lake.URL)
	require.Equal(t, "sqlite://data/serving.db", cfg.Serving.URL)
	require.Equal(t, "duckdb", cfg.Analytics.Engine)
	require.Equal(t, "auto", cfg.Spotify.APIMode)
	require.Equal(t, "US", cfg.Spotify.Market)
	require.Equal(t, 200, cfg.Spotify.Fake.Artists)
	require.Equal(t, 10*time.Second, cfg.Spotify.Timeout)
	require.Equal(t, time.Hour, cfg.Spotify.QuotaWait)
	require.Nil(t, cfg.Spotify.Fake.Enabled)
	require.True(t, cfg.FakeEnabled(true))
	require.False(t, cfg.FakeEnabled(false))
	require.Equal(t, "127.0.0.1:9090", cfg.Worker.MetricsAddr)
	require.Equal(t, "127.0.0.1:8088", cfg.Serve.Addr)
}

// The documented default file must say what the binaries do without it.
func TestDocumentedFileMatchesDefaults(t *testing.T) {
	clearEnv(t)
	fromFile, err := Load(filepath.Join("metronome.yaml"))
	require.NoError(t, err)
	t.Chdir(t.TempDir())
	builtIn, err := Load("")
	require.NoError(t, err)
	require.Equal(t, builtIn, fromFile)
}

func TestPrecedence(t *testing.T) {
	clearEnv(t)
	file := writeFile(t, "data_dir: /from/file\ntemporal:\n  namespace: file-ns\n  task_queue: file-q\nspotify:\n  market: DE\n")
	t.Setenv("TEMPORAL_NAMESPACE", "env-ns")
	t.Setenv("METRONOME_TEMPORAL_TASK_QUEUE", "env-q")
	t.Setenv("SPOTIFY_ID", "id-from-env")
	t.Setenv("METRONOME_SPOTIFY_FAKE", "true")

	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags.String("task-queue", "flag-default", "")
	require.NoError(t, flags.Parse([]string{"--task-queue", "flag-q"}))

	l := NewLoader()
	l.SetFile(file)
	require.NoError(t, l.BindFlag("temporal.task_queue", flags.Lookup("task-queue")))
	cfg, err := l.Load()
	require.NoError(t, err)

	require.Equal(t, "/from/file", cfg.DataDir, "file over default")
	require.Equal(t, "file:///from/file/lake", cfg.Lake.URL, "lake.url derives from data_dir")
	require.Equal(t, "DE", cfg.Spotify.Market, "file over default")
	require.Equal(t, "env-ns", cfg.Temporal.Namespace, "env over file")
	require.Equal(t, "flag-q", cfg.Temporal.TaskQueue, "flag over env")
	require.Equal(t, "id-from-env", cfg.Spotify.ClientID, "ecosystem variable")
	require.True(t, cfg.FakeEnabled(false))
}

func TestUnsetFlagDoesNotOverride(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags.Int("ui-port", 8233, "")
	require.NoError(t, flags.Parse(nil))
	t.Setenv("METRONOME_TEMPORAL_UI_PORT", "9999")
	l := NewLoader()
	require.NoError(t, l.BindFlag("temporal.ui_port", flags.Lookup("ui-port")))
	cfg, err := l.Load()
	require.NoError(t, err)
	require.Equal(t, 9999, cfg.Temporal.UIPort)
}

func TestValidationNamesKeyAndValue(t *testing.T) {
	tests := []struct {
		env, value, key string
	}{
		{"METRONOME_LAKE_URL", "ftp://host/lake", "lake.url"},
		{"METRONOME_SERVING_URL", "postgres://db", "serving.url"},
		{"METRONOME_ANALYTICS_ENGINE", "spark", "analytics.engine"},
		{"METRONOME_SPOTIFY_API_MODE", "turbo", "spotify.api_mode"},
		{"METRONOME_SPOTIFY_TIMEOUT", "ten seconds", "spotify.timeout"},
		{"METRONOME_SPOTIFY_QUOTA_WAIT", "0s", "spotify.quota_wait"},
		{"METRONOME_SPOTIFY_QUOTA_WAIT", "7h", "spotify.quota_wait"},
		{"METRONOME_SPOTIFY_QUOTA_WAIT", "an hour", "spotify.quota_wait"},
		{"METRONOME_SPOTIFY_FAKE_LATENCY", "-1s", "spotify.fake.latency"},
		{"METRONOME_SPOTIFY_FAKE_ARTISTS", "5", "spotify.fake.artists"},
		{"METRONOME_SPOTIFY_MARKET", "usa", "spotify.market"},
		{"METRONOME_SPOTIFY_BASE_URL", "api.spotify.com", "spotify.base_url"},
		{"METRONOME_TEMPORAL_TASK_QUEUE", " ", "temporal.task_queue"},
		{"TEMPORAL_ADDRESS", "localhost", "temporal.address"},
		{"METRONOME_TEMPORAL_UI_PORT", "70000", "temporal.ui_port"},
		{"METRONOME_TEMPORAL_UI_PORT", "eighty", "temporal.ui_port"},
		{"METRONOME_PIPELINE_BATCH_SIZE", "51", "pipeline.batch_size"},
		{"METRONOME_PIPELINE_MAX_REJECT_RATE", "2", "pipeline.max_reject_rate"},
		{"METRONOME_SERVE_ADDR", "8088", "serve.addr"},
		{"METRONOME_LOG_LEVEL", "loud", "log.level"},
		{"METRONOME_CODEC_KEYS", "k1=c2hvcnQ=", "codec.keys"},
		{"METRONOME_CODEC_ACTIVE_KEY", "k9", "codec.keys"},
		{"METRONOME_CODEC_ADDR", "8081", "codec.addr"},
		{"METRONOME_API_CALLBACK_HOSTS", "https://hooks.example.com", "api.callback_hosts"},
		{"METRONOME_API_CALLBACK_HOSTS", "hooks.example.com:443", "api.callback_hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			clearEnv(t)
			t.Chdir(t.TempDir())
			t.Setenv(tt.env, tt.value)
			_, err := Load("")
			var vErr *ValidationError
			require.True(t, errors.As(err, &vErr), "want a ValidationError, got %v", err)
			require.Equal(t, tt.key, vErr.Key)
			require.Contains(t, err.Error(), tt.key)
			require.Contains(t, err.Error(), "want ")
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	clearEnv(t)
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var vErr *ValidationError
	require.True(t, errors.As(err, &vErr))
	require.Equal(t, "--config", vErr.Key)
}

func TestSeedsFromEnvList(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv("METRONOME_ARTISTS_SEEDS", "Daft Punk, Air ,,Justice")
	cfg, err := Load("")
	require.NoError(t, err)
	require.Equal(t, []string{"Daft Punk", "Air", "Justice"}, cfg.Artists.Seeds)
}

func TestCallbackHostsFromEnvList(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	cfg, err := Load("")
	require.NoError(t, err)
	require.Empty(t, cfg.API.CallbackHosts, "callbacks are refused by default")
	require.False(t, cfg.API.CallbackAllowLoopback)
	t.Setenv("METRONOME_API_CALLBACK_HOSTS", "hooks.example.com, ::1 ,,bot.example.org")
	t.Setenv("METRONOME_API_CALLBACK_ALLOW_LOOPBACK", "true")
	cfg, err = Load("")
	require.NoError(t, err)
	require.Equal(t, []string{"hooks.example.com", "::1", "bot.example.org"}, cfg.API.CallbackHosts)
	require.True(t, cfg.API.CallbackAllowLoopback)
}
