package workflows

import (
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
)

// testDeadlockTimeout replaces the SDK's 1-second deadlock detector in
// tests: on a loaded machine (CI, other metronome processes) a workflow task
// can be delayed that long without any deadlock, and the test fails with
// "Potential deadlock detected". A real deadlock still fails, later.
const testDeadlockTimeout = 30 * time.Second

// newTestEnvironment is the SDK's test environment for workflow unit tests.
func newTestEnvironment() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: testDeadlockTimeout})
	return env
}
