package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

const temporalTOML = `
[profile.default]
address = "profile-default:7233"

[profile.prod]
address = "profile:7233"
namespace = "profile-ns"
api_key = "profile-key"

[profile.prod.tls]
client_cert_path = "/profile/cert.pem"
client_key_path = "/profile/key.pem"
server_ca_cert_path = "/profile/ca.pem"
server_name = "profile.internal"

[profile.prod.grpc_meta]
x-tenant = "profile"
x-other = "kept"

[profile.prod.codec]
endpoint = "http://profile-codec:8081"
auth = "Bearer profile"

[profile.plain]
address = "plain:7233"
api_key = "plain-key"

[profile.plain.tls]
disabled = true
`

// isolateTemporal clears metronome's environment, points Temporal's
// default config location at an empty directory and works in a directory
// without config/metronome.yaml; it returns a temporal.toml of temporalTOML.
func isolateTemporal(t *testing.T) string {
	t.Helper()
	clearEnv(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Chdir(t.TempDir())
	file := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte(temporalTOML), 0o600))
	return file
}

// The connection keys, from lowest to highest: built-in defaults <
// temporal.toml profile < metronome.yaml < TEMPORAL_* environment <
// METRONOME_TEMPORAL_* environment < flags.
func TestTemporalPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		profile string // TEMPORAL_PROFILE; "-" leaves TEMPORAL_CONFIG_FILE unset too
		yaml    string
		env     map[string]string
		flag    string // --namespace, bound to temporal.namespace
		check   func(t *testing.T, c TemporalConfig)
	}{
		{name: "built-in defaults without a profile", profile: "-", check: func(t *testing.T, c TemporalConfig) {
			require.Equal(t, "127.0.0.1:7233", c.Address)
			require.Equal(t, "default", c.Namespace)
			require.Equal(t, TLSConfig{}, c.TLS)
			require.Empty(t, c.GRPCMeta)
		}},
		{name: "the default profile when TEMPORAL_PROFILE is unset", check: func(t *testing.T, c TemporalConfig) {
			require.Equal(t, "profile-default:7233", c.Address)
			require.Equal(t, "default", c.Namespace, "built-in default under a profile without namespace")
		}},
		{name: "a named profile sets every connection key", profile: "prod", check: func(t *testing.T, c TemporalConfig) {
			require.Equal(t, "profile:7233", c.Address)
			require.Equal(t, "profile-ns", c.Namespace)
			require.Equal(t, "profile-key", c.APIKey)
			require.Equal(t, TLSConfig{Enabled: true, CertFile: "/profile/cert.pem", KeyFile: "/profile/key.pem",
				CAFile: "/profile/ca.pem", ServerName: "profile.internal"}, c.TLS)
			require.Equal(t, map[string]string{"x-tenant": "profile", "x-other": "kept"}, c.GRPCMeta)
			require.Equal(t, RemoteCodecConfig{Endpoint: "http://profile-codec:8081", Auth: "Bearer profile"}, c.Codec)
			require.Empty(t, c.Deprecated)
		}},
		{name: "metronome.yaml over the profile", profile: "prod",
			yaml: "temporal:\n  address: yaml:7233\n  tls:\n    server_name: yaml.internal\n",
			check: func(t *testing.T, c TemporalConfig) {
				require.Equal(t, "yaml:7233", c.Address)
				require.Equal(t, "yaml.internal", c.TLS.ServerName)
				require.Equal(t, "profile-ns", c.Namespace, "keys the file leaves out come from the profile")
				require.Equal(t, "/profile/cert.pem", c.TLS.CertFile)
			}},
		{name: "TEMPORAL_* over metronome.yaml", profile: "prod",
			yaml: "temporal:\n  address: yaml:7233\n  namespace: yaml-ns\n",
			env:  map[string]string{"TEMPORAL_ADDRESS": "env:7233", "TEMPORAL_TLS_SERVER_NAME": "env.internal"},
			check: func(t *testing.T, c TemporalConfig) {
				require.Equal(t, "env:7233", c.Address)
				require.Equal(t, "yaml-ns", c.Namespace)
				require.Equal(t, "env.internal", c.TLS.ServerName)
			}},
		{name: "METRONOME_TEMPORAL_* over TEMPORAL_*", profile: "prod",
			env: map[string]string{"TEMPORAL_ADDRESS": "env:7233", "METRONOME_TEMPORAL_ADDRESS": "metronome:7233",
				"TEMPORAL_TLS_CLIENT_CERT_PATH": "/env/cert.pem", "METRONOME_TEMPORAL_TLS_CERT_FILE": "/metronome/cert.pem"},
			check: func(t *testing.T, c TemporalConfig) {
				require.Equal(t, "metronome:7233", c.Address)
				require.Equal(t, "/metronome/cert.pem", c.TLS.CertFile)
			}},
		{name: "a flag over every variable", profile: "prod", flag: "flag-ns",
			env: map[string]string{"TEMPORAL_NAMESPACE": "env-ns", "METRONOME_TEMPORAL_NAMESPACE": "metronome-ns"},
			check: func(t *testing.T, c TemporalConfig) {
				require.Equal(t, "flag-ns", c.Namespace)
			}},
		{name: "an empty variable is unset", profile: "prod", env: map[string]string{"TEMPORAL_ADDRESS": "", "TEMPORAL_NAMESPACE": ""},
			check: func(t *testing.T, c TemporalConfig) {
				require.Equal(t, "profile:7233", c.Address)
				require.Equal(t, "profile-ns", c.Namespace)
			}},
		{name: "TEMPORAL_TLS=false turns a profile's TLS off", profile: "prod", env: map[string]string{"TEMPORAL_TLS": "false"},
			check: func(t *testing.T, c TemporalConfig) {
				require.True(t, c.TLS.Disabled)
				require.False(t, c.TLS.Enabled)
			}},
		{name: "TEMPORAL_TLS=1 turns a profile's disabled TLS on", profile: "plain", env: map[string]string{"TEMPORAL_TLS": "1"},
			check: func(t *testing.T, c TemporalConfig) {
				require.True(t, c.TLS.Enabled)
				require.False(t, c.TLS.Disabled)
			}},
		{name: "other TEMPORAL_TLS_* variables leave a profile's disabled TLS off", profile: "plain",
			env: map[string]string{"TEMPORAL_TLS_SERVER_NAME": "env.internal"},
			check: func(t *testing.T, c TemporalConfig) {
				require.True(t, c.TLS.Disabled)
				require.Equal(t, "env.internal", c.TLS.ServerName)
				require.Equal(t, "plain-key", c.APIKey)
			}},
		{name: "TEMPORAL_GRPC_META_* adds headers; an empty one removes the profile's", profile: "prod",
			env: map[string]string{"TEMPORAL_GRPC_META_X_TENANT": "", "TEMPORAL_GRPC_META_X_REGION": "eu"},
			check: func(t *testing.T, c TemporalConfig) {
				require.Equal(t, map[string]string{"x-other": "kept", "x-region": "eu"}, c.GRPCMeta)
			}},
		{name: "the _DATA forms", profile: "-",
			env: map[string]string{"TEMPORAL_TLS_CLIENT_CERT_DATA": "CERT PEM", "TEMPORAL_TLS_CLIENT_KEY_DATA": "KEY PEM",
				"TEMPORAL_TLS_SERVER_CA_CERT_DATA": "CA PEM"},
			check: func(t *testing.T, c TemporalConfig) {
				require.Equal(t, TLSConfig{CertData: "CERT PEM", KeyData: "KEY PEM", CAData: "CA PEM"}, c.TLS)
			}},
		{name: "codec endpoint and authority from the environment", profile: "-",
			env: map[string]string{"TEMPORAL_CODEC_ENDPOINT": "http://127.0.0.1:8081", "TEMPORAL_CODEC_AUTH": "Bearer x",
				"TEMPORAL_CLIENT_AUTHORITY": "temporal.example"},
			check: func(t *testing.T, c TemporalConfig) {
				require.Equal(t, RemoteCodecConfig{Endpoint: "http://127.0.0.1:8081", Auth: "Bearer x"}, c.Codec)
				require.Equal(t, "temporal.example", c.Authority)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := isolateTemporal(t)
			if tt.profile != "-" {
				t.Setenv("TEMPORAL_CONFIG_FILE", file)
				t.Setenv("TEMPORAL_PROFILE", tt.profile)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			l := NewLoader()
			if tt.yaml != "" {
				l.SetFile(writeFile(t, tt.yaml))
			}
			flags := pflag.NewFlagSet("test", pflag.ContinueOnError)
			flags.String("namespace", "", "")
			var args []string
			if tt.flag != "" {
				args = []string{"--namespace", tt.flag}
			}
			require.NoError(t, flags.Parse(args))
			require.NoError(t, l.BindFlag("temporal.namespace", flags.Lookup("namespace")))
			cfg, err := l.Load()
			require.NoError(t, err)
			tt.check(t, cfg.Temporal)
		})
	}
}

// Temporal's default config location is read without TEMPORAL_CONFIG_FILE.
func TestTemporalDefaultConfigLocation(t *testing.T) {
	isolateTemporal(t)
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	require.NoError(t, os.MkdirAll(filepath.Join(home, "temporalio"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(home, "temporalio", "temporal.toml"), []byte(temporalTOML), 0o600))
	t.Setenv("TEMPORAL_PROFILE", "prod")
	cfg, err := Load("")
	require.NoError(t, err)
	require.Equal(t, "profile:7233", cfg.Temporal.Address)
}

// The earlier TLS names keep working in the TEMPORAL_* layer, under their
// replacements, each with a notice naming the replacement.
func TestDeprecatedTemporalTLSNames(t *testing.T) {
	tests := []struct {
		name       string
		yaml       string
		env        map[string]string
		want       TLSConfig
		deprecated []string
	}{
		{name: "each old name sets its key",
			env:  map[string]string{"TEMPORAL_TLS_CERT": "/old/cert.pem", "TEMPORAL_TLS_KEY": "/old/key.pem", "TEMPORAL_TLS_CA": "/old/ca.pem"},
			want: TLSConfig{CertFile: "/old/cert.pem", KeyFile: "/old/key.pem", CAFile: "/old/ca.pem"},
			deprecated: []string{
				"TEMPORAL_TLS_CERT is deprecated: use TEMPORAL_TLS_CLIENT_CERT_PATH",
				"TEMPORAL_TLS_KEY is deprecated: use TEMPORAL_TLS_CLIENT_KEY_PATH",
				"TEMPORAL_TLS_CA is deprecated: use TEMPORAL_TLS_SERVER_CA_CERT_PATH",
			}},
		{name: "over metronome.yaml", yaml: "temporal:\n  tls:\n    ca_file: /yaml/ca.pem\n",
			env:        map[string]string{"TEMPORAL_TLS_CA": "/old/ca.pem"},
			want:       TLSConfig{CAFile: "/old/ca.pem"},
			deprecated: []string{"TEMPORAL_TLS_CA is deprecated: use TEMPORAL_TLS_SERVER_CA_CERT_PATH"}},
		{name: "the new name wins",
			env:        map[string]string{"TEMPORAL_TLS_CERT": "/old/cert.pem", "TEMPORAL_TLS_CLIENT_CERT_PATH": "/new/cert.pem"},
			want:       TLSConfig{CertFile: "/new/cert.pem"},
			deprecated: []string{"TEMPORAL_TLS_CERT is deprecated: use TEMPORAL_TLS_CLIENT_CERT_PATH"}},
		{name: "the new data form wins",
			env:        map[string]string{"TEMPORAL_TLS_KEY": "/old/key.pem", "TEMPORAL_TLS_CLIENT_KEY_DATA": "KEY PEM"},
			want:       TLSConfig{KeyData: "KEY PEM"},
			deprecated: []string{"TEMPORAL_TLS_KEY is deprecated: use TEMPORAL_TLS_CLIENT_KEY_PATH"}},
		{name: "METRONOME_TEMPORAL_TLS_* over the old names",
			env:        map[string]string{"TEMPORAL_TLS_CERT": "/old/cert.pem", "METRONOME_TEMPORAL_TLS_CERT_FILE": "/metronome/cert.pem"},
			want:       TLSConfig{CertFile: "/metronome/cert.pem"},
			deprecated: []string{"TEMPORAL_TLS_CERT is deprecated: use TEMPORAL_TLS_CLIENT_CERT_PATH"}},
		{name: "empty old names are unset", env: map[string]string{"TEMPORAL_TLS_CERT": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateTemporal(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			file := ""
			if tt.yaml != "" {
				file = writeFile(t, tt.yaml)
			}
			cfg, err := Load(file)
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg.Temporal.TLS)
			require.ElementsMatch(t, tt.deprecated, cfg.Temporal.Deprecated)
		})
	}
}

func TestTemporalConfigErrors(t *testing.T) {
	tests := []struct {
		name     string
		toml     string // written to TEMPORAL_CONFIG_FILE unless empty
		env      map[string]string
		key      string
		contains string
	}{
		{name: "unknown profile", toml: temporalTOML, env: map[string]string{"TEMPORAL_PROFILE": "staging"},
			key: "TEMPORAL_PROFILE", contains: "(it has: default, plain, prod)"},
		{name: "named profile without a file", env: map[string]string{"TEMPORAL_PROFILE": "prod"},
			key: "TEMPORAL_PROFILE", contains: "does not exist (set TEMPORAL_CONFIG_FILE)"},
		{name: "missing TEMPORAL_CONFIG_FILE", env: map[string]string{"TEMPORAL_CONFIG_FILE": "/no/such/temporal.toml"},
			key: "TEMPORAL_CONFIG_FILE", contains: `"/no/such/temporal.toml" is invalid: want an existing temporal.toml file`},
		{name: "not TOML", toml: "[profile.prod\naddress = 1", key: "TEMPORAL_CONFIG_FILE", contains: "want a temporal.toml file"},
		{name: "TEMPORAL_TLS not a boolean", env: map[string]string{"TEMPORAL_TLS": "yes"}, key: "TEMPORAL_TLS", contains: "true, false, 1 or 0"},
		{name: "enabled over a profile's disabled", toml: temporalTOML,
			env: map[string]string{"TEMPORAL_PROFILE": "plain", "METRONOME_TEMPORAL_TLS_ENABLED": "true"},
			key: "temporal.tls.enabled", contains: "unset one of them"},
		{name: "path and data of one file", env: map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": "/c.pem", "TEMPORAL_TLS_CLIENT_CERT_DATA": "PEM"},
			key: "temporal.tls.cert_data", contains: "one of path or data"},
		{name: "an address from the profile is validated", toml: "[profile.default]\naddress = \"http://temporal:7233\"\n",
			key: "temporal.address", contains: `"http://temporal:7233"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateTemporal(t)
			if tt.toml != "" {
				file := filepath.Join(t.TempDir(), "temporal.toml")
				require.NoError(t, os.WriteFile(file, []byte(tt.toml), 0o600))
				t.Setenv("TEMPORAL_CONFIG_FILE", file)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Load("")
			var vErr *ValidationError
			require.True(t, errors.As(err, &vErr), "want a ValidationError, got %v", err)
			require.Equal(t, tt.key, vErr.Key)
			require.Contains(t, err.Error(), tt.contains)
		})
	}
}

// Every variable of Temporal's client configuration is one metronome
// reads, so test and process isolation (EnvNames) clears them.
func TestEnvNamesListTemporalVariables(t *testing.T) {
	names := EnvNames()
	for _, e := range []string{"TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE", "TEMPORAL_ADDRESS", "TEMPORAL_TLS",
		"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA", "TEMPORAL_CODEC_ENDPOINT",
		"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "METRONOME_TEMPORAL_TLS_CERT_DATA"} {
		require.Contains(t, names, e)
	}
	require.Equal(t, "temporal.tls.ca_file", names["TEMPORAL_TLS_CA"])
}
