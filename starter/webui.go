package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/webui"
)

// devRecordFile is the file in data_dir where `starter dev` records the
// addresses it serves, so that the commands run beside it link to its Web
// UI wherever --ui-port put it. dev removes it when it stops.
const devRecordFile = "dev.json"

// devRecord is what `starter dev` serves.
type devRecord struct {
	TemporalAddress string `json:"temporal_address"`
	UIURL           string `json:"ui_url"`
}

// writeDevRecord records what dev serves in dataDir; the returned remove
// deletes the record.
func writeDevRecord(dataDir string, r devRecord) (remove func(), err error) {
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the dev record: %w", err)
	}
	path := filepath.Join(dataDir, devRecordFile)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("record the Web UI of dev in %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(body, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("record the Web UI of dev in %s: %w", path, err)
	}
	return func() { os.Remove(path) }, nil
}

// readDevRecord reads the record of a dev serving in dataDir; ok is false
// when there is none or it cannot be read (the links then fall back to
// temporal.ui_port).
func readDevRecord(dataDir string) (devRecord, bool) {
	var r devRecord
	body, err := os.ReadFile(filepath.Join(dataDir, devRecordFile))
	if err != nil || json.Unmarshal(body, &r) != nil || r.UIURL == "" {
		return r, false
	}
	return r, true
}

// uiBase is the base URL of the Temporal Web UI that the links of the
// commands point at: temporal.ui_url when set (flag, env or config file);
// else the UI that `starter dev` recorded in data_dir, when it serves
// temporal.address; else the frontend's host on temporal.ui_port.
func uiBase(cfg *config.Config) string {
	if cfg.Temporal.UIURL != "" {
		return cfg.Temporal.UIURL
	}
	if r, ok := readDevRecord(cfg.DataDir); ok && sameAddress(r.TemporalAddress, cfg.Temporal.Address) {
		return r.UIURL
	}
	host := cfg.Temporal.Address
	if i := strings.LastIndex(host, ":"); i >= 0 {
		host = host[:i]
	}
	if host == "127.0.0.1" || host == "" || host == "0.0.0.0" {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s:%d", host, cfg.Temporal.UIPort)
}

// sameAddress reports whether two HOST:PORT name the same frontend: the
// same port on the same host, any loopback name being the same host.
func sameAddress(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if err := errors.Join(errA, errB); err != nil || pa != pb {
		return false
	}
	return ha == hb || (isLoopbackHost(ha) && isLoopbackHost(hb))
}

func isLoopbackHost(host string) bool {
	switch host {
	case "", "localhost", "0.0.0.0", "::":
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runUIURL is the Web UI page of a run, on uiBase.
func runUIURL(cfg *config.Config, workflowID, runID string) string {
	return webUIRunURL(uiBase(cfg), cfg.Temporal.Namespace, workflowID, runID)
}

// webUIRunURL is the Web UI page of a run.
func webUIRunURL(uiBase, namespace, workflowID, runID string) string {
	return webui.RunURL(uiBase, namespace, workflowID, runID)
}
