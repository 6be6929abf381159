//go:build !unix

package analytics

import "os"

// Without flock, a temp dir cannot tell whether its owner is alive: every
// dir counts as owned, and stale ones are never removed.

func lockOwner(*os.File) error { return nil }

func isUnowned(*os.File) (bool, error) { return false, nil }
