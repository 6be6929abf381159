//go:build !unix

package console

import "time"

// processCPU is unknown here; the benchmarks report 0 CPU.
func processCPU() time.Duration { return 0 }
