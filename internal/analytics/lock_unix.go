//go:build unix

package analytics

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockOwner takes the lock of a temp dir that this process owns.
func lockOwner(f *os.File) error {
	locked, err := tryLock(f)
	if err == nil && !locked {
		err = fmt.Errorf("lock %q: held by another process", f.Name())
	}
	return err
}

// isUnowned reports whether no process holds the lock of a temp dir, and
// if so holds it until f is closed.
func isUnowned(f *os.File) (bool, error) { return tryLock(f) }

// tryLock takes an exclusive advisory lock on f without waiting. It
// reports false when another open file holds the lock, in this process or
// another. The lock lasts until f is closed or its process exits.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return false, nil
	default:
		return false, fmt.Errorf("lock %q: %w", f.Name(), err)
	}
}
