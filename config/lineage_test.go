package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lineage.* come from OpenLineage's own variables first; a URL that is not
// http(s) is refused at start-up, naming the key and the value.
func TestLineageKeys(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    LineageConfig
		wantErr string
	}{
		{"off by default", nil, LineageConfig{Namespace: "metronome", Timeout: 5 * time.Second}, ""},
		{"the timeout is not judged when off", map[string]string{"METRONOME_LINEAGE_TIMEOUT": "0s"}, LineageConfig{Namespace: "metronome"}, ""},
		{"OpenLineage's variables", map[string]string{
			"OPENLINEAGE_URL": "http://marquez:5000", "OPENLINEAGE_NAMESPACE": "prod", "OPENLINEAGE_API_KEY": "k",
		}, LineageConfig{URL: "http://marquez:5000", Namespace: "prod", APIKey: "k", Timeout: 5 * time.Second}, ""},
		{"OPENLINEAGE_URL before METRONOME_LINEAGE_URL", map[string]string{
			"OPENLINEAGE_URL": "http://a:5000", "METRONOME_LINEAGE_URL": "http://b:5000", "METRONOME_LINEAGE_TIMEOUT": "1s",
		}, LineageConfig{URL: "http://a:5000", Namespace: "metronome", Timeout: time.Second}, ""},
		{"not an http URL", map[string]string{"OPENLINEAGE_URL": "marquez:5000"}, LineageConfig{},
			`lineage.url = "marquez:5000" is invalid: want an http:// or https:// URL`},
		{"a timeout longer than a stage can wait", map[string]string{"OPENLINEAGE_URL": "http://marquez:5000", "METRONOME_LINEAGE_TIMEOUT": "30s"}, LineageConfig{},
			`lineage.timeout = "30s" is invalid: want a duration from 1ms to 10s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Chdir(t.TempDir()) // no config/metronome.yaml here
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := Load("")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg.Lineage)
		})
	}
}
