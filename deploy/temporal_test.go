package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/dynamicconfig"
	"gopkg.in/yaml.v3"
)

// The compose Temporal server turns on what task-queue priorities and
// fairness keys need, as the embedded server does (internal/devserver).
func TestComposeTemporalEnablesPriorities(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "deploy/temporal/dynamicconfig.yaml"))
	require.NoError(t, err)
	var dc map[string][]struct {
		Value any `yaml:"value"`
	}
	require.NoError(t, yaml.Unmarshal(b, &dc))
	// The server reads keys case-insensitively; Key() is lower case.
	for k, v := range dc {
		dc[strings.ToLower(k)] = v
	}
	for _, key := range []string{dynamicconfig.MatchingUseNewMatcher.Key().String(), dynamicconfig.MatchingEnableFairness.Key().String()} {
		if assert.Len(t, dc[key], 1, key) {
			assert.Equal(t, true, dc[key][0].Value, key)
		}
	}
}
