package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// --spotify-mode is refused, exit 2, before anything starts: a value that
// is no mode, and any mode with Spotify credentials, whose app has its own.
func TestDevSpotifyModeRefused(t *testing.T) {
	tests := []struct {
		name  string
		creds bool
		mode  string
		want  string
	}{
		{"no such mode", false, "basic", `--spotify-mode "basic": want extended or development`},
		{"credentials set", true, "development", "--spotify-mode development: Spotify credentials are set (SPOTIFY_ID/SPOTIFY_SECRET)"},
		{"credentials set, extended too", true, "extended", "the API mode is your Spotify app's own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolateEnv(t)
			if tt.creds {
				t.Setenv("SPOTIFY_ID", "id")
				t.Setenv("SPOTIFY_SECRET", "secret")
			}
			var stdout, stderr bytes.Buffer
			code := execute([]string{"dev", "--exit", "--data", filepath.Join(dir, "data"), "--spotify-mode", tt.mode}, &stdout, &stderr)
			require.Equal(t, 2, code, "stdout %s\nstderr %s", stdout.String(), stderr.String())
			require.Contains(t, stderr.String(), tt.want)
			require.NotContains(t, stdout.String(), "Temporal server", "refused before the server starts")
			require.NoDirExists(t, filepath.Join(dir, "data", "lake"))
		})
	}
}

// TestDevInDevelopmentMode is `starter dev --exit --spotify-mode
// development` end to end: the sample catalog plays development mode, the
// pipeline probes it, curated artists have NULL popularity and followers
// (and NULL genres where the fake served none), and the summary says what
// extended mode would add.
func TestDevInDevelopmentMode(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server, worker and pipeline")
	}
	dir := isolateEnv(t)
	t.Setenv("METRONOME_SPOTIFY_FAKE_ARTISTS", strconv.Itoa(e2eArtists))
	t.Setenv("METRONOME_LOG_LEVEL", "warn")
	data := filepath.Join(dir, "data")
	t.Setenv("METRONOME_DATA_DIR", data) // for `starter artist get`
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := runDevMode(t, ctx, data, backend{
		lakeURL:    "file://" + filepath.Join(data, "lake"),
		servingURL: "sqlite://" + filepath.Join(data, "serving.db"),
		localLake:  filepath.Join(data, "lake"),
	}, "development")
	require.Contains(t, run.manifest.Collect.Unavailable, "popularity")
	require.Positive(t, run.manifest.Clean.Report.RowsOut["albums"], "discography by album")
}
