// Package workerproc runs metronome binaries (the worker, `starter dev
// --no-worker`) as their own OS processes, for the benchmarks of bench/
// and the chaos tests of chaos/: a process's memory is its own, and it can
// be killed for real (SIGKILL: no deferred function, no graceful stop, no
// last heartbeat).
package workerproc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/metronome-data/metronome/config"
)

// Process is a binary running as its own OS process, its output going to
// its log file.
type Process struct {
	Name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error // the process's exit, valid once done is closed
}

type settings struct {
	dir     string
	env     []string
	args    []string
	logPath string
}

// Option changes how Start starts a process.
type Option func(*settings)

// WithDir runs the process in dir (default: the current directory). A
// directory without config/metronome.yaml keeps the repository's file out.
func WithDir(dir string) Option { return func(s *settings) { s.dir = dir } }

// WithEnv adds env (NAME=value) on top of CleanEnv(os.Environ()).
func WithEnv(env ...string) Option { return func(s *settings) { s.env = append(s.env, env...) } }

// WithArgs passes args to the binary.
func WithArgs(args ...string) Option { return func(s *settings) { s.args = append(s.args, args...) } }

// WithLog appends the process's output to path (default: NAME.log in the
// process's directory), so a restarted process adds to the same log.
func WithLog(path string) Option { return func(s *settings) { s.logPath = path } }

// Start starts bin as the process name. Its environment is the parts of
// this process's that configure nothing (PATH, HOME, …) plus WithEnv's, so
// the caller's settings cannot leak in.
func Start(name, bin string, opts ...Option) (*Process, error) {
	s := &settings{}
	for _, o := range opts {
		o(s)
	}
	if s.logPath == "" {
		s.logPath = filepath.Join(s.dir, name+".log")
	}
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, s.args...)
	cmd.Dir = s.dir
	cmd.Env = append(CleanEnv(os.Environ()), s.env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Process{Name: name, logPath: s.logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

// PID is the process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// LogPath is the file the process's output goes to.
func (p *Process) LogPath() string { return p.logPath }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process ended (nil for exit status 0); nil while it runs.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// WaitReady waits until url (e.g. a worker's /readyz) answers 200, and
// fails early when the process exits.
func (p *Process) WaitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("readiness of %s: %w", p.Name, err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready: %v; see %s", p.Name, p.err, p.logPath)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready (%s answering 200) within %s; see %s", p.Name, url, timeout, p.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (p *Process) Kill() error {
	if p.Exited() {
		return fmt.Errorf("kill %s (pid %d): it had already exited: %v", p.Name, p.PID(), p.err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.PID(), err)
	}
	<-p.done
	return nil
}

// Stop asks the process to stop (SIGTERM) and kills it when it has not
// stopped within grace.
func (p *Process) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// CleanEnv drops from env every variable that configures metronome, the
// Temporal client, the AWS SDK or the Spotify credentials.
func CleanEnv(env []string) []string {
	names := config.EnvNames()
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := names[name]; ok || strings.HasPrefix(name, "METRONOME_") ||
			strings.HasPrefix(name, "TEMPORAL_") || strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "SPOTIFY_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
