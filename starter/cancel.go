package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/config"
)

// newCancelCommand is `starter cancel` (terminate false) or `starter
// terminate` (terminate true).
func newCancelCommand(g *globalFlags, terminate bool) *cobra.Command {
	var (
		reason  string
		wait    time.Duration
		verb    = "cancel"
		short   = "Cancel a workflow: it stops cleanly, cancelling its activities and children"
		example = `  starter cancel backfill-2026-10-01-2026-10-31 --reason "wrong range"`
	)
	if terminate {
		verb = "terminate"
		short = "Terminate a workflow at once, without cleanup (children are terminated too)"
		example = `  starter terminate pipeline-2026-11-01 --reason "stuck on a bad deploy"`
	}
	cmd := &cobra.Command{
		Use:     verb + " WORKFLOW_ID --reason TEXT",
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if id == "" {
				return usagef("%s needs a WORKFLOW_ID, such as pipeline-2026-11-01 (see `starter status`)", verb)
			}
			if wait < 0 {
				return usagef("--wait %s: want a duration >= 0", wait)
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			info, err := describeWorkflow(ctx, c, cfg, id)
			if err != nil {
				return err
			}
			if st := info.GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return fmt.Errorf("%s is not running (%s): nothing to %s", id, statusName(st), verb)
			}
			runID := info.GetExecution().GetRunId()
			if terminate {
				err = c.TerminateWorkflow(ctx, id, runID, reason)
			} else {
				err = requestCancel(ctx, c, cfg, id, runID, reason)
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", verb, id, err)
			}
			status := "requested"
			if wait > 0 {
				if status, err = waitClosed(ctx, c, cfg, id, runID, wait); err != nil {
					return err
				}
			}
			return render(cmd.OutOrStdout(), g.output, cancelled{Action: verb, Reason: reason, RunID: runID, Status: status, WorkflowID: id})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the workflow's history")
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Second, "wait this long for the workflow to close (0: do not wait)")
	return cmd
}

// cancelled is what cancel and terminate show.
type cancelled struct {
	Action     string `json:"action"`
	Reason     string `json:"reason"`
	RunID      string `json:"run_id"`
	Status     string `json:"status"`
	WorkflowID string `json:"workflow_id"`
}

func (c cancelled) renderText(out io.Writer) error {
	fmt.Fprintf(out, "%s %s: %s\n", c.Action, c.WorkflowID, c.Status)
	return nil
}

// requestCancel asks the server to cancel a run with a reason, which the
// SDK client's CancelWorkflow cannot carry.
func requestCancel(ctx context.Context, c client.Client, cfg *config.Config, id, runID, reason string) error {
	requestID, err := newRequestID()
	if err != nil {
		return err
	}
	_, err = c.WorkflowService().RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
		Namespace:         cfg.Temporal.Namespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		Identity:          "starter",
		RequestId:         requestID,
		Reason:            reason,
	})
	return err
}

// waitClosed polls the run until it closes or the wait runs out and
// returns its status.
func waitClosed(ctx context.Context, c client.Client, cfg *config.Config, id, runID string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		desc, err := c.DescribeWorkflowExecution(ctx, id, runID)
		if err != nil {
			return "", fmt.Errorf("describe %s: %w", id, err)
		}
		st := desc.GetWorkflowExecutionInfo().GetStatus()
		if st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return statusName(st), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s still running after --wait %s: it may be waiting for activities or children to stop; see %s",
				id, wait, runUIURL(cfg, id, runID))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
