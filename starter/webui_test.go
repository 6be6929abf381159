package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/config"
)

// The Web UI links point at temporal.ui_url when set, else at the UI that
// `starter dev` recorded when it serves temporal.address, else at the
// frontend's host on temporal.ui_port.
func TestUIBase(t *testing.T) {
	devAt := func(address, ui string) *devRecord { return &devRecord{TemporalAddress: address, UIURL: ui} }
	tests := []struct {
		name    string
		address string
		uiPort  int
		uiURL   string
		dev     *devRecord
		want    string
	}{
		{"default", "127.0.0.1:7233", 8233, "", nil, "http://localhost:8233"},
		{"default on another host", "temporal.internal:7233", 8080, "", nil, "http://temporal.internal:8080"},
		{"dev's UI", "127.0.0.1:7233", 8233, "", devAt("127.0.0.1:7233", "http://127.0.0.1:9999"), "http://127.0.0.1:9999"},
		{"dev's UI, localhost for 127.0.0.1", "localhost:7233", 8233, "", devAt("127.0.0.1:7233", "http://127.0.0.1:9999"), "http://127.0.0.1:9999"},
		{"dev serves another port", "127.0.0.1:7234", 8233, "", devAt("127.0.0.1:7233", "http://127.0.0.1:9999"), "http://localhost:8233"},
		{"dev serves on this host, not that one", "temporal.internal:7233", 8233, "", devAt("127.0.0.1:7233", "http://127.0.0.1:9999"), "http://temporal.internal:8233"},
		{"ui_url over dev's", "127.0.0.1:7233", 8233, "https://ui.example.com", devAt("127.0.0.1:7233", "http://127.0.0.1:9999"), "https://ui.example.com"},
		{"ui_url", "temporal.internal:7233", 8233, "https://cloud.temporal.io", nil, "https://cloud.temporal.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			if tt.dev != nil {
				_, err := writeDevRecord(dataDir, *tt.dev)
				require.NoError(t, err)
			}
			cfg := &config.Config{DataDir: dataDir, Temporal: config.TemporalConfig{Address: tt.address, UIPort: tt.uiPort, UIURL: tt.uiURL}}
			require.Equal(t, tt.want, uiBase(cfg))
		})
	}
}

// The record is gone once dev stops, and a damaged one is no record.
func TestDevRecord(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	remove, err := writeDevRecord(dataDir, devRecord{TemporalAddress: "127.0.0.1:7233", UIURL: "http://127.0.0.1:9999"})
	require.NoError(t, err)
	r, ok := readDevRecord(dataDir)
	require.True(t, ok)
	require.Equal(t, devRecord{TemporalAddress: "127.0.0.1:7233", UIURL: "http://127.0.0.1:9999"}, r)
	remove()
	_, ok = readDevRecord(dataDir)
	require.False(t, ok, "a removed record was read")

	require.NoError(t, os.WriteFile(filepath.Join(dataDir, devRecordFile), []byte("{not json"), 0o644))
	_, ok = readDevRecord(dataDir)
	require.False(t, ok, "a damaged record was read")
}

// METRONOME_TEMPORAL_UI_URL sets temporal.ui_url, which the links of
// status and run use.
func TestUIURLFromEnvironment(t *testing.T) {
	isolateEnv(t)
	t.Setenv("METRONOME_TEMPORAL_UI_URL", "https://ui.example.com")
	cfg, err := config.NewLoader().Load()
	require.NoError(t, err)
	require.Equal(t, "https://ui.example.com", uiBase(cfg))
	require.Equal(t, "https://ui.example.com/namespaces/default/workflows/pipeline-2026-11-01/run-1/history",
		webUIRunURL(uiBase(cfg), cfg.Temporal.Namespace, "pipeline-2026-11-01", "run-1"))
}

// awaitDevUI waits until a `starter dev` serving port records itself in
// dataDir and returns the Web UI the commands beside it link to; "" when
// ctx ends first.
func awaitDevUI(ctx context.Context, dataDir string, port int) string {
	cfg := &config.Config{DataDir: dataDir, Temporal: config.TemporalConfig{Address: fmt.Sprintf("localhost:%d", port), UIPort: 8233}}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, ok := readDevRecord(dataDir); ok {
			return uiBase(cfg)
		}
		select {
		case <-ctx.Done():
			return ""
		case <-tick.C:
		}
	}
}
