package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/metronome-data/metronome/internal/contract"
)

// DefaultFile is read when present and no --config is given.
const DefaultFile = "config/metronome.yaml"

// key is one configuration key: its default and the environment variables
// that set it, highest precedence first.
type key struct {
	name string
	def  any
	env  []string
}

// keys lists every configuration key. Defaults that derive from data_dir
// (lake.url, serving.url) are empty here and filled in by resolve.
var keys = []key{
	{"data_dir", "data", []string{"METRONOME_DATA_DIR"}},
	{"log.level", "info", []string{"METRONOME_LOG_LEVEL"}},
	{"log.format", "", []string{"METRONOME_LOG_FORMAT"}},
	// The connection keys start from Temporal's client configuration (a
	// temporal.toml profile, then the TEMPORAL_* variables: temporal.go).
	{"temporal.address", "127.0.0.1:7233", []string{"METRONOME_TEMPORAL_ADDRESS"}},
	{"temporal.namespace", "default", []string{"METRONOME_TEMPORAL_NAMESPACE"}},
	{"temporal.ui_port", 8233, []string{"METRONOME_TEMPORAL_UI_PORT"}},
	{"temporal.ui_url", "", []string{"METRONOME_TEMPORAL_UI_URL"}},
	{"temporal.task_queue", "metronome", []string{"METRONOME_TEMPORAL_TASK_QUEUE"}},
	{"temporal.spotify_task_queue", contract.DefaultSpotifyTaskQueue, []string{"METRONOME_TEMPORAL_SPOTIFY_TASK_QUEUE"}},
	{"temporal.api_key", "", []string{"METRONOME_TEMPORAL_API_KEY"}},
	{"temporal.authority", "", []string{"METRONOME_TEMPORAL_AUTHORITY"}},
	{"temporal.tls.enabled", false, []string{"METRONOME_TEMPORAL_TLS_ENABLED"}},
	{"temporal.tls.disabled", false, []string{"METRONOME_TEMPORAL_TLS_DISABLED"}},
	{"temporal.tls.cert_file", "", []string{"METRONOME_TEMPORAL_TLS_CERT_FILE"}},
	{"temporal.tls.cert_data", "", []string{"METRONOME_TEMPORAL_TLS_CERT_DATA"}},
	{"temporal.tls.key_file", "", []string{"METRONOME_TEMPORAL_TLS_KEY_FILE"}},
	{"temporal.tls.key_data", "", []string{"METRONOME_TEMPORAL_TLS_KEY_DATA"}},
	{"temporal.tls.ca_file", "", []string{"METRONOME_TEMPORAL_TLS_CA_FILE"}},
	{"temporal.tls.ca_data", "", []string{"METRONOME_TEMPORAL_TLS_CA_DATA"}},
	{"temporal.tls.server_name", "", []string{"METRONOME_TEMPORAL_TLS_SERVER_NAME"}},
	{"temporal.tls.disable_host_verification", false, []string{"METRONOME_TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"}},
	{"temporal.codec.endpoint", "", []string{"METRONOME_TEMPORAL_CODEC_ENDPOINT"}},
	{"temporal.codec.auth", "", []string{"METRONOME_TEMPORAL_CODEC_AUTH"}},
	{"spotify.client_id", "", []string{"SPOTIFY_ID", "METRONOME_SPOTIFY_CLIENT_ID"}},
	{"spotify.client_secret", "", []string{"SPOTIFY_SECRET", "METRONOME_SPOTIFY_CLIENT_SECRET"}},
	{"spotify.base_url", "https://api.spotify.com/v1/", []string{"METRONOME_SPOTIFY_BASE_URL"}},
	{"spotify.token_url", "https://accounts.spotify.com/api/token", []string{"METRONOME_SPOTIFY_TOKEN_URL"}},
	{"spotify.market", "US", []string{"METRONOME_SPOTIFY_MARKET"}},
	{"spotify.api_mode", "auto", []string{"METRONOME_SPOTIFY_API_MODE"}},
	// Spotify does not publish its limit; about 3 requests/s over the
	// rolling 30 s window stays clear of 429s for a single app.
	{"spotify.requests_per_second", 3.0, []string{"METRONOME_SPOTIFY_REQUESTS_PER_SECOND"}},
	{"spotify.timeout", "10s", []string{"METRONOME_SPOTIFY_TIMEOUT"}},
	{"spotify.quota_wait", "1h", []string{"METRONOME_SPOTIFY_QUOTA_WAIT"}},
	{"spotify.fake.enabled", nil, []string{"METRONOME_SPOTIFY_FAKE"}},
	{"spotify.fake.artists", 200, []string{"METRONOME_SPOTIFY_FAKE_ARTISTS"}},
	{"spotify.fake.mode", "extended", []string{"METRONOME_SPOTIFY_FAKE_MODE"}},
	{"spotify.fake.latency", "0s", []string{"METRONOME_SPOTIFY_FAKE_LATENCY"}},
	{"spotify.fake.seed", 1, []string{"METRONOME_SPOTIFY_FAKE_SEED"}},
	{"artists.seeds", []string{}, []string{"METRONOME_ARTISTS_SEEDS"}},
	{"artists.file", "", []string{"METRONOME_ARTISTS_FILE"}},
	{"pipeline.batch_size", 50, []string{"METRONOME_PIPELINE_BATCH_SIZE"}},
	{"pipeline.parallelism", contract.DefaultParallelism, []string{"METRONOME_PIPELINE_PARALLELISM"}},
	{"pipeline.max_reject_rate", 0.2, []string{"METRONOME_PIPELINE_MAX_REJECT_RATE"}},
	{"pipeline.capture_grace", "24h", []string{"METRONOME_PIPELINE_CAPTURE_GRACE"}},
	{"lake.url", "", []string{"METRONOME_LAKE_URL"}},
	{"serving.url", "", []string{"METRONOME_SERVING_URL"}},
	{"analytics.engine", "duckdb", []string{"METRONOME_ANALYTICS_ENGINE"}},
	{"analytics.memory_limit", "512MB", []string{"METRONOME_ANALYTICS_MEMORY_LIMIT"}},
	{"analytics.athena.database", "metronome", []string{"METRONOME_ANALYTICS_ATHENA_DATABASE"}},
	{"analytics.athena.workgroup", "primary", []string{"METRONOME_ANALYTICS_ATHENA_WORKGROUP"}},
	{"analytics.athena.output_location", "", []string{"METRONOME_ANALYTICS_ATHENA_OUTPUT_LOCATION"}},
	{"worker.metrics_addr", "127.0.0.1:9090", []string{"METRONOME_WORKER_METRICS_ADDR"}},
	{"worker.max_concurrent_activities", 8, []string{"METRONOME_WORKER_MAX_CONCURRENT_ACTIVITIES"}},
	{"worker.go_memory_limit", "", []string{"METRONOME_WORKER_GO_MEMORY_LIMIT"}},
	{"serve.addr", "127.0.0.1:8088", []string{"METRONOME_SERVE_ADDR"}},
	{"slack.signing_secret", "", []string{"SLACK_SIGNING_SECRET"}},
	{"slack.bot_token", "", []string{"SLACK_BOT_TOKEN"}},
	{"api.token", "", []string{"METRONOME_API_TOKEN"}},
	{"api.callback_hosts", []string{}, []string{"METRONOME_API_CALLBACK_HOSTS"}},
	{"api.callback_allow_loopback", false, []string{"METRONOME_API_CALLBACK_ALLOW_LOOPBACK"}},
	{"codec.keys", "", []string{"METRONOME_CODEC_KEYS"}},
	{"codec.active_key", "", []string{"METRONOME_CODEC_ACTIVE_KEY"}},
	{"codec.addr", "127.0.0.1:8081", []string{"METRONOME_CODEC_ADDR"}},
	{"codec.cors_origins", []string{}, []string{"METRONOME_CODEC_CORS_ORIGINS"}},
	// OpenLineage's own client variables first.
	{"lineage.url", "", []string{"OPENLINEAGE_URL", "METRONOME_LINEAGE_URL"}},
	{"lineage.namespace", "metronome", []string{"OPENLINEAGE_NAMESPACE", "METRONOME_LINEAGE_NAMESPACE"}},
	{"lineage.api_key", "", []string{"OPENLINEAGE_API_KEY", "METRONOME_LINEAGE_API_KEY"}},
	{"lineage.timeout", "5s", []string{"METRONOME_LINEAGE_TIMEOUT"}},
}

// EnvNames maps every environment variable metronome reads to its key,
// Temporal's client configuration and its deprecated names included
// (TEMPORAL_GRPC_META_<NAME> variables aside).
func EnvNames() map[string]string {
	out := make(map[string]string)
	for _, k := range keys {
		for _, e := range k.env {
			out[e] = k.name
		}
	}
	for e, key := range temporalEnv {
		out[e] = key
	}
	for _, d := range deprecatedTemporalEnv {
		out[d.name] = d.key
	}
	return out
}

// Keys returns every configuration key name, sorted.
func Keys() []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.name)
	}
	sort.Strings(out)
	return out
}

// Loader collects the sources of a Config before it is loaded.
type Loader struct {
	v    *viper.Viper
	file string
}

// NewLoader returns a Loader with defaults and environment bindings in place.
func NewLoader() *Loader {
	v := viper.New()
	for _, k := range keys {
		if k.def != nil {
			v.SetDefault(k.name, k.def)
		}
		args := append([]string{k.name}, k.env...)
		// BindEnv only errors without arguments; args always has the key.
		_ = v.BindEnv(args...)
	}
	return &Loader{v: v}
}

// SetFile makes the loader read file instead of DefaultFile; the file must
// exist.
func (l *Loader) SetFile(file string) { l.file = file }

// BindFlag makes a command-line flag, when it was set, override key.
func (l *Loader) BindFlag(key string, flag *pflag.Flag) error {
	if flag == nil {
		return fmt.Errorf("bind flag for %q: no such flag", key)
	}
	return l.v.BindPFlag(key, flag)
}

// Set overrides key with value at the highest precedence; commands use it
// for values they compute (such as a free port).
func (l *Loader) Set(key string, value any) { l.v.Set(key, value) }

// Load reads the configuration file, merges every source and validates the
// result. A *ValidationError reports the first bad key.
func (l *Loader) Load() (*Config, error) {
	file, explicit := l.file, l.file != ""
	if !explicit {
		file = DefaultFile
	}
	if _, err := os.Stat(file); err == nil {
		l.v.SetConfigFile(file)
		if err := l.v.ReadInConfig(); err != nil {
			return nil, &ValidationError{Key: "--config", Value: file, Allowed: "a readable YAML file", Err: err}
		}
	} else if explicit {
		return nil, &ValidationError{Key: "--config", Value: file, Allowed: "an existing YAML file", Err: err}
	}
	deprecated, err := applyTemporal(l.v)
	if err != nil {
		return nil, err
	}

	var cfg Config
	if err := l.v.Unmarshal(&cfg); err != nil {
		return nil, decodeError(err)
	}
	cfg.Temporal.Deprecated = deprecated
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Load is a shortcut for NewLoader().Load() with an optional file.
func Load(file string) (*Config, error) {
	l := NewLoader()
	l.SetFile(file)
	return l.Load()
}

// resolve fills the defaults that derive from other keys.
func (c *Config) resolve() error {
	if c.Lake.URL == "" {
		c.Lake.URL = "file://" + filepath.ToSlash(filepath.Join(c.DataDir, "lake"))
	}
	if c.Serving.URL == "" {
		c.Serving.URL = "sqlite://" + filepath.ToSlash(filepath.Join(c.DataDir, "serving.db"))
	}
	// Environment lists arrive comma-separated, with spaces and blanks.
	var seeds []string
	for _, s := range c.Artists.Seeds {
		for _, part := range strings.Split(s, ",") {
			if p := strings.TrimSpace(part); p != "" {
				seeds = append(seeds, p)
			}
		}
	}
	c.Artists.Seeds = seeds
	var origins []string
	for _, s := range c.Codec.CORSOrigins {
		for _, part := range strings.Split(s, ",") {
			if p := strings.TrimSpace(part); p != "" {
				origins = append(origins, p)
			}
		}
	}
	c.Codec.CORSOrigins = origins
	c.API.CallbackHosts = splitList(c.API.CallbackHosts)
	return c.Temporal.resolve()
}

// splitList flattens a list whose entries may be comma-separated (as
// environment lists arrive), dropping spaces and blanks.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, part := range strings.Split(s, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// decodeError turns mapstructure's decoding error, which reads like
// `'spotify.timeout' time: invalid duration "abc"`, into a ValidationError
// naming the key.
func decodeError(err error) error {
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if !strings.HasPrefix(line, "'") {
			continue
		}
		if end := strings.Index(line[1:], "'"); end >= 0 {
			return &ValidationError{Key: line[1 : 1+end], Value: strings.TrimSpace(line[2+end:]), Allowed: "a value of the key's type (duration like 30s, number, true/false)"}
		}
	}
	return fmt.Errorf("decode configuration: %w", err)
}
