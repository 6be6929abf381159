package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
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
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			longStep := func(ctx context.Context) error {
				if tt.keepAlive {
					defer keepAlive(ctx, 20*time.Millisecond)()
				}
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
	keepAlive(context.Background(), time.Millisecond)() // outside an activity: a no-op
}
