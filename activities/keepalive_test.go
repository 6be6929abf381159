package activities

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// A step that reports no progress for longer than the heartbeat timeout
// fails its attempt, unless keepAlive heartbeats for it.
func TestKeepAliveOutlastsTheHeartbeatTimeout(t *testing.T) {
	tests := []struct {
		name      string
		keepAlive bool
		wantErr   bool
	}{
		{name: "kept alive", keepAlive: true},
		{name: "silent", keepAlive: false, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnvironment()
			longStep := func(ctx context.Context) error {
				if tt.keepAlive {
					var stop func()
					ctx, stop = keepAlive(ctx, 20*time.Millisecond)
					defer stop()
				}
				heartbeat(ctx, 42)                 // progress, then silence
				time.Sleep(600 * time.Millisecond) // one long, silent step
				return nil
			}
			env.RegisterActivityWithOptions(longStep, activity.RegisterOptions{Name: "LongStep"})
			wf := func(ctx workflow.Context) error {
				ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
					StartToCloseTimeout: time.Minute, HeartbeatTimeout: 200 * time.Millisecond,
					RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
				})
				return workflow.ExecuteActivity(ctx, "LongStep").Get(ctx, nil)
			}
			env.RegisterWorkflow(wf)
			env.ExecuteWorkflow(wf)
			require.True(t, env.IsWorkflowCompleted())
			err := env.GetWorkflowError()
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			var timeout *temporal.TimeoutError
			require.True(t, errors.As(err, &timeout), "want a timeout, got %v", err)
			require.Equal(t, enumspb.TIMEOUT_TYPE_HEARTBEAT, timeout.TimeoutType())
		})
	}
	_, stop := keepAlive(context.Background(), time.Millisecond)
	stop() // outside an activity: a no-op
}

// Keep-alive heartbeats repeat the last progress, so an attempt that
// resumes from heartbeat details (clean) still finds its resume point.
func TestKeepAliveRepeatsTheLastProgress(t *testing.T) {
	env := newTestEnvironment()
	var mu sync.Mutex
	var seen []int
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var done int
		if details.HasValues() {
			require.NoError(t, details.Get(&done))
		}
		mu.Lock()
		seen = append(seen, done)
		mu.Unlock()
	})
	step := func(ctx context.Context) error {
		ctx, stop := keepAlive(ctx, 10*time.Millisecond)
		defer stop()
		heartbeat(ctx, 7)
		time.Sleep(400 * time.Millisecond)
		return nil
	}
	env.RegisterActivityWithOptions(step, activity.RegisterOptions{Name: "Step"})
	wf := func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			// The SDK sends heartbeats at most every 0.8 × this timeout.
			StartToCloseTimeout: time.Minute, HeartbeatTimeout: 100 * time.Millisecond,
		})
		return workflow.ExecuteActivity(ctx, "Step").Get(ctx, nil)
	}
	env.RegisterWorkflow(wf)
	env.ExecuteWorkflow(wf)
	require.NoError(t, env.GetWorkflowError())
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, len(seen), 2, "keep-alive heartbeats were sent")
	for i, done := range seen {
		require.Equal(t, 7, done, "heartbeat %d", i)
	}
}

// newTestEnvironment is the SDK's test environment with a deadlock detector
// of 30 s instead of 1 s: on a loaded machine a workflow task can be delayed
// that long without any deadlock.
func newTestEnvironment() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 30 * time.Second})
	return env
}
