package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
)

// nonRetryable are the error types no retry can fix.
var nonRetryable = []string{
	contract.ErrBadInput,
	contract.ErrBadCredentials,
	contract.ErrNotFound,
	contract.ErrDataQuality,
	contract.ErrAppRefused,
}

// heartbeatTimeout is how long Temporal waits for a heartbeat before it
// retries an activity elsewhere: how fast a dead worker's work moves on.
// Activities heartbeat every 5 s while they run, progress or not
// (activities/keepalive.go), so only a dead worker or a partitioned one
// misses it.
const heartbeatTimeout = 20 * time.Second

func retry(initial, maximum time.Duration, attempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        initial,
		BackoffCoefficient:     2,
		MaximumInterval:        maximum,
		MaximumAttempts:        attempts,
		NonRetryableErrorTypes: nonRetryable,
	}
}

// spotifyOptions are those of a collect batch. A 429's Retry-After arrives
// as the error's NextRetryDelay and overrides the backoff. A quota 429 is
// waited out by the workflow outside the retry budget (spotifyCalls in
// quota.go); in runs recorded before that it is a retry after the
// Retry-After. No ScheduleToCloseTimeout: a quota wait may last hours.
func spotifyOptions(taskQueue string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		TaskQueue:           taskQueue,
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         retry(time.Second, 5*time.Minute, 50),
	}
}

// resolveOptions: name searches are few after the first run (cached), but a
// first run over many names can take a while.
func resolveOptions(taskQueue string) workflow.ActivityOptions {
	o := spotifyOptions(taskQueue)
	o.StartToCloseTimeout = 30 * time.Minute
	return o
}

func cleanOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         retry(time.Second, time.Minute, 5),
	}
}

func storeOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         retry(time.Second, time.Minute, 10),
	}
}

func aggregateOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         retry(5*time.Second, time.Minute, 5),
	}
}

func manifestOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         retry(time.Second, 30*time.Second, 10),
	}
}

// partitionOptions are those of the small lake reads and writes around a
// capture: the plan's look at the partition, removing a capture record.
func partitionOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         retry(time.Second, 30*time.Second, 10),
	}
}

// Task-queue priorities: when the pipeline or the Spotify task queue backs
// up, the server hands the worker the task of the smallest priority key
// first (Temporal's default levels 1 to 5; a start without a priority
// gets 3). The priority is set once, where a top-level workflow starts;
// its activities and child workflows inherit it, and so does the next run
// after a continue-as-new. docs/OPERATIONS.md, "Priorities".
const (
	// PriorityRequest: on-demand artist requests, which someone waits for.
	PriorityRequest = 1
	// PriorityRun: scheduled and manual runs, which capture today's data
	// while the date's capture window is open.
	PriorityRun = 2
	// PriorityBackfill: backfills, which reprocess what the lake holds
	// already and can wait for everything else.
	PriorityBackfill = 5
)

// RequestPriority is the priority of artist-requests and its request runs.
func RequestPriority() temporal.Priority { return temporal.Priority{PriorityKey: PriorityRequest} }

// RunPriority is the priority of a scheduled or manual pipeline run.
func RunPriority() temporal.Priority { return temporal.Priority{PriorityKey: PriorityRun} }

// BackfillPriority is the priority of a backfill and the dates it
// reprocesses. Its fairness key is the backfill's workflow ID, so two
// backfills at once take turns (on a server with fairness on) instead of
// the later one waiting for the whole earlier one.
func BackfillPriority(from, to string) temporal.Priority {
	return temporal.Priority{PriorityKey: PriorityBackfill, FairnessKey: BackfillWorkflowID(from, to)}
}
