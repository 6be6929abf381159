package workerproc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary play a child process (see TestMain)
// instead of running the tests.
const childEnv = "WORKERPROC_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(child(role))
	}
	os.Exit(m.Run())
}

// child plays role: "env" prints its environment, "exit3" exits with 3,
// "serve ADDR" answers 404 on ADDR until SIGTERM, "ignore-sigterm"
// ignores SIGTERM (to test the kill after the grace).
func child(role string) int {
	switch verb, arg, _ := strings.Cut(role, " "); verb {
	case "env":
		for _, kv := range os.Environ() {
			fmt.Println(kv)
		}
		return 0
	case "exit3":
		fmt.Println("failing on purpose")
		return 3
	case "serve":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		ln, err := net.Listen("tcp", arg)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		go func() { _ = http.Serve(ln, http.NotFoundHandler()) }()
		<-term
		return 0
	case "ignore-sigterm":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		time.Sleep(time.Minute)
		return 0
	}
	return 2
}

func startChild(t *testing.T, role string, opts ...Option) *Process {
	t.Helper()
	bin, err := os.Executable()
	require.NoError(t, err)
	opts = append([]Option{WithDir(t.TempDir()), WithEnv(childEnv + "=" + role)}, opts...)
	p, err := Start("child", bin, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { p.Stop(time.Second) })
	return p
}

func waitExit(t *testing.T, p *Process) {
	t.Helper()
	require.Eventually(t, p.Exited, 10*time.Second, 10*time.Millisecond, "%s did not exit", p.Name)
}

func TestStartCleansTheEnvironmentAndLogs(t *testing.T) {
	t.Setenv("METRONOME_LAKE_URL", "file:///the/callers/lake")
	t.Setenv("TEMPORAL_ADDRESS", "callers-temporal:7233")
	t.Setenv("SPOTIFY_ID", "callers-id")
	t.Setenv("AWS_REGION", "callers-region")
	t.Setenv("WORKERPROC_KEPT", "kept")
	p := startChild(t, "env", WithEnv("TEMPORAL_ADDRESS=given:7233"))
	waitExit(t, p)
	require.NoError(t, p.Err())

	out, err := os.ReadFile(p.LogPath())
	require.NoError(t, err)
	log := string(out)
	assert.Contains(t, log, "TEMPORAL_ADDRESS=given:7233\n")
	assert.Contains(t, log, "WORKERPROC_KEPT=kept\n", "a variable that configures nothing is passed on")
	for _, leaked := range []string{"file:///the/callers/lake", "callers-temporal", "callers-id", "callers-region"} {
		assert.NotContains(t, log, leaked)
	}
}

func TestTheLogIsAppendedAcrossRestarts(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "server.log")
	for range 2 {
		waitExit(t, startChild(t, "exit3", WithLog(logPath)))
	}
	out, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(out), "failing on purpose"), string(out))
}

func TestWaitReady(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	tests := []struct {
		name    string
		role    string
		url     string
		timeout time.Duration
		wantErr string
	}{
		{name: "ready", role: "ignore-sigterm", url: readyURL(t), timeout: 10 * time.Second},
		{name: "exits first", role: "exit3", url: readyURL(t) + "/never-asked", timeout: 10 * time.Second,
			wantErr: "child exited before it was ready: exit status 3; see "},
		{name: "never 200", role: "serve " + addr, url: "http://" + addr + "/readyz", timeout: 500 * time.Millisecond,
			wantErr: "child not ready (http://" + addr + "/readyz answering 200) within 500ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startChild(t, tt.role)
			defer p.Stop(time.Second)
			err := p.WaitReady(context.Background(), tt.url, tt.timeout)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

// readyURL is a URL of this process that answers 200, except at
// /readyz/never-asked (404).
func readyURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/never-asked") {
			http.NotFound(w, r)
		}
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/readyz"
}

func TestKillAndStop(t *testing.T) {
	t.Run("kill -9", func(t *testing.T) {
		p := startChild(t, "ignore-sigterm")
		require.NoError(t, p.Kill())
		assert.True(t, p.Exited())
		assert.ErrorContains(t, p.Err(), "signal: killed")
		assert.ErrorContains(t, p.Kill(), "had already exited", "a second kill names the exit")
	})
	t.Run("stop lets the process end on SIGTERM", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		p := startChild(t, "serve "+addr)
		require.Eventually(t, func() bool {
			resp, err := http.Get("http://" + addr)
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		}, 10*time.Second, 20*time.Millisecond, "the child does not serve")
		p.Stop(10 * time.Second)
		require.True(t, p.Exited())
		assert.NoError(t, p.Err(), "the child did not end by itself on SIGTERM")
	})
	t.Run("stop kills a process ignoring SIGTERM after the grace", func(t *testing.T) {
		p := startChild(t, "ignore-sigterm")
		require.Eventually(t, func() bool {
			out, _ := os.ReadFile(p.LogPath())
			return strings.Contains(string(out), "ignoring SIGTERM")
		}, 10*time.Second, 10*time.Millisecond)
		p.Stop(200 * time.Millisecond)
		require.True(t, p.Exited())
		assert.ErrorContains(t, p.Err(), "signal: killed")
	})
}

func TestBuildNamesWhatFailed(t *testing.T) {
	_, err := Build(context.Background(), t.TempDir(), "no/such/command")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "build no/such/command (go build -o ")
	assert.Contains(t, err.Error(), Module+"/no/such/command")
}
