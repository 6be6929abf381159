package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/viper"
	"go.temporal.io/sdk/contrib/envconfig"
)

// The connection to Temporal starts from Temporal's own client
// configuration (go.temporal.io/sdk/contrib/envconfig), which the Temporal
// CLI and every SDK read: a profile of a temporal.toml file and the
// TEMPORAL_* environment variables. metronome's temporal.* keys go on top.
// From lowest to highest (docs/OPERATIONS.md, "Connecting to Temporal"):
//
//	built-in defaults < temporal.toml profile < metronome.yaml (--config)
//	  < TEMPORAL_* environment < METRONOME_TEMPORAL_* environment < flags
//
// Each config file sits under each environment variable, as everywhere in
// metronome, and within a layer metronome's own source, the more specific,
// wins.

// temporalEnv maps the variables of Temporal's client configuration to the
// key each sets. TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE choose the
// profile; TEMPORAL_GRPC_META_<NAME> variables set temporal.grpc_meta.<name>.
var temporalEnv = map[string]string{
	"TEMPORAL_CONFIG_FILE":                   "temporal",
	"TEMPORAL_PROFILE":                       "temporal",
	"TEMPORAL_ADDRESS":                       "temporal.address",
	"TEMPORAL_NAMESPACE":                     "temporal.namespace",
	"TEMPORAL_API_KEY":                       "temporal.api_key",
	"TEMPORAL_CLIENT_AUTHORITY":              "temporal.authority",
	"TEMPORAL_TLS":                           "temporal.tls.enabled",
	"TEMPORAL_TLS_CLIENT_CERT_PATH":          "temporal.tls.cert_file",
	"TEMPORAL_TLS_CLIENT_CERT_DATA":          "temporal.tls.cert_data",
	"TEMPORAL_TLS_CLIENT_KEY_PATH":           "temporal.tls.key_file",
	"TEMPORAL_TLS_CLIENT_KEY_DATA":           "temporal.tls.key_data",
	"TEMPORAL_TLS_SERVER_CA_CERT_PATH":       "temporal.tls.ca_file",
	"TEMPORAL_TLS_SERVER_CA_CERT_DATA":       "temporal.tls.ca_data",
	"TEMPORAL_TLS_SERVER_NAME":               "temporal.tls.server_name",
	"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "temporal.tls.disable_host_verification",
	"TEMPORAL_CODEC_ENDPOINT":                "temporal.codec.endpoint",
	"TEMPORAL_CODEC_AUTH":                    "temporal.codec.auth",
}

// grpcMetaEnvPrefix starts the variables of temporal.grpc_meta.
const grpcMetaEnvPrefix = "TEMPORAL_GRPC_META_"

// deprecatedTemporalEnv are metronome's earlier names of the TLS files.
// Each is read when neither the path nor the data form of its replacement
// is set.
var deprecatedTemporalEnv = []struct{ name, replacement, data, key string }{
	{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_DATA", "temporal.tls.cert_file"},
	{"TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_CLIENT_KEY_DATA", "temporal.tls.key_file"},
	{"TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA", "temporal.tls.ca_file"},
}

// temporalConfigFile is the temporal.toml that the environment selects:
// TEMPORAL_CONFIG_FILE, else Temporal's default location
// (os.UserConfigDir()/temporalio/temporal.toml). explicit reports whether
// TEMPORAL_CONFIG_FILE named it.
func temporalConfigFile() (file string, explicit bool) {
	if f := os.Getenv("TEMPORAL_CONFIG_FILE"); f != "" {
		return f, true
	}
	return envconfig.DefaultConfigFilePath(), false
}

// temporalProfile reads the profile TEMPORAL_PROFILE names ("default" when
// unset) from temporalConfigFile. A default file that does not exist is no
// profile; a file named by TEMPORAL_CONFIG_FILE must exist, and a profile
// named by TEMPORAL_PROFILE must be in the file.
func temporalProfile() (envconfig.ClientConfigProfile, error) {
	file, explicit := temporalConfigFile()
	name, named := os.Getenv("TEMPORAL_PROFILE"), true
	if name == "" {
		name, named = envconfig.DefaultConfigFileProfile, false
	}
	if _, err := os.Stat(file); err != nil {
		if explicit || !errors.Is(err, os.ErrNotExist) {
			return envconfig.ClientConfigProfile{}, &ValidationError{Key: "TEMPORAL_CONFIG_FILE", Value: file, Allowed: "an existing temporal.toml file", Err: err}
		}
		if named {
			return envconfig.ClientConfigProfile{}, &ValidationError{Key: "TEMPORAL_PROFILE", Value: name,
				Allowed: "a profile of a temporal.toml file; " + file + " does not exist (set TEMPORAL_CONFIG_FILE)"}
		}
		return envconfig.ClientConfigProfile{}, nil
	}
	conf, err := envconfig.LoadClientConfig(envconfig.LoadClientConfigOptions{ConfigFilePath: file})
	if err != nil {
		return envconfig.ClientConfigProfile{}, &ValidationError{Key: "TEMPORAL_CONFIG_FILE", Value: file, Allowed: "a temporal.toml file of [profile.NAME] tables", Err: err}
	}
	prof := conf.Profiles[name]
	if prof == nil {
		if named {
			return envconfig.ClientConfigProfile{}, &ValidationError{Key: "TEMPORAL_PROFILE", Value: name,
				Allowed: fmt.Sprintf("a profile of %s (it has: %s)", file, profileNames(conf))}
		}
		return envconfig.ClientConfigProfile{}, nil
	}
	return *prof, nil
}

func profileNames(conf envconfig.ClientConfig) string {
	if len(conf.Profiles) == 0 {
		return "none"
	}
	names := make([]string, 0, len(conf.Profiles))
	for n := range conf.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// nonEmptyEnv is the process environment with empty variables unset, as
// viper reads the rest of metronome's variables: `TEMPORAL_ADDRESS=` keeps
// the address of the layers below.
type nonEmptyEnv struct{}

func (nonEmptyEnv) Environ() []string { return os.Environ() }

func (nonEmptyEnv) LookupEnv(name string) (string, bool) {
	v := os.Getenv(name)
	return v, v != ""
}

// temporalEnvValues are the temporal.* values that the TEMPORAL_*
// variables set, read by envconfig, and the deprecated variables in use,
// each as a notice naming its replacement.
func temporalEnvValues() (map[string]any, []string, error) {
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{DisableFile: true, EnvLookup: nonEmptyEnv{}})
	if err != nil {
		return nil, nil, fmt.Errorf("read the TEMPORAL_* environment: %w", err)
	}
	values := profileValues(prof)
	// Only TEMPORAL_TLS turns TLS on or off here; the other TEMPORAL_TLS_*
	// variables leave a profile's `disabled` alone, as in envconfig.
	delete(values, "temporal.tls.enabled")
	delete(values, "temporal.tls.disabled")
	if v := os.Getenv("TEMPORAL_TLS"); v != "" {
		switch strings.ToLower(v) {
		case "true", "1":
			values["temporal.tls.enabled"], values["temporal.tls.disabled"] = true, false
		case "false", "0":
			values["temporal.tls.enabled"], values["temporal.tls.disabled"] = false, true
		default:
			return nil, nil, invalid("TEMPORAL_TLS", v, "true, false, 1 or 0")
		}
	}
	// An empty TEMPORAL_GRPC_META_<NAME> removes a header the layers below
	// set (envconfig's rule); resolve drops empty headers.
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if rest, ok := strings.CutPrefix(name, grpcMetaEnvPrefix); ok && value == "" {
			values["temporal.grpc_meta."+envconfig.NormalizeGRPCMetaKey(rest)] = ""
		}
	}
	var notices []string
	for _, d := range deprecatedTemporalEnv {
		v := os.Getenv(d.name)
		if v == "" {
			continue
		}
		notices = append(notices, fmt.Sprintf("%s is deprecated: use %s", d.name, d.replacement))
		if os.Getenv(d.replacement) == "" && os.Getenv(d.data) == "" {
			values[d.key] = v
		}
	}
	return values, notices, nil
}

// profileValues flattens the fields set in p to temporal.* keys.
func profileValues(p envconfig.ClientConfigProfile) map[string]any {
	out := map[string]any{}
	set := func(key, value string) {
		if value != "" {
			out[key] = value
		}
	}
	set("temporal.address", p.Address)
	set("temporal.namespace", p.Namespace)
	set("temporal.api_key", p.APIKey)
	set("temporal.authority", p.Authority)
	if t := p.TLS; t != nil {
		// A TLS table, even empty, turns TLS on; `disabled` turns it off.
		if t.Disabled {
			out["temporal.tls.disabled"] = true
		} else {
			out["temporal.tls.enabled"] = true
		}
		set("temporal.tls.cert_file", t.ClientCertPath)
		set("temporal.tls.cert_data", string(t.ClientCertData))
		set("temporal.tls.key_file", t.ClientKeyPath)
		set("temporal.tls.key_data", string(t.ClientKeyData))
		set("temporal.tls.ca_file", t.ServerCACertPath)
		set("temporal.tls.ca_data", string(t.ServerCACertData))
		set("temporal.tls.server_name", t.ServerName)
		if t.DisableHostVerification {
			out["temporal.tls.disable_host_verification"] = true
		}
	}
	if c := p.Codec; c != nil {
		set("temporal.codec.endpoint", c.Endpoint)
		set("temporal.codec.auth", c.Auth)
	}
	for k, v := range p.GRPCMeta {
		out["temporal.grpc_meta."+k] = v
	}
	return out
}

// applyTemporal layers Temporal's client configuration into v: the profile
// right above the built-in defaults, the TEMPORAL_* variables right above
// the config file. It returns the deprecation notices.
func applyTemporal(v *viper.Viper) ([]string, error) {
	prof, err := temporalProfile()
	if err != nil {
		return nil, err
	}
	for key, value := range profileValues(prof) {
		v.SetDefault(key, value)
	}
	values, notices, err := temporalEnvValues()
	if err != nil {
		return nil, err
	}
	if err := v.MergeConfigMap(nest(values)); err != nil {
		return nil, fmt.Errorf("merge the TEMPORAL_* environment: %w", err)
	}
	return notices, nil
}

// nest turns {"a.b": 1} into {"a": {"b": 1}}, the form MergeConfigMap takes.
func nest(flat map[string]any) map[string]any {
	out := map[string]any{}
	for key, value := range flat {
		parts := strings.Split(key, ".")
		m := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = value
	}
	return out
}

// resolve drops the headers an empty variable removed and checks
// the combinations of TLS settings.
func (t *TemporalConfig) resolve() error {
	for k, v := range t.GRPCMeta {
		if v == "" {
			delete(t.GRPCMeta, k)
		}
	}
	tls := t.TLS
	switch {
	case tls.Enabled && tls.Disabled:
		return invalid("temporal.tls.enabled", true, "false while temporal.tls.disabled is true "+
			"(set by a temporal.toml `disabled = true` or METRONOME_TEMPORAL_TLS_DISABLED): unset one of them, or set TEMPORAL_TLS")
	case tls.CertFile != "" && tls.CertData != "":
		return invalid("temporal.tls.cert_data", "(PEM)", "empty while temporal.tls.cert_file is set: one of path or data")
	case tls.KeyFile != "" && tls.KeyData != "":
		return invalid("temporal.tls.key_data", "(PEM)", "empty while temporal.tls.key_file is set: one of path or data")
	case tls.CAFile != "" && tls.CAData != "":
		return invalid("temporal.tls.ca_data", "(PEM)", "empty while temporal.tls.ca_file is set: one of path or data")
	}
	return nil
}
