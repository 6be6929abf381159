// Package chaos proves metronome's durability promise end to end: whatever
// crashes, the data that lands is exactly the data of an undisturbed run —
// no row lost, none duplicated.
//
// The tests (chaos_test.go, storage_test.go) run the real pipeline on the
// real embedded Temporal server (internal/devserver, SQLite), the fake
// Spotify API (internal/spotifyfake) and worker processes built from
// ./worker and configured by environment only, so a worker can be killed
// for real with SIGKILL. Each scenario runs in its own world (server, fake,
// data directory) and compares its output with a fault-free reference run
// over the same catalog and date:
//
//   - worker kill -9: the only worker is SIGKILLed at 5 seeded-random
//     moments and restarted each time;
//   - two workers, one dies: one of two workers is SIGKILLed while it holds
//     activities and not restarted;
//   - server restart: the embedded server is stopped and started again on
//     the same SQLite file and frontend port mid-run;
//   - API faults: 10% 5xx, 2% answers slower than the client's 2 s
//     timeout, 1% malformed JSON, and 429s with Retry-After from a rolling
//     30 s budget below the run's needs;
//   - storage faults: S3 PutObject errors, DynamoDB throttling and
//     UnprocessedItems, injected by an http.RoundTripper (StorageFaults)
//     under the AWS clients, with the activities in-process against
//     versitygw and dynalite (internal/testservers);
//   - re-run and overlap: the date is started while it runs (which
//     attaches) and run again after it completed.
//
// The comparison (Output, Compare) is order-independent: the curated
// Parquet rows of every table and every serving-store item as canonical
// JSON without the volatile fetched_at and updated_at, and the manifest's
// counts (rows out, records collected, mart rows).
//
// Run them (about 2 minutes on 2 cores; the scenarios run at the same
// time, mostly waiting for Temporal's timeouts):
//
//	go test -count=1 -v -run TestChaos ./chaos
//
// They are skipped under -short. The storage scenario needs Node/npm for
// dynalite and builds versitygw on first use (see internal/testservers).
// The report table (scenario, runs, faults injected, rows lost, rows
// duplicated, time to complete) is logged at the end and written to the
// file named by METRONOME_CHAOS_REPORT when set; METRONOME_CHAOS_SEED
// changes the seed of the kill and restart moments and of the injected
// faults. One scenario alone: -run 'TestChaos/API_faults' (the reference
// run always runs).
package chaos
