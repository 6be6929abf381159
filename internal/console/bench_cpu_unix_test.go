//go:build unix

package console

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used, user and system, all
// threads (DuckDB's included): on a machine shared with other work it
// varies far less than wall time.
func processCPU() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
