package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/logging"
	"github.com/metronome-data/metronome/internal/workerproc"
)

// serverReadyTimeout bounds how long a server process may take to serve.
const serverReadyTimeout = 2 * time.Minute

// startServerProcess starts `starter dev --no-worker` on the stack's data
// directory and frontend port (the same SQLite file every time) and waits
// until its namespace answers.
func (s *stack) startServerProcess() {
	s.t.Helper()
	uiPort, err := devserver.FreePort("127.0.0.1")
	require.NoError(s.t, err)
	s.serverRuns++
	name := fmt.Sprintf("%s-server-%d", s.name, s.serverRuns)
	// The server process reads its data directory and port from the
	// flags; the environment adds nothing but the log format.
	p, err := workerproc.Start(name, starterBinary(s.t), workerproc.WithDir(s.dir),
		workerproc.WithEnv("METRONOME_LOG_FORMAT=json"),
		workerproc.WithArgs("dev", "--no-worker", "--data", s.dir, "--port", strconv.Itoa(s.port), "--ui-port", strconv.Itoa(uiPort)))
	require.NoError(s.t, err)
	s.serverProc = p
	s.addr, s.ns = "127.0.0.1:"+strconv.Itoa(s.port), "default"
	require.NoError(s.t, awaitServer(p, s.addr, s.ns), "see %s.log in %s", name, s.dir)
}

// awaitServer waits until the server process p answers for namespace ns
// at addr, and fails early when p exits.
func awaitServer(p *workerproc.Process, addr, ns string) error {
	deadline := time.Now().Add(serverReadyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("server process %s exited before serving %s: %v", p.Name, addr, p.Err())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := client.DialContext(ctx, client.Options{
			HostPort: addr, Namespace: ns, Logger: logging.NewTemporalLogger(zap.NewNop()),
		})
		if err == nil {
			_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
			c.Close()
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server process %s did not serve namespace %s at %s within %v: %v", p.Name, ns, addr, serverReadyTimeout, last)
}

// killServer SIGKILLs the server process: no graceful stop, no flush of
// what the server held in memory.
func (s *stack) killServer() {
	s.t.Helper()
	require.NotNil(s.t, s.serverProc, "the stack's server does not run in its own process")
	require.NoError(s.t, s.serverProc.Kill())
	s.serverProc = nil
}

// firstCompletionAfter waits until the run's history records an activity
// completing (or the run closing) at or after since, and returns when:
// the run's next progress after a restart.
func firstCompletionAfter(ctx context.Context, c client.Client, run client.WorkflowRun, since time.Time, limit time.Duration) (time.Time, string, error) {
	deadline := time.Now().Add(limit)
	for {
		at, typ, err := firstEventAfter(ctx, c, run, since)
		if err == nil && !at.IsZero() {
			return at, typ, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, "", fmt.Errorf("no activity of %s completed within %v of the restart (last error: %v)", run.GetID(), limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func firstEventAfter(ctx context.Context, c client.Client, run client.WorkflowRun, since time.Time) (time.Time, string, error) {
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return time.Time{}, "", err
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			if at := ev.GetEventTime().AsTime(); !at.Before(since) {
				return at, strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_"), nil
			}
		}
	}
	return time.Time{}, "", nil
}

// scenarioServerKill: the process holding the embedded server (`starter
// dev --no-worker`) is SIGKILLed at a seeded-random point of the run and
// started again at once on the same data directory and port; the worker
// process lives on.
func scenarioServerKill(t *testing.T, ref reference, res *Result) {
	s := newStack(t, "serverkill", stackOptions{fake: fakeOptions(), serverProcess: true})
	w := s.startWorker()
	ctx := context.Background()
	point := drawPoints(seed(t)+3, 1, ref.stageMillis, killStages)[0]
	start := time.Now()
	run := s.start(ctx, runDate)
	waitForPoint(ctx, s.c, run, point, s.apiCalls, ref.calls)
	require.True(t, running(ctx, s.c, run.GetID(), run.GetRunID()), "the run completed before the kill")
	acts, err := inFlight(ctx, s.c, run.GetID(), w.PID())
	require.NoError(t, err)
	killedAt := time.Since(start)
	s.killServer()

	restart := time.Now()
	s.startServer()
	serving := time.Since(restart)
	resumedAt, event, err := firstCompletionAfter(ctx, s.c, run, restart, runTimeout)
	require.NoError(t, err)
	resume := resumedAt.Sub(restart)
	t.Logf("server killed at %s: serving again %.1fs after the restart, the run resumed (%s) %.1fs after it",
		point, serving.Seconds(), event, resume.Seconds())

	s.wait(ctx, run)
	res.Duration = time.Since(start)
	res.Runs = 1
	res.Faults = "1 server process SIGKILL + restart"
	p, err := longestPause(ctx, s.c, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	res.Note = fmt.Sprintf("server process SIGKILLed at %s (%.1fs; the worker held %s), restarted at once on the same data dir and port: "+
		"serving again %.1fs later, time to resume (the next activity completion, %s) %.1fs; longest pause in the history: %s",
		point, killedAt.Seconds(), held(acts), serving.Seconds(), event, resume.Seconds(), p)
	require.False(t, w.Exited(), "the worker exited while the server was down: see %s", filepath.Join(s.dir, w.Name+".log"))
	check(t, s, ref, res, run.GetRunID())
}
