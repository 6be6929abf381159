package chaos

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/metronome-data/metronome/config"
)

// Worker is a binary running as its own OS process, so a test can kill it
// for real (SIGKILL: no deferred function, no graceful stop, no last
// heartbeat): a worker, or `starter dev --no-worker` holding the embedded
// Temporal server (StartProcess).
type Worker struct {
	Name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // the process's exit, valid once done is closed
}

// StartWorker starts bin in dir with exactly env on top of the parts of
// the test's environment that configure nothing (PATH, HOME, …): every
// variable metronome or the AWS SDK reads is dropped first, so the
// developer's settings cannot leak in. Its output goes to logPath.
func StartWorker(name, bin, dir, logPath string, env []string) (*Worker, error) {
	return StartProcess(name, dir, logPath, env, bin)
}

// StartProcess is StartWorker for any binary and its arguments.
func StartProcess(name, dir, logPath string, env []string, bin string, args ...string) (*Worker, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(CleanEnv(os.Environ()), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	w := &Worker{Name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		w.err = cmd.Wait()
		log.Close()
		close(w.done)
	}()
	return w, nil
}

// PID is the worker's process ID.
func (w *Worker) PID() int { return w.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (w *Worker) Exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (w *Worker) Kill() error {
	if w.Exited() {
		return fmt.Errorf("kill worker %s (pid %d): it had already exited: %v", w.Name, w.PID(), w.err)
	}
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill worker %s (pid %d): %w", w.Name, w.PID(), err)
	}
	<-w.done
	return nil
}

// Stop asks the worker to stop (SIGTERM) and kills it when it has not
// stopped within grace.
func (w *Worker) Stop(grace time.Duration) {
	if w.Exited() {
		return
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(grace):
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.done
	}
}

// CleanEnv drops from env every variable that configures metronome, the
// Temporal client or the AWS SDK.
func CleanEnv(env []string) []string {
	names := config.EnvNames()
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := names[name]; ok || strings.HasPrefix(name, "METRONOME_") ||
			strings.HasPrefix(name, "TEMPORAL_") || strings.HasPrefix(name, "AWS_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
