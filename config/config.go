// Package config loads metronome's one typed Config with viper, from (lowest
// to highest) defaults, config/metronome.yaml or --config FILE, environment
// variables and command-line flags, and validates it at start-up. The
// Temporal connection keys start from Temporal's own client configuration
// (temporal.go).
package config

import (
	"time"
)

// Config is the whole configuration of workers and the starter.
type Config struct {
	// DataDir is the root of every embedded default (lake, serving store,
	// Temporal database).
	DataDir   string          `mapstructure:"data_dir"`
	Log       LogConfig       `mapstructure:"log"`
	Temporal  TemporalConfig  `mapstructure:"temporal"`
	Spotify   SpotifyConfig   `mapstructure:"spotify"`
	Artists   ArtistsConfig   `mapstructure:"artists"`
	Pipeline  PipelineConfig  `mapstructure:"pipeline"`
	Lake      LakeConfig      `mapstructure:"lake"`
	Serving   ServingConfig   `mapstructure:"serving"`
	Analytics AnalyticsConfig `mapstructure:"analytics"`
	Worker    WorkerConfig    `mapstructure:"worker"`
	Serve     ServeConfig     `mapstructure:"serve"`
	Slack     SlackConfig     `mapstructure:"slack"`
	API       APIConfig       `mapstructure:"api"`
	Codec     CodecConfig     `mapstructure:"codec"`
	Lineage   LineageConfig   `mapstructure:"lineage"`
}

// LineageConfig sends OpenLineage run events of every stage to a backend
// such as Marquez (docs/OPERATIONS.md, "Lineage"); off without a URL.
type LineageConfig struct {
	// URL is the backend's base URL; events go to <url>/api/v1/lineage.
	URL string `mapstructure:"url"`
	// Namespace is the namespace of metronome's jobs.
	Namespace string `mapstructure:"namespace"`
	// APIKey is sent as Authorization: Bearer <key>.
	APIKey string `mapstructure:"api_key"`
	// Timeout bounds each post: a backend that is down never fails a
	// stage, and delays it by at most this.
	Timeout time.Duration `mapstructure:"timeout"`
}

// LogConfig selects the zap logger.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // console or json; empty picks per command
}

// TemporalConfig says where the Temporal frontend is and how to reach it.
// The connection keys start from Temporal's client configuration: a
// temporal.toml profile and the TEMPORAL_* variables (temporal.go).
type TemporalConfig struct {
	Address   string `mapstructure:"address"`
	Namespace string `mapstructure:"namespace"`
	UIPort    int    `mapstructure:"ui_port"`
	// UIURL is the base URL of the Temporal Web UI that run links point
	// at; empty: the UI `starter dev` records in data_dir when it serves
	// Address, else Address's host on UIPort.
	UIURL     string `mapstructure:"ui_url"`
	TaskQueue string `mapstructure:"task_queue"`
	// SpotifyTaskQueue carries every activity that calls Spotify, so one
	// rate cap holds for all workers together.
	SpotifyTaskQueue string    `mapstructure:"spotify_task_queue"`
	APIKey           string    `mapstructure:"api_key"`
	TLS              TLSConfig `mapstructure:"tls"`
	// Authority overrides the :authority header of every call, for a
	// frontend behind a proxy that routes on it.
	Authority string `mapstructure:"authority"`
	// GRPCMeta are headers sent with every call to Temporal.
	GRPCMeta map[string]string `mapstructure:"grpc_meta"`
	// Codec is a remote codec server; `starter` commands without
	// codec.keys encode and decode payloads through it.
	Codec RemoteCodecConfig `mapstructure:"codec"`
	// Deprecated are notices of the deprecated variables in use, each
	// naming its replacement, for the caller to log.
	Deprecated []string `mapstructure:"-"`
}

// TLSConfig holds the files of a TLS or mTLS connection to Temporal. TLS is
// on when Enabled, when any file, data or server name is set, or with an
// API key; Disabled turns it off regardless.
type TLSConfig struct {
	Enabled  bool `mapstructure:"enabled"`
	Disabled bool `mapstructure:"disabled"`
	// Each file may instead be given as PEM text (the _DATA variables).
	CertFile   string `mapstructure:"cert_file"`
	CertData   string `mapstructure:"cert_data"`
	KeyFile    string `mapstructure:"key_file"`
	KeyData    string `mapstructure:"key_data"`
	CAFile     string `mapstructure:"ca_file"`
	CAData     string `mapstructure:"ca_data"`
	ServerName string `mapstructure:"server_name"`
	// DisableHostVerification accepts any server certificate: for tests
	// only.
	DisableHostVerification bool `mapstructure:"disable_host_verification"`
}

// RemoteCodecConfig is a codec server (POST /encode and /decode).
type RemoteCodecConfig struct {
	Endpoint string `mapstructure:"endpoint"`
	// Auth is the Authorization header sent to it.
	Auth string `mapstructure:"auth"`
}

// SpotifyConfig configures the Spotify Web API client.
type SpotifyConfig struct {
	ClientID          string        `mapstructure:"client_id"`
	ClientSecret      string        `mapstructure:"client_secret"`
	BaseURL           string        `mapstructure:"base_url"`
	TokenURL          string        `mapstructure:"token_url"`
	Market            string        `mapstructure:"market"`
	APIMode           string        `mapstructure:"api_mode"`
	RequestsPerSecond float64       `mapstructure:"requests_per_second"`
	Timeout           time.Duration `mapstructure:"timeout"`
	// QuotaWait is how long a run waits after a quota 429 that came
	// without a Retry-After; it doubles, up to 6h, while the quota lasts.
	QuotaWait time.Duration `mapstructure:"quota_wait"`
	Fake      FakeConfig    `mapstructure:"fake"`
}

// FakeConfig configures the built-in sample catalog served in-process.
type FakeConfig struct {
	// Enabled is nil when unset, so `starter dev` can turn it on by default
	// when no credentials are configured while `worker` keeps it off.
	Enabled *bool         `mapstructure:"enabled"`
	Artists int           `mapstructure:"artists"`
	Mode    string        `mapstructure:"mode"`
	Latency time.Duration `mapstructure:"latency"`
	Seed    int64         `mapstructure:"seed"`
}

// ArtistsConfig names the artists a run collects.
type ArtistsConfig struct {
	Seeds []string `mapstructure:"seeds"`
	File  string   `mapstructure:"file"`
}

// PipelineConfig tunes the pipeline workflow.
type PipelineConfig struct {
	BatchSize     int     `mapstructure:"batch_size"`
	Parallelism   int     `mapstructure:"parallelism"`
	MaxRejectRate float64 `mapstructure:"max_reject_rate"`
	// CaptureGrace is how long after the end of a date Spotify may still be
	// called for that date (a schedule's catch-up after an outage). Outside
	// the date and its grace a run reprocesses what was captured.
	CaptureGrace time.Duration `mapstructure:"capture_grace"`
}

// LakeConfig says where the data lake is.
type LakeConfig struct {
	URL string `mapstructure:"url"`
}

// ServingConfig says where the serving store is.
type ServingConfig struct {
	URL string `mapstructure:"url"`
}

// AnalyticsConfig selects the aggregation engine.
type AnalyticsConfig struct {
	Engine string `mapstructure:"engine"`
	// MemoryLimit caps DuckDB's memory, e.g. "1GB"; it spills beyond.
	MemoryLimit string       `mapstructure:"memory_limit"`
	Athena      AthenaConfig `mapstructure:"athena"`
}

// AthenaConfig configures the athena engine.
type AthenaConfig struct {
	Database       string `mapstructure:"database"`
	WorkGroup      string `mapstructure:"workgroup"`
	OutputLocation string `mapstructure:"output_location"`
}

// WorkerConfig configures worker processes.
type WorkerConfig struct {
	MetricsAddr string `mapstructure:"metrics_addr"`
	// MaxConcurrentActivities bounds the activities one worker runs at once.
	MaxConcurrentActivities int `mapstructure:"max_concurrent_activities"`
	// GoMemoryLimit is the soft limit of the worker's Go memory, e.g.
	// "256MiB" (runtime/debug.SetMemoryLimit); empty leaves Go's default
	// (or GOMEMLIMIT). DuckDB's memory, analytics.memory_limit, comes on top.
	GoMemoryLimit string `mapstructure:"go_memory_limit"`
}

// GoMemoryLimitBytes returns worker.go_memory_limit in bytes, 0 when unset.
func (w WorkerConfig) GoMemoryLimitBytes() (int64, error) {
	return parseBytes(w.GoMemoryLimit)
}

// ServeConfig configures `starter serve`.
type ServeConfig struct {
	Addr string `mapstructure:"addr"`
}

// SlackConfig holds the Slack app's secrets.
type SlackConfig struct {
	SigningSecret string `mapstructure:"signing_secret"`
	BotToken      string `mapstructure:"bot_token"`
}

// CodecConfig turns on payload encryption and configures the codec server
// (docs/SECURITY.md).
type CodecConfig struct {
	// Keys are ID=BASE64KEY pairs, comma-separated; empty: no encryption.
	Keys string `mapstructure:"keys"`
	// ActiveKey is the ID of the key that encrypts new payloads; may be
	// empty when there is one key.
	ActiveKey string `mapstructure:"active_key"`
	// Addr is where `starter codec-server` (and `starter dev`'s codec
	// server) listens.
	Addr string `mapstructure:"addr"`
	// CORSOrigins may call the codec server from a browser; empty: the Web
	// UI of temporal.ui_port on localhost and 127.0.0.1.
	CORSOrigins []string `mapstructure:"cors_origins"`
}

// APIConfig configures the JSON API.
type APIConfig struct {
	// Token is the bearer token; empty turns the JSON API off.
	Token string `mapstructure:"token"`
	// CallbackHosts are the hosts a callback_url may name; empty refuses
	// callbacks (docs/SECURITY.md).
	CallbackHosts []string `mapstructure:"callback_hosts"`
	// CallbackAllowLoopback lets callbacks reach loopback addresses: for
	// development and tests only.
	CallbackAllowLoopback bool `mapstructure:"callback_allow_loopback"`
}

// FakeEnabled reports whether the sample catalog is served in-process. When
// the key is unset it follows def: `starter dev` passes "no credentials set".
func (c *Config) FakeEnabled(def bool) bool {
	if c.Spotify.Fake.Enabled == nil {
		return def
	}
	return *c.Spotify.Fake.Enabled
}

// HasSpotifyCredentials reports whether both client ID and secret are set.
func (c *Config) HasSpotifyCredentials() bool {
	return c.Spotify.ClientID != "" && c.Spotify.ClientSecret != ""
}
