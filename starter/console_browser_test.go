package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// browserScript finds what the browser test needs: node, Chromium and the
// e2e/console packages (npm ci). Without them the test skips locally and
// fails in CI (CI set), where .ci/run installs them: a browser test that
// silently skips in CI would test nothing.
func browserScript(t *testing.T) (node, script string) {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	dir := filepath.Join(filepath.Dir(wd), "e2e", "console")
	script = filepath.Join(dir, "console.mjs")
	var missing []string
	node, err = exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (Node.js)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "e2e/console/node_modules (cd e2e/console && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci)")
	}
	if len(missing) > 0 {
		msg := "the browser test needs " + strings.Join(missing, ", ")
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; .ci/run installs them")
		}
		t.Skip(msg)
	}
	return node, script
}

var consoleLine = regexp.MustCompile(`Data console +(http://\S+)`)

// TestConsoleInBrowser runs the data console of `starter dev` in headless
// Chromium with Playwright (e2e/console/console.mjs): every route, the
// grid to a date and on to the Temporal Web UI, the artist search and an
// artist's charts with one point per date the lake holds for it, with zero
// console errors and failed requests.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts starter dev, three pipeline runs and Chromium")
	}
	node, script := browserScript(t)
	dir := isolateEnv(t)
	data := filepath.Join(dir, "data")
	// METRONOME_CONSOLE_SCREENSHOTS keeps them somewhere to look at.
	screenshots := os.Getenv("METRONOME_CONSOLE_SCREENSHOTS")
	if screenshots == "" {
		screenshots = filepath.Join(t.TempDir(), "screenshots")
	}
	require.NoError(t, os.MkdirAll(screenshots, 0o755))
	port, uiPort := freePorts(t)
	t.Setenv("METRONOME_SERVE_ADDR", "127.0.0.1:0")

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	devCtx, stopDev := context.WithCancel(ctx)
	out := &syncBuffer{}
	devDone := make(chan error, 1)
	go func() {
		root := newRootCommand()
		root.SetArgs([]string{"dev", "--data", data, "--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort)})
		root.SetOut(out)
		root.SetErr(out)
		devDone <- root.ExecuteContext(devCtx)
	}()
	defer func() {
		stopDev()
		select {
		case <-devDone:
		case <-time.After(time.Minute):
			t.Error("starter dev did not stop within a minute of its context")
		}
	}()

	// dev's own run of today, then yesterday (still in its capture window)
	// and a date three days back captured late, so the artist has a history.
	today := time.Now().UTC().Format(time.DateOnly)
	waitFor(t, devDone, out, "run of "+today+" finished", 10*time.Minute)
	m := consoleLine.FindStringSubmatch(out.String())
	require.NotNil(t, m, "starter dev printed no `Data console  URL` line:\n%s", out)
	consoleURL := m[1]
	t.Setenv("METRONOME_TEMPORAL_ADDRESS", fmt.Sprintf("127.0.0.1:%d", port))
	yesterday, past := daysAgo(1), daysAgo(3)
	for _, args := range [][]string{{"run", "--date", yesterday, "--wait"}, {"run", "--date", past, "--capture-now", "--wait"}} {
		runOut, err := runStarter(t, ctx, args...)
		require.NoError(t, err, runOut)
		require.Contains(t, runOut, "run of "+args[2]+" finished", runOut)
	}

	id, name, dates := artistWithHistory(t, ctx, "file://"+filepath.Join(data, "lake"), []string{past, yesterday, today})
	require.Len(t, dates, 3, "artist %s has a row on each of the three dates", id)
	arg, err := json.Marshal(map[string]any{
		"url": consoleURL, "out": screenshots, "date": today,
		"artist": map[string]any{"id": id, "name": name, "dates": dates},
	})
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, node, script, string(arg))
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumPath)
	output, err := cmd.CombinedOutput()
	t.Logf("console.mjs (screenshots in %s):\n%s", screenshots, output)
	require.NoError(t, err, "the browser test failed: see its FAIL lines above")
	shots, _ := filepath.Glob(filepath.Join(screenshots, "*.png"))
	require.GreaterOrEqual(t, len(shots), 10, "a screenshot of every page")
}

// waitFor waits until the output of `starter dev` holds want, failing if
// dev stops first or the time runs out.
func waitFor(t *testing.T, devDone <-chan error, out *syncBuffer, want string, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-devDone:
			t.Fatalf("starter dev stopped before %q: %v\n%s", want, err, out)
		case <-deadline:
			t.Fatalf("no %q from starter dev within %v:\n%s", want, limit, out)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// artistWithHistory picks the first artist (by ID) of the last date and
// returns the dates among dates on which the lake has its popularity and
// followers: the points its charts must show.
func artistWithHistory(t *testing.T, ctx context.Context, lakeURL string, dates []string) (id, name string, with []string) {
	t.Helper()
	store, err := lake.Open(ctx, lakeURL)
	require.NoError(t, err)
	byDate := map[string]map[string]tables.Artist{}
	for _, dt := range dates {
		_, rows := countRows[tables.Artist](t, store, tables.Artists, dt)
		byDate[dt] = map[string]tables.Artist{}
		for _, r := range rows {
			byDate[dt][r.ArtistID] = r
		}
	}
	last := byDate[dates[len(dates)-1]]
	ids := make([]string, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		t.Fatal(errors.New("the lake has no artists on " + dates[len(dates)-1]))
	}
	slices.Sort(ids)
	id, name = ids[0], last[ids[0]].Name
	for _, dt := range dates {
		if r, ok := byDate[dt][id]; ok && r.Popularity != nil && r.Followers != nil {
			with = append(with, dt)
		}
	}
	return id, name, with
}
