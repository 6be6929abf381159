package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// The disk-full scenario's settings: a smaller catalog than the other
// scenarios' (three runs of it), on a filesystem big enough for it.
const (
	diskFullArtists = 500
	// diskFullSize is the tmpfs the lake lives on.
	diskFullSize = 16 << 20
	// diskFullHeadroom is what the ballast leaves free: less than a curated
	// partition, so the second run cannot stage one.
	diskFullHeadroom = 256 << 10
	// diskFullErrWait bounds the wait for the run to hit the full disk.
	diskFullErrWait = 3 * time.Minute
)

// noSpace is the text of ENOSPC in every error the run reports.
const noSpace = "no space left on device"

// TestDiskFull fills the lake's filesystem (a tmpfs the test mounts; it
// needs root) during a re-run of a date that has completed once, and
// checks that the run fails or retries with an error naming the lake path
// and "no space left on device", that readers see the previous partition
// whole or none, that the worker stays up (the same process, /healthz
// answering), and that once space is freed the date completes with the
// first run's output.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos end-to-end test: embedded Temporal server, a worker process and a tmpfs mount")
	}
	// Mounted first: a machine that cannot mount skips (or fails) before
	// anything starts, and the mount outlives the stack's processes.
	fsDir := mountSmallFS(t, t.TempDir(), diskFullSize)
	metricsPort, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	metricsAddr := "127.0.0.1:" + strconv.Itoa(metricsPort)
	opts := fakeOptions()
	opts.Artists, opts.Latency = diskFullArtists, 10*time.Millisecond
	s := newStack(t, "diskfull", stackOptions{fake: opts, env: []string{"METRONOME_WORKER_METRICS_ADDR=" + metricsAddr}})
	lakeDir := filepath.Join(s.dir, "lake")
	// The lake is a directory of the small filesystem under the path the
	// stack configures, so errors name that path.
	require.NoError(t, os.Mkdir(filepath.Join(fsDir, "lake"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(fsDir, "lake"), lakeDir))

	w := s.startWorker()
	ctx := context.Background()

	// 1. A first run publishes the date's partitions.
	first := s.start(ctx, runDate)
	s.wait(ctx, first)
	prev := s.output(runDate)
	require.Positive(t, prev.RowCount())
	used := fsUsed(t, fsDir)
	t.Logf("first run: %d curated rows, the lake takes %d KiB of the %d KiB filesystem", prev.RowCount(), used>>10, diskFullSize>>10)

	// 2. The ballast leaves diskFullHeadroom free; the date runs again.
	ballast := filepath.Join(fsDir, "ballast")
	fillFS(t, fsDir, ballast, diskFullHeadroom)
	second := s.start(ctx, runDate)
	require.NotEqual(t, first.GetRunID(), second.GetRunID())
	msg, failed := awaitDiskFullError(t, s.c, second, diskFullErrWait)
	t.Logf("second run on a full disk (failed: %v): %s", failed, msg)
	require.Contains(t, msg, lakeDir, "the error names the lake path")
	require.Contains(t, strings.ToLower(msg), noSpace)

	// 3. Readers see the previous partition whole, or none.
	checkPreviousOrNone(t, s.dir, prev)

	// 4. The worker did not crash: the process the test started answers
	// /healthz.
	require.False(t, w.Exited(), "the worker exited on a full disk: see %s.log", w.Name)
	requireHealthy(t, metricsAddr)

	// 5. Space freed, the date completes: the retrying run goes on (when
	// it still retries), and a re-run completes too.
	require.NoError(t, os.Remove(ballast))
	freed := time.Now()
	if !failed {
		s.wait(ctx, second)
		t.Logf("the retrying run completed %.1fs after the ballast was removed", time.Since(freed).Seconds())
		requireSameOutput(t, s, prev)
	}
	rerun := s.start(ctx, runDate)
	s.wait(ctx, rerun)
	requireSameOutput(t, s, prev)
	// One worker process served every run, and never panicked.
	require.False(t, w.Exited(), "the worker exited")
	require.Equal(t, 1, s.started)
	requireHealthy(t, metricsAddr)
	s.close()
	log, err := os.ReadFile(filepath.Join(s.dir, w.Name+".log"))
	require.NoError(t, err)
	require.NotContains(t, string(log), "panic")
}

// requireSameOutput checks that the stack's output of runDate is prev.
func requireSameOutput(t *testing.T, s *stack, prev Output) {
	t.Helper()
	d := Compare(prev, s.output(runDate))
	require.True(t, d.Identical(), "output after the disk was freed differs from the first run's: %s", d)
}

// mountSmallFS mounts a tmpfs of size bytes on dir and unmounts it when
// the test ends. Mounting needs root: elsewhere the test skips, saying
// why, except in CI (CI=true), where it fails.
func mountSmallFS(t *testing.T, dir string, size int64) string {
	t.Helper()
	cannot := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("disk-full test cannot run in CI: %s", msg)
		}
		t.Skipf("disk-full test skipped: %s (it fails instead when CI=true)", msg)
	}
	if os.Geteuid() != 0 {
		cannot("mounting a tmpfs needs root, and this test runs as uid %d", os.Geteuid())
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size>>10, 10)+"k", "tmpfs", dir).CombinedOutput()
	if err != nil {
		cannot("mount -t tmpfs on %s: %v: %s", dir, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		// Lazy: a process still holding a file there does not keep the
		// mount alive.
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount -l %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fsUsed is the bytes in use on the filesystem of dir.
func fsUsed(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// fillFS allocates the file path so that headroom bytes stay free on the
// filesystem of dir.
func fillFS(t *testing.T, dir, path string, headroom int64) {
	t.Helper()
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	free := int64(st.Bavail) * st.Bsize
	require.Greater(t, free, headroom, "the filesystem has less than the headroom free before the ballast")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Fallocate(int(f.Fd()), 0, 0, free-headroom), "allocate the ballast %s", path)
}

// awaitDiskFullError waits for the run to report an error that says the
// disk is full: the last failure of a pending activity that retries, or
// the run's own failure. It returns the message and whether the run failed.
func awaitDiskFullError(t *testing.T, c client.Client, run client.WorkflowRun, limit time.Duration) (string, bool) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	var seen []string
	for time.Now().Before(deadline) {
		desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		require.NoError(t, err)
		for _, pa := range desc.GetPendingActivities() {
			if m := pa.GetLastFailure().GetMessage(); m != "" {
				if strings.Contains(strings.ToLower(m), noSpace) {
					return pa.GetActivityType().GetName() + ": " + m, false
				}
				if !slices.Contains(seen, m) {
					seen = append(seen, m)
				}
			}
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			err := run.Get(ctx, nil)
			require.Error(t, err, "the run completed on a full disk")
			return failureText(err), true
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the run reported no %q within %v; other failures: %q", noSpace, limit, seen)
	return "", false
}

// failureText is a run's error with every cause's message, where the
// activity's own error (and so the path) is.
func failureText(err error) string {
	var parts []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		var app *temporal.ApplicationError
		if errors.As(e, &app) {
			parts = append(parts, app.Error())
			break
		}
	}
	return err.Error() + ": " + strings.Join(parts, ": ")
}

// checkPreviousOrNone checks that each curated table of runDate holds the
// previous run's rows exactly, or no partition at all.
func checkPreviousOrNone(t *testing.T, dir string, prev Output) {
	t.Helper()
	ctx := context.Background()
	store := mustLake(t, dir)
	got := readDirOutput(t, dir, runDate)
	for _, table := range tables.All {
		keys, err := store.List(ctx, lake.CuratedPrefix(table, runDate))
		require.NoError(t, err)
		if len(keys) == 0 {
			t.Logf("curated %s of %s: no partition", table, runDate)
			continue
		}
		require.Equal(t, prev.Rows[table], got.Rows[table], "curated %s of %s is the previous partition, whole", table, runDate)
	}
}

// requireHealthy checks that the worker at addr answers /healthz.
func requireHealthy(t *testing.T, addr string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	require.NoError(t, err, "worker /healthz at %s", addr)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "worker /healthz at %s", addr)
}
