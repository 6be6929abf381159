package analytics

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	path string
	lock *os.File
}

// newOwnedTempDir creates a temp dir under parent and locks it. A worker
// killed with SIGKILL cannot remove its dir, and DuckDB may have spilled
// gigabytes into it: the lock lets the next engine remove it instead.
func newOwnedTempDir(parent string) (*ownedTempDir, error) {
	dir, err := os.MkdirTemp(parent, tempDirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("create duckdb temp dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ownerLockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		if err = lockOwner(lock); err != nil {
			lock.Close()
		}
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("lock duckdb temp dir %q: %w", dir, err), os.RemoveAll(dir))
	}
	return &ownedTempDir{path: dir, lock: lock}, nil
}

// remove removes the dir and then releases it.
func (t *ownedTempDir) remove() error {
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
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("remove stale duckdb temp dir %q: %w", dir, err)
	}
	return true, nil
}
