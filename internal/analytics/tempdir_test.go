//go:build unix

package analytics

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ownTempDirEnv makes the test binary a process that creates an owned temp
// dir under the directory it names, prints its path and waits to be
// killed: TestStaleTempDirOfKilledProcessIsRemoved kills it with SIGKILL.
const ownTempDirEnv = "METRONOME_TEST_OWN_TEMP_DIR"

func TestMain(m *testing.M) {
	if parent := os.Getenv(ownTempDirEnv); parent != "" {
		dir, err := newOwnedTempDir(parent)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString(dir.path + "\n")
		time.Sleep(time.Hour)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestStaleTempDirOfKilledProcessIsRemoved(t *testing.T) {
	parent := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ownTempDirEnv+"="+parent)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("read the dir of the child process: %v", err)
	}
	dir := strings.TrimSpace(line)
	if err := os.WriteFile(filepath.Join(dir, "spill.tmp"), []byte("spilled"), 0o600); err != nil {
		t.Fatal(err)
	}

	removed, err := removeStaleTempDirs(parent)
	if err != nil || len(removed) != 0 {
		t.Fatalf("while its process lives: removed %v, err %v; want nothing removed", removed, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	removed, err = removeStaleTempDirs(parent)
	if err != nil || !slices.Equal(removed, []string{dir}) {
		t.Fatalf("after SIGKILL: removed %v, err %v; want [%s]", removed, err, dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("stale dir %s still there (stat: %v)", dir, err)
	}
}

func TestRemoveStaleTempDirsKeepsWhatIsNotStale(t *testing.T) {
	parent := t.TempDir()
	owned, err := newOwnedTempDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	// Being created: no lock file yet.
	unlocked := filepath.Join(parent, tempDirPrefix+"new")
	// Not ours.
	other := filepath.Join(parent, "other-dir")
	for _, dir := range []string{unlocked, other} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(other, ownerLockName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Closed without removal, as after a crash.
	crashed, err := newOwnedTempDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	crashed.lock.Close()

	removed, err := removeStaleTempDirs(parent)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{crashed.path}) {
		t.Fatalf("removed %v, want only the crashed engine's %s", removed, crashed.path)
	}
	for _, dir := range []string{owned.path, unlocked, other} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s was removed: %v", dir, err)
		}
	}

	if err := owned.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(owned.path); !os.IsNotExist(err) {
		t.Errorf("remove left %s (stat: %v)", owned.path, err)
	}
}

// TestEngineRecreatesRemovedTempDir: whatever removes an engine's temp dir
// (a temp cleaner, a person), the engine's next query recreates it and
// works, and a dir the engine made is locked again against sweeps.
func TestEngineRecreatesRemovedTempDir(t *testing.T) {
	lakeRoot := t.TempDir()
	writeLake(t, lakeRoot, syntheticLake(20, 7, 0.5))
	for _, tc := range []struct {
		name   string
		given  bool   // the caller gives the temp dir
		remove string // relative to the temp dir
	}{
		{"own dir removed", false, "."},
		{"own lock file removed", false, ownerLockName},
		{"given dir removed", true, "."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			t.Setenv("TMPDIR", parent) // the default temp dir is under os.TempDir
			var opts []Option
			if tc.given {
				opts = append(opts, WithTempDir(filepath.Join(parent, "given")))
			}
			d, err := NewDuckDB(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := os.RemoveAll(filepath.Join(d.tempDir, tc.remove)); err != nil {
				t.Fatal(err)
			}

			if _, err := d.BuildMarts(context.Background(), lakeRoot, day3); err != nil {
				t.Fatalf("build marts after the temp dir was removed: %v", err)
			}
			if _, err := d.Query(context.Background(), lakeRoot, "SELECT count(*) FROM artist_daily"); err != nil {
				t.Fatalf("query after the temp dir was removed: %v", err)
			}
			if _, err := os.Stat(d.tempDir); err != nil {
				t.Fatalf("temp dir not recreated: %v", err)
			}
			if tc.given {
				return
			}
			if removed, err := removeStaleTempDirs(parent); err != nil || len(removed) > 0 {
				t.Fatalf("a sweep removed %v (err %v): the recreated dir is not locked", removed, err)
			}
		})
	}
}
