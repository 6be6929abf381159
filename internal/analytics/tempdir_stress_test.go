//go:build unix

package analytics

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stressParentEnv makes TestHelperProcess a process that creates, uses,
// closes, abandons (as a crash would) and sweeps engines with their temp
// dirs under the directory it names, until stressUntilEnv (Unix
// milliseconds); it exits 1 as soon as a dir of one of its live engines
// is gone.
const (
	stressParentEnv = "METRONOME_TEST_TEMPDIR_STRESS"
	stressUntilEnv  = "METRONOME_TEST_TEMPDIR_STRESS_UNTIL"
)

// TestTempDirsSurviveConcurrentSweeps runs several processes that each
// create engines (which sweeps the parent first), use them, close them and
// abandon some, under one parent dir, for stressDuration: none may ever
// lose the dir of an engine it is still using. Helpers exit abruptly, with
// their engines open, and are replaced, so the sweeps find dirs of dead
// processes too; at the end every dir left behind is stale and one sweep
// removes them all.
func TestTempDirsSurviveConcurrentSweeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes for 30s")
	}
	const (
		stressDuration = 30 * time.Second
		processes      = 4
	)
	parent := t.TempDir()
	until := time.Now().Add(stressDuration)

	var mu sync.Mutex
	var failures []string
	var stats []string
	var wg sync.WaitGroup
	for p := range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each helper lives a few seconds and dies: its successor
			// finds its dirs stale.
			for gen := 0; time.Now().Before(until); gen++ {
				out, err := runStressHelper(parent, until)
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("helper %d.%d: %v\n%s", p, gen, err, out))
				} else {
					stats = append(stats, strings.TrimSpace(out))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	var created, used, removed int
	for _, s := range stats {
		var c, u, r int
		if _, err := fmt.Sscanf(lastLine(s), "created %d used %d removed %d", &c, &u, &r); err != nil {
			t.Errorf("helper output %q: %v", s, err)
		}
		created, used, removed = created+c, used+u, removed+r
	}
	t.Logf("%d helper processes: %d engines created, %d sessions, %d stale dirs removed by sweeps", len(stats), created, used, removed)
	if removed == 0 {
		t.Error("no sweep removed a stale dir: the test did not exercise the sweep")
	}

	// Every helper is gone: whatever is left is stale.
	if _, err := removeStaleTempDirs(parent); err != nil {
		t.Fatal(err)
	}
	left, err := filepath.Glob(filepath.Join(parent, tempDirPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("after every process exited, a sweep left %v", left)
	}
}

func lastLine(s string) string {
	return s[strings.LastIndex(s, "\n")+1:]
}

// runStressHelper runs one helper process and returns its output.
func runStressHelper(parent string, until time.Time) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(),
		stressParentEnv+"="+parent,
		stressUntilEnv+"="+strconv.FormatInt(until.UnixMilli(), 10),
		// NewDuckDB's default temp dir is under os.TempDir.
		"TMPDIR="+parent)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestHelperProcess is a helper process of
// TestTempDirsSurviveConcurrentSweeps, and does nothing otherwise.
func TestHelperProcess(t *testing.T) {
	parent := os.Getenv(stressParentEnv)
	if parent == "" {
		return
	}
	ms, err := strconv.ParseInt(os.Getenv(stressUntilEnv), 10, 64)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	if err := stressEngines(parent, time.UnixMilli(ms)); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	os.Exit(0)
}

// stressEngines runs engines under parent (which is os.TempDir) for a
// random lifetime of at most 4s or until until, then returns with its
// engines still open, as a crash would leave them; it prints what it did.
func stressEngines(parent string, until time.Time) error {
	end := time.Now().Add(time.Duration(500+rand.IntN(3500)) * time.Millisecond)
	if end.After(until) {
		end = until
	}
	lake, err := os.MkdirTemp(parent, "lake-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(lake)
	ctx := context.Background()
	var live []*DuckDB
	var created, used int
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for time.Now().Before(end) {
		for _, d := range live {
			if _, err := os.Stat(filepath.Join(d.tempDir, ownerLockName)); err != nil {
				return fmt.Errorf("lost the temp dir of a live engine: %w", err)
			}
		}
		i := rand.IntN(max(len(live), 1))
		switch op := rand.IntN(6); {
		case len(live) < 4 && (op < 2 || len(live) == 0):
			d, err := NewDuckDB(WithThreads(1))
			if err != nil {
				return fmt.Errorf("new engine: %w", err)
			}
			if !strings.HasPrefix(d.tempDir, parent) {
				return fmt.Errorf("temp dir %s not under %s", d.tempDir, parent)
			}
			if _, err := os.Stat(filepath.Join(d.tempDir, ownerLockName)); err != nil {
				return fmt.Errorf("lost the temp dir of a new engine: %w", err)
			}
			live = append(live, d)
			created++
		case op < 4:
			err := live[i].session(ctx, lake, func(conn *sql.Conn) error {
				_, err := conn.ExecContext(ctx, "SELECT 1")
				return err
			})
			if err != nil {
				return fmt.Errorf("use engine: %w", err)
			}
			used++
		case op == 4:
			if err := live[i].Close(); err != nil {
				return fmt.Errorf("close engine: %w", err)
			}
			live = append(live[:i], live[i+1:]...)
		default:
			// As if its process had died: the lock goes, the dir stays.
			live[i].db.Close()
			live[i].ownedTemp.lock.Close()
			live = append(live[:i], live[i+1:]...)
		}
	}
	removed, err := removeStaleTempDirs(parent)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	fmt.Fprintf(out, "created %d used %d removed %d\n", created, used, len(removed))
	return nil
}
