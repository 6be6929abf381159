package analytics

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// tempDirPrefix names the temp dirs NewDuckDB creates under os.TempDir.
const tempDirPrefix = "metronome-duckdb-"

// ownerLockName is the file in a temp dir that its process holds locked
// for as long as it uses the dir. The kernel drops the lock when the
// process dies, however it dies, so a dir whose lock can be taken has no
// owner left.
const ownerLockName = ".owner.lock"

// ownedTempDir is a temp dir of this process, locked against removal by
// removeStaleTempDirs of other engines and processes.
type ownedTempDir struct {
	path    string
	mu      sync.Mutex // guards lock, which ensure replaces, and removed
	lock    *os.File
	removed bool // by remove: ensure must not bring the dir back
}

// newOwnedTempDir creates a temp dir under parent and locks it. A worker
// killed with SIGKILL cannot remove its dir, and DuckDB may have spilled
// gigabytes into it: the lock lets the next engine remove it instead.
func newOwnedTempDir(parent string) (*ownedTempDir, error) {
	dir, err := os.MkdirTemp(parent, tempDirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("create duckdb temp dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	return &ownedTempDir{path: dir, lock: lock}, nil
}

// lockDir gives dir a lock file that is already locked when it appears
// under its name. Creating .owner.lock and then locking it left a window
// in which the sweep of another process found the file unlocked, took the
// lock and removed the dir; this process then locked a deleted file and
// went on with a dir that was gone. A file locked under a name of its own
// and renamed into place has no such window, and the sweep leaves a dir
// without a lock file alone.
func lockDir(dir string) (*os.File, error) {
	lock, err := os.CreateTemp(dir, ownerLockName+"-*")
	if err != nil {
		return nil, fmt.Errorf("create lock of duckdb temp dir %q: %w", dir, err)
	}
	err = lockOwner(lock)
	if err == nil {
		err = os.Rename(lock.Name(), filepath.Join(dir, ownerLockName))
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("lock duckdb temp dir %q: %w", dir, err), lock.Close(), os.Remove(lock.Name()))
	}
	return lock, nil
}

// ensure recreates the dir and its lock if they are gone, so that an
// engine outlives whatever removed them (a temp cleaner, a person) instead
// of failing every query after. It is safe for concurrent use.
func (t *ownedTempDir) ensure() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.removed {
		return fmt.Errorf("duckdb temp dir %q: the engine is closed", t.path)
	}
	if t.holdsLock() {
		return nil
	}
	if err := os.MkdirAll(t.path, 0o700); err != nil {
		return fmt.Errorf("recreate duckdb temp dir %q: %w", t.path, err)
	}
	lock, err := lockDir(t.path)
	if err != nil {
		return fmt.Errorf("recreate duckdb temp dir: %w", err)
	}
	// Closed only now: a sweep that opened the old lock file could take it
	// once it is closed, and must then find the new one in its place.
	t.lock.Close()
	t.lock = lock
	return nil
}

// holdsLock reports whether the dir's lock file is still the file t holds.
func (t *ownedTempDir) holdsLock() bool {
	return isLockOf(t.lock, t.path)
}

// isLockOf reports whether f is the file named .owner.lock in dir now.
func isLockOf(f *os.File, dir string) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	named, err := os.Stat(filepath.Join(dir, ownerLockName))
	return err == nil && os.SameFile(held, named)
}

// remove removes the dir and then releases it.
func (t *ownedTempDir) remove() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removed = true
	err := os.RemoveAll(t.path)
	if err != nil {
		err = fmt.Errorf("remove duckdb temp dir %q: %w", t.path, err)
	}
	return errors.Join(err, t.lock.Close())
}

// removeStaleTempDirs removes the temp dirs under parent that NewDuckDB
// created in processes that are gone. A dir without a lock file is left
// alone: its engine may be between creating the dir and locking it. It
// returns the dirs removed; a dir it cannot remove is reported in err and
// does not stop the others.
func removeStaleTempDirs(parent string) (removed []string, err error) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("list stale duckdb temp dirs in %q: %w", parent, err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempDirPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		stale, err := removeIfStale(dir)
		if err != nil {
			errs = append(errs, err)
		}
		if stale {
			removed = append(removed, dir)
		}
	}
	return removed, errors.Join(errs...)
}

// removeIfStale removes dir if no process holds its lock, holding the lock
// itself meanwhile so that two cleaners do not race.
func removeIfStale(dir string) (bool, error) {
	lock, err := os.OpenFile(filepath.Join(dir, ownerLockName), os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("open lock of duckdb temp dir %q: %w", dir, err)
	}
	defer lock.Close()
	unowned, err := isUnowned(lock)
	if err != nil || !unowned {
		return false, err
	}
	// The file may have been replaced between opening and locking it:
	// another sweep removed the dir, or its engine recreated it with a new
	// lock (ensure) and released the old one.
	if !isLockOf(lock, dir) {
		return false, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("remove stale duckdb temp dir %q: %w", dir, err)
	}
	return true, nil
}
