package main

import (
	"os"

	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/server/service/worker/scheduler"
)

// Limits of the artists given to one run on the command line. The list
// travels in the run's workflow input, so in its history, which must stay
// small (claim-check: payloads belong in the lake). Larger sets belong in
// artists.file of the workers' config or in the tracked set.
const (
	// maxRunArtists is the most names or IDs one run accepts.
	maxRunArtists = 10_000
	// maxArtistsFileBytes is the largest --artists-file read: far more
	// than maxRunArtists lines of names need, small enough to read at once.
	maxArtistsFileBytes = 2 << 20
)

// checkArtistsFileSize refuses an --artists-file too large to be a list
// of one run's artists before it is read.
func checkArtistsFileSize(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		// Reading it reports the error with the file's name.
		return nil
	}
	if st.Size() > maxArtistsFileBytes {
		return usagef("--artists-file %s is %d bytes, more than the %d a run's artist list may be: put large sets in artists.file of the workers' config",
			path, st.Size(), maxArtistsFileBytes)
	}
	return nil
}

// checkRunArtists refuses more artists than one run accepts.
func checkRunArtists(source string, n int) error {
	if n > maxRunArtists {
		return usagef("%s names %d artists, more than the %d one run accepts (the list travels in the run's history): put large sets in artists.file of the workers' config",
			source, n, maxRunArtists)
	}
	return nil
}

// cronSpecs compiles cron expressions the way the Temporal server does
// when a schedule is created; the limits only matter for computing times.
var cronSpecs = scheduler.NewSpecBuilder(func() int { return 1000 }, func() int { return 10000 })

// checkCron refuses a cron expression the Temporal server would refuse,
// before anything connects to it.
func checkCron(expr string) error {
	if _, err := cronSpecs.NewCompiledSpec(&schedulepb.ScheduleSpec{CronString: []string{expr}}); err != nil {
		return usagef(`--cron %q is not a cron expression (%v): want five fields such as "0 3 * * *", or @daily, @every 6h`, expr, err)
	}
	return nil
}
