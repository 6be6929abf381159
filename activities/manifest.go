package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
)

// Manifest is the document written to manifests/dt=D/pipeline.json last, so
// a date with a manifest is a complete date: counts, keys, the data-quality
// report and lineage.
type Manifest struct {
	contract.ManifestInput
	// LateCapture says the raw data was captured after the date's capture
	// window: its numbers are those of CapturedAt, labelled with the date.
	LateCapture bool `json:"late_capture"`
	// CapturedAt is when the capture of the processed raw data completed.
	CapturedAt string `json:"captured_at,omitempty"`
	// CaptureWindow is the first and last fetched_at of that raw data.
	CaptureWindow contract.FetchWindow `json:"capture_window"`
	// RawObjects are the raw objects the run read: key, size, SHA-256.
	RawObjects []RawObject `json:"raw_objects"`
	// Replaced is the manifest this one replaced, if the date had one.
	Replaced *ManifestRef `json:"replaced,omitempty"`
	// CallsPerArtist is the run's Spotify calls by endpoint, per artist.
	CallsPerArtist map[string]float64 `json:"calls_per_artist"`
	CodeVersion    string             `json:"code_version"`
	GoVersion      string             `json:"go_version"`
	WrittenAt      string             `json:"written_at"`
}

// ManifestRef names a manifest that a later run of its date replaced.
type ManifestRef struct {
	WorkflowID  string `json:"workflow_id"`
	RunID       string `json:"run_id"`
	Kind        string `json:"kind"`
	CodeVersion string `json:"code_version"`
	WrittenAt   string `json:"written_at"`
	// SHA256 is the hash of the replaced manifest document.
	SHA256 string `json:"sha256"`
}

// WriteManifest writes the run's manifest.
func (a *Activities) WriteManifest(ctx context.Context, in contract.ManifestInput) (res contract.ManifestResult, err error) {
	defer reportLineage(ctx, a, manifestLineage, in)(&res, &err)
	m := Manifest{ManifestInput: in, CodeVersion: codeVersion(), WrittenAt: time.Now().UTC().Format(time.RFC3339),
		CallsPerArtist: map[string]float64{}}
	if in.Resolve.Artists > 0 {
		for endpoint, n := range in.Collect.Calls {
			m.CallsPerArtist[endpoint] = float64(n) / float64(in.Resolve.Artists)
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		m.GoVersion = bi.GoVersion
	}
	if err := a.describeCapture(ctx, &m); err != nil {
		return contract.ManifestResult{}, err
	}
	if err := a.describeReplaced(ctx, &m); err != nil {
		return contract.ManifestResult{}, err
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return contract.ManifestResult{}, fmt.Errorf("encode manifest of %s: %w", in.Date, err)
	}
	key := lake.ManifestKey(in.Date)
	if err := a.Lake.Put(ctx, key, bytes.NewReader(body)); err != nil {
		return contract.ManifestResult{}, fmt.Errorf("write manifest %s: %w", key, err)
	}
	return contract.ManifestResult{Key: key}, nil
}

// describeCapture copies what the capture record says of the raw data the
// run read: kind, capture time, fetch window and every object.
func (a *Activities) describeCapture(ctx context.Context, m *Manifest) error {
	m.RawObjects = []RawObject{}
	c, found, err := ReadCapture(ctx, a.Lake, m.Date)
	if err != nil {
		return err
	}
	if !found {
		// Runs recorded before capture records existed.
		return nil
	}
	m.LateCapture, m.CapturedAt, m.CaptureWindow, m.RawObjects = c.LateCapture, c.CapturedAt, c.Window, c.Objects
	if m.Capture.Key == "" {
		m.Capture = c.summary()
	}
	return nil
}

// describeReplaced records the date's earlier manifest. A retry of this
// activity finds its own manifest there and keeps what that one replaced.
func (a *Activities) describeReplaced(ctx context.Context, m *Manifest) error {
	rc, err := a.Lake.Get(ctx, lake.ManifestKey(m.Date))
	if errors.Is(err, lake.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the manifest of %s it replaces: %w", m.Date, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read the manifest of %s it replaces: %w", m.Date, err)
	}
	var old Manifest
	if err := json.Unmarshal(body, &old); err != nil {
		// A manifest that does not decode is still replaced; say so.
		sum := sha256.Sum256(body)
		m.Replaced = &ManifestRef{Kind: "unreadable", SHA256: hex.EncodeToString(sum[:])}
		return nil
	}
	if old.RunID == m.RunID && old.WorkflowID == m.WorkflowID {
		m.Replaced = old.Replaced
		return nil
	}
	kind := old.Kind
	if kind == "" {
		kind = contract.KindCapture
	}
	sum := sha256.Sum256(body)
	m.Replaced = &ManifestRef{WorkflowID: old.WorkflowID, RunID: old.RunID, Kind: kind,
		CodeVersion: old.CodeVersion, WrittenAt: old.WrittenAt, SHA256: hex.EncodeToString(sum[:])}
	return nil
}

// ReadManifest reads the manifest of date.
func ReadManifest(ctx context.Context, store lake.Store, date string) (Manifest, error) {
	var m Manifest
	rc, err := store.Get(ctx, lake.ManifestKey(date))
	if err != nil {
		return m, fmt.Errorf("read manifest of %s: %w", date, err)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the object is empty")
		}
		return m, fmt.Errorf("decode manifest of %s: %s is not a valid manifest (JSON): %w; reprocess the date to rewrite it: starter backfill --from %s --to %s --rerun",
			date, lake.ManifestKey(date), err, date, date)
	}
	return m, nil
}

// Version is set at build time with -ldflags "-X …/activities.Version=…".
var Version = ""

func codeVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
		if bi.Main.Version != "" {
			return bi.Main.Version
		}
	}
	return "devel"
}
