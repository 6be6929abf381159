package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/metronome-data/metronome/internal/lake"
)

// Manifest is the document written to manifests/dt=D/pipeline.json last, so
// a date with a manifest is a complete date: counts, keys, the data-quality
// report and lineage.
type Manifest struct {
	ManifestInput
	// CallsPerArtist is the run's Spotify calls by endpoint, per artist.
	CallsPerArtist map[string]float64 `json:"calls_per_artist"`
	CodeVersion    string             `json:"code_version"`
	GoVersion      string             `json:"go_version"`
	WrittenAt      string             `json:"written_at"`
}

// WriteManifest writes the run's manifest.
func (a *Activities) WriteManifest(ctx context.Context, in ManifestInput) (ManifestResult, error) {
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
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return ManifestResult{}, fmt.Errorf("encode manifest of %s: %w", in.Date, err)
	}
	key := lake.ManifestKey(in.Date)
	if err := a.Lake.Put(ctx, key, bytes.NewReader(body)); err != nil {
		return ManifestResult{}, fmt.Errorf("write manifest %s: %w", key, err)
	}
	return ManifestResult{Key: key}, nil
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
		return m, fmt.Errorf("decode manifest of %s: %w", date, err)
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
