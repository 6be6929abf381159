package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func dbgChild(ctx workflow.Context) error {
	err := workflow.Sleep(ctx, time.Hour)
	workflow.GetLogger(ctx).Info("DBG child sleep", "err", err)
	return err
}

func dbgParent(ctx workflow.Context) error {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "c1", WaitForCancellation: true})
	f := workflow.ExecuteChildWorkflow(cctx, dbgChild)
	err := f.Get(ctx, nil)
	workflow.GetLogger(ctx).Info("DBG parent got", "err", err)
	return err
}

func TestDbg(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(dbgChild)
	env.RegisterDelayedCallback(env.CancelWorkflow, 30*time.Minute)
	env.ExecuteWorkflow(dbgParent)
	t.Log(env.GetWorkflowError())
}
