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
//     points of the run and restarted each time;
//   - two workers, one dies: the worker holding the clean, store or
//     aggregate activity at a seeded-random point is SIGKILLed and not
//     restarted; the other finishes the run;
//   - server restart: the embedded server is stopped at a seeded-random
//     point and started again on the same SQLite file and frontend port;
//   - server kill -9: the process holding the embedded server (`starter
//     dev --no-worker`, serverkill_test.go) is SIGKILLed at a seeded-random
//     point and started again at once on the same data directory and port;
//     the report gives the time to resume (restart to the next activity
//     completion);
//   - API faults: 10% 5xx, 5% 429 with a 1 s Retry-After, 2% answers
//     slower than the client's 2 s timeout, 1% malformed JSON;
//   - storage faults: S3 PutObject errors, DynamoDB throttling and
//     UnprocessedItems, injected by an http.RoundTripper (StorageFaults)
//     under the AWS clients, plus one outage on each service that outlasts
//     the SDK's retries so Temporal retries the activity; the activities
//     run in-process against versitygw and dynalite (internal/testservers),
//     the lake's S3 client behind a reverse proxy with that RoundTripper;
//   - re-run and overlap: the date is started while it runs (which
//     attaches) and run again after it completed.
//
// TestDiskFull (diskfull_test.go) puts the lake on a small tmpfs it mounts
// (it needs root: elsewhere it skips saying so, and fails when CI=true),
// fills it with a ballast during a re-run and checks the error, that each
// curated partition is the previous one whole or absent (never half
// written), the worker's health and the run once space is freed.
//
// Points of a run are named by progress, not by the clock, so a kill lands
// at the same place however slow the machine: in collect by the fake's
// count of Spotify calls, after it by the workflow's progress query (see
// points_test.go). Kills wait for the worker to hold activities (a
// restarted worker gets none for the first seconds), since a kill matters
// by what it interrupts. A killed worker's activities are retried only
// after their HeartbeatTimeout (workflows/options.go: 20 s for every
// pipeline activity, which heartbeats every 5 s while it runs), which is
// much of the kill scenarios' time.
//
// The comparison (Output, Compare) is order-independent: the curated
// Parquet rows of every table, the rows of every mart (read with DuckDB,
// floats to 12 significant digits) and every serving-store item as
// canonical JSON without the volatile fetched_at and updated_at, and the
// manifest's counts (rows out, records collected, mart rows). A lost and
// an extra mart row that differ only by floats within a relative 1e-9
// (the same sums in another order) are the same row (matchNearFloats).
//
// Run them (a few minutes on 2 cores: the scenarios run at the same time,
// waiting for heartbeat timeouts and Retry-Afters):
//
//	go test -count=1 -v -run TestChaos ./chaos
//
// They are skipped under -short. The storage scenario needs Node/npm for
// dynalite and builds versitygw on first use (see internal/testservers).
// The report table (scenario, runs, faults injected, rows lost, rows
// duplicated, time to complete) is logged at the end and written to the
// file named by METRONOME_CHAOS_REPORT when set; METRONOME_CHAOS_SEED
// changes the seed of the kill and restart moments and of the injected
// faults; METRONOME_CHAOS_LOGS=DIR keeps a copy of every worker's log. One
// scenario alone: -run 'TestChaos/API_faults' (the reference
// run always runs).
package chaos
