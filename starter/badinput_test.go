package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/tables"
)

// listFiles returns the paths under dir, relative and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		out = append(out, rel)
		return err
	}))
	sort.Strings(out)
	return out
}

// Bad input the command line can judge exits with code 2 and one line
// naming the value, before it connects to Temporal (TEMPORAL_ADDRESS
// points at a port nobody listens on: getting that far would exit 1) or
// writes anything. This adds the artist files, crons, durations, dates and
// URLs that usage_test.go and cli_test.go do not cover.
func TestBadInputExitsWithCode2(t *testing.T) {
	dir := isolateEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	write := func(name string, body []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, body, 0o644))
		return path
	}
	var manyLines bytes.Buffer
	for i := range maxRunArtists + 1 {
		fmt.Fprintf(&manyLines, "Artist %05d\n", i)
	}
	tooMany := write("too-many.txt", manyLines.Bytes())
	hugeSize := (maxArtistsFileBytes/10 + 1) * 10
	huge := write("huge.txt", bytes.Repeat([]byte("Daft Punk\n"), hugeSize/10))
	longLine := write("long-line.txt", append(bytes.Repeat([]byte("A"), 70_000), '\n'))
	nul := write("nul.txt", []byte("Daft Punk\nAir\x00\n"))
	utf16 := write("utf16.txt", []byte("\xff\xfeD\x00a\x00f\x00t\x00\n\x00"))
	latin1 := write("latin1.txt", []byte("Bj\xf6rk\n"))
	escape := write("escape.txt", []byte("Daft Punk\n\x1b[31mAir\n"))
	onlyComments := write("comments.txt", []byte("# artists\n\n   \n# none yet\n"))
	manyArtists := make([]string, maxRunArtists+1)
	for i := range manyArtists {
		manyArtists[i] = fmt.Sprintf("a%d", i)
	}
	inputs := listFiles(t, dir)

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		// artist files
		{"huge artists file", []string{"run", "--artists-file", huge}, nil,
			fmt.Sprintf("--artists-file %s is %d bytes, more than the %d", huge, hugeSize, maxArtistsFileBytes)},
		{"too many artists in a file", []string{"run", "--artists-file", tooMany}, nil,
			fmt.Sprintf("names %d artists, more than the %d one run accepts", maxRunArtists+1, maxRunArtists)},
		{"too many artists in a flag", []string{"run", "--artists", strings.Join(manyArtists, ",")}, nil,
			fmt.Sprintf("names %d artists", maxRunArtists+1)},
		{"line too long", []string{"run", "--artists-file", longLine}, nil, "artists file " + longLine + ": bufio.Scanner: token too long"},
		{"NUL byte", []string{"run", "--artists-file", nul}, nil, "artists file " + nul + " line 2 is not text"},
		{"UTF-16 file", []string{"run", "--artists-file", utf16}, nil, "artists file " + utf16 + " line 1 is not text"},
		{"Latin-1 file", []string{"run", "--artists-file", latin1}, nil, "artists file " + latin1 + " line 1 is not text"},
		{"terminal escape", []string{"run", "--artists-file", escape}, nil, "artists file " + escape + " line 2 is not text"},
		{"only comments", []string{"run", "--artists-file", onlyComments}, nil, "names no artist"},
		{"directory as artists file", []string{"run", "--artists-file", dir}, nil, "is a directory"},
		// crons
		{"cron minute out of range", []string{"schedule", "create", "--cron", "61 * * * *"}, nil, `--cron "61 * * * *" is not a cron expression (Minute is not in range [0-59])`},
		{"cron hour out of range", []string{"schedule", "create", "--cron", "0 25 * * *"}, nil, `--cron "0 25 * * *" is not a cron expression (Hour is not in range [0-23])`},
		{"cron in words", []string{"schedule", "create", "--cron", "every day"}, nil, `--cron "every day" is not a cron expression`},
		{"cron with four fields", []string{"schedule", "update", "--cron", "0 3 * *"}, nil, `--cron "0 3 * *" is not a cron expression`},
		// durations
		{"duration without unit", []string{"schedule", "create", "--jitter", "5"}, nil, `invalid argument "5" for "--jitter"`},
		{"duration in words", []string{"request", "Air", "--window", "soon"}, nil, `invalid argument "soon" for "--window"`},
		{"config duration", []string{"run"}, map[string]string{"METRONOME_SPOTIFY_TIMEOUT": "10"}, "spotify.timeout"},
		// dates
		{"day out of range", []string{"run", "--date", "2026-02-30"}, nil, `--date "2026-02-30" is not a date`},
		{"date in another layout", []string{"run", "--date", "01/11/2026"}, nil, `--date "01/11/2026" is not a date`},
		{"date with time", []string{"backfill", "--from", "2026-03-01T00:00:00Z", "--to", "2026-03-02"}, nil, `--from "2026-03-01T00:00:00Z"`},
		// URLs and addresses
		{"lake URL without bucket", []string{"run"}, map[string]string{"METRONOME_LAKE_URL": "s3://"}, `lake.url = "s3://" is invalid`},
		{"serving URL without table", []string{"run"}, map[string]string{"METRONOME_SERVING_URL": "dynamodb://"}, `serving.url = "dynamodb://" is invalid`},
		{"token URL not http", []string{"run"}, map[string]string{"METRONOME_SPOTIFY_TOKEN_URL": "ftp://accounts.spotify.com/api/token"}, "spotify.token_url"},
		{"Temporal address as URL", []string{"run"}, map[string]string{"TEMPORAL_ADDRESS": "http://127.0.0.1:7233"}, `temporal.address = "http://127.0.0.1:7233" is invalid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := starter(tt.args...)
			require.Equal(t, 2, r.code, "stderr: %s", r.stderr)
			msg := strings.TrimSpace(r.stderr)
			require.Contains(t, msg, tt.want)
			require.NotContains(t, msg, "\n", "want one line")
			require.Less(t, len(msg), 600, "one readable line, not the input echoed")
		})
	}
	require.Equal(t, inputs, listFiles(t, dir), "bad input wrote nothing")
}

// A file with duplicate lines is not an error: every artist is collected
// once. pipelineInput passes the lines on as given; Resolve merges names,
// spellings and IDs of the same artist.
func TestDuplicateArtistLinesAreCollectedOnce(t *testing.T) {
	dir := isolateEnv(t)
	h := newBadInputHarness(t)
	cat := h.fake.Catalog().Artists()
	a, b := cat[0], cat[1]
	file := filepath.Join(dir, "dups.txt")
	lines := []string{a.Name, a.Name, strings.ToUpper(a.Name), "  " + a.Name + "  ", a.ID, b.ID, b.ID, b.Name}
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	cfg, err := loadConfig(newRunCommand(&globalFlags{}), &globalFlags{output: "text"}, nil)
	require.NoError(t, err)
	in, err := pipelineInput(cfg, "2026-01-01", nil, file)
	require.NoError(t, err)
	require.Len(t, in.Artists, len(lines))

	ctx := context.Background()
	res, err := h.acts.Resolve(ctx, contract.ResolveInput{Date: in.Date, Artists: in.Artists})
	require.NoError(t, err)
	require.Equal(t, 2, res.Artists)
	require.Empty(t, res.Unresolved)
	summary := h.collect(t, in.Date, res)
	require.Empty(t, summary.Missing)
	_, err = h.acts.Clean(ctx, contract.CleanInput{Date: in.Date, Mode: res.Mode})
	require.NoError(t, err)
	n, rows := countRows[tables.Artist](t, h.store, tables.Artists, in.Date)
	require.Equal(t, 2, n, "each artist once")
	got := []string{rows[0].ArtistID, rows[1].ArtistID}
	sort.Strings(got)
	want := []string{a.ID, b.ID}
	sort.Strings(want)
	require.Equal(t, want, got)
}

// Artists only the run can judge: a run whose names all resolve to nothing
// fails in Resolve with a non-retryable BadInput error naming them, and
// leaves the lake as it was, even for a date that already holds data.
func TestUnknownArtistsFailTheRunAndWriteNothing(t *testing.T) {
	h := newBadInputHarness(t)
	ctx := context.Background()
	cat := h.fake.Catalog().Artists()

	// An earlier good run of the date.
	const date = "2026-01-02"
	good, err := h.acts.Resolve(ctx, contract.ResolveInput{Date: date, Artists: []string{cat[0].Name, cat[1].Name}})
	require.NoError(t, err)
	h.collect(t, date, good)
	_, err = h.acts.Clean(ctx, contract.CleanInput{Date: date, Mode: good.Mode})
	require.NoError(t, err)
	before := h.snapshot(t)
	require.NotEmpty(t, before)

	tests := []struct {
		name    string
		date    string
		artists []string
		want    string
	}{
		{"unknown names", date, []string{"No Such Artist zzqx", "Another Unknown Band qqzx"},
			`none of the 2 artists could be resolved to a Spotify ID (unresolved: No Such Artist zzqx, Another Unknown Band qqzx)`},
		{"unknown names, new date", "2026-01-03", []string{"Nobody At All xqzz"}, "none of the 1 artists could be resolved"},
		{"only blanks", date, []string{" ", "\t"}, "none of the 2 artists could be resolved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.acts.Resolve(ctx, contract.ResolveInput{Date: tt.date, Artists: tt.artists})
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
			require.Equal(t, contract.ErrBadInput, appErr.Type())
			require.True(t, appErr.NonRetryable(), "no retry can fix the input")
			require.Contains(t, appErr.Error(), tt.want)
			require.Equal(t, before, h.snapshot(t), "the lake is unchanged")
		})
	}

	// Known and unknown names together: the run goes on with the known
	// ones and reports the others.
	mixed, err := h.acts.Resolve(ctx, contract.ResolveInput{Date: "2026-01-04", Artists: []string{cat[2].Name, "No Such Artist zzqx"}})
	require.NoError(t, err)
	require.Equal(t, 1, mixed.Artists)
	require.Equal(t, []string{"No Such Artist zzqx"}, mixed.Unresolved)

	// Nothing to collect at all: no artists given, none tracked, no seeds.
	empty := *h.acts
	empty.Settings.Seeds = nil
	_, err = (&empty).Resolve(ctx, contract.ResolveInput{Date: "2026-01-05"})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, contract.ErrBadInput, appErr.Type())
	require.True(t, appErr.NonRetryable())
}

// badInputHarness is the activities on local backends: the fake Spotify
// over HTTP, a file lake and SQLite.
type badInputHarness struct {
	acts    *activities.Activities
	fake    *spotifyfake.Server
	store   lake.Store
	lakeDir string
}

func newBadInputHarness(t *testing.T) *badInputHarness {
	t.Helper()
	ctx := context.Background()
	url, fake, stop, err := spotifyfake.StartServer(ctx, spotifyfake.Options{Artists: 20, Seed: 1})
	require.NoError(t, err)
	t.Cleanup(stop)
	dir := t.TempDir()
	lakeDir := filepath.Join(dir, "lake")
	store, err := lake.Open(ctx, "file://"+lakeDir)
	require.NoError(t, err)
	srv, err := serving.Open(ctx, "sqlite://"+filepath.Join(dir, "serving.db"))
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	sp, err := spotify.New(ctx, spotify.Options{
		ClientID: spotifyfake.DefaultClientID, ClientSecret: spotifyfake.DefaultClientSecret,
		BaseURL: url + "/v1/", TokenURL: url + "/api/token",
	})
	require.NoError(t, err)
	return &badInputHarness{fake: fake, store: store, lakeDir: lakeDir, acts: &activities.Activities{
		Spotify: sp, Lake: store, Serving: srv,
		Settings: activities.Settings{APIMode: "auto", Market: "US", BatchSize: 50, MaxRejectRate: 0.05,
			Seeds: []string{fake.Catalog().Artists()[0].Name}},
	}}
}

// collect runs every collect batch of a resolved run, as the workflow does.
func (h *badInputHarness) collect(t *testing.T, date string, res contract.ResolveResult) contract.CollectSummary {
	t.Helper()
	var s contract.CollectSummary
	for b := range res.Batches {
		r, err := h.acts.CollectBatch(context.Background(), contract.CollectInput{
			Date: date, ArtistsKey: res.ArtistsKey, Batch: b, BatchSize: res.BatchSize, Mode: res.Mode,
		})
		require.NoError(t, err)
		s.Add(r)
	}
	return s
}

// snapshot maps every lake object to its content.
func (h *badInputHarness) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.Walk(h.lakeDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[strings.TrimPrefix(path, h.lakeDir)] = string(b)
		return err
	}))
	return out
}
