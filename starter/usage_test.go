package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Bad usage and bad config exit with code 2 and one line naming the value,
// before anything connects to Temporal or writes to the lake.
func TestBadUsageExitsWithCode2(t *testing.T) {
	dir := isolateEnv(t)
	empty := filepath.Join(dir, "empty.txt")
	require.NoError(t, os.WriteFile(empty, []byte("\n# nothing\n"), 0o644))
	binary := filepath.Join(dir, "binary.txt")
	require.NoError(t, os.WriteFile(binary, []byte("Daft Punk\n\x00\x01\x02\n"), 0o644))

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, nil, "unknown command"},
		{"unknown flag", []string{"run", "--colour"}, nil, "unknown flag"},
		{"bad date", []string{"run", "--date", "2026-13-01"}, nil, `--date "2026-13-01"`},
		{"future date", []string{"run", "--date", "2999-01-01"}, nil, "in the future"},
		{"both artist sources", []string{"run", "--artists", "Air", "--artists-file", empty}, nil, "exclude each other"},
		{"blank artists", []string{"run", "--artists", " , "}, nil, "names no artist"},
		{"empty artists file", []string{"run", "--artists-file", empty}, nil, "names no artist"},
		{"binary artists file", []string{"run", "--artists-file", binary}, nil, "is not text"},
		{"missing artists file", []string{"run", "--artists-file", filepath.Join(dir, "nope")}, nil, "no such file"},
		{"bad output", []string{"run", "--output", "yaml"}, nil, `--output "yaml"`},
		{"bad config value", []string{"run"}, map[string]string{"METRONOME_LAKE_URL": "ftp://x"}, `lake.url = "ftp://x"`},
		{"missing config file", []string{"run", "--config", filepath.Join(dir, "nope.yaml")}, nil, "--config"},
		{"bad dev port", []string{"dev", "--port", "70000"}, nil, "--port 70000"},
		{"extra argument", []string{"run", "2026-11-01"}, nil, "unknown command"},
		{"query without SQL", []string{"query"}, nil, "no SQL"},
		{"query bad format", []string{"query", "select 1", "--format", "xml"}, nil, `--format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := execute(tt.args, &stdout, &stderr)
			require.Equal(t, 2, code, "stderr: %s", stderr.String())
			msg := strings.TrimSpace(stderr.String())
			require.Contains(t, msg, tt.want)
			require.NotContains(t, msg, "\n", "want one line")
		})
	}
	_, err := os.Stat(filepath.Join(dir, "data"))
	require.True(t, os.IsNotExist(err), "bad usage wrote data")
}
