package testservers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DynaliteVersion is the pinned npm version of dynalite, the
// DynamoDB-compatible server the tests of the DynamoDB serving store run
// against.
const DynaliteVersion = "4.0.0"

const (
	// npm builds dynalite's native LevelDB binding from source: minutes on
	// a loaded two-core machine (ten were seen), and every test binary
	// that needs dynalite waits for the one installing it.
	dynaliteInstallTimeout = 25 * time.Minute
	dynaliteStartTimeout   = 30 * time.Second
	// A lock older than the longest install was left by a killed process.
	dynaliteStaleLock = dynaliteInstallTimeout + time.Minute
)

// StartDynalite starts a dynalite server (in-memory) on a free loopback
// port and returns its endpoint, e.g. http://127.0.0.1:41234; it is stopped
// when the test ends. The npm package is installed on first use into
// os.UserCacheDir()/metronome-testservers/dynalite-<version> and reused
// afterwards. Node.js and npm must be on PATH.
//
// The test is skipped under -short; without it, a failed install or start
// fails the test.
func StartDynalite(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("dynalite server: slow test skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), dynaliteInstallTimeout)
	defer cancel()
	dir, err := dynaliteInstall(ctx)
	if err != nil {
		t.Fatalf("install dynalite %s: %v", DynaliteVersion, err)
	}
	// The free port can be taken by someone else before dynalite binds it,
	// so a failed start is tried again on another port.
	var errs []error
	for range 3 {
		srv, err := dynaliteStart(dir)
		if err == nil {
			t.Cleanup(func() {
				srv.stop()
				if t.Failed() {
					t.Logf("dynalite output:\n%s", srv.out.String())
				}
			})
			return srv.endpoint
		}
		errs = append(errs, err)
	}
	t.Fatalf("start dynalite %s: %v", DynaliteVersion, errors.Join(errs...))
	return ""
}

// dynaliteInstall installs the pinned dynalite with npm unless a complete
// install is present, and returns its directory. A lock file keeps test
// binaries running in parallel from installing at once; a marker file
// written last tells a complete install from an interrupted one.
func dynaliteInstall(ctx context.Context) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		// No HOME (a bare CI container): a shared temporary folder still
		// lets the test binaries of one run share the install.
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "metronome-testservers")
	dir := filepath.Join(root, "dynalite-"+DynaliteVersion)
	marker := filepath.Join(dir, ".installed")
	if _, err := os.Stat(marker); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory %s: %w", root, err)
	}
	unlock, err := dynaliteLock(ctx, dir+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(marker); err == nil {
		return dir, nil // installed by another test binary while we waited
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("dynalite needs Node.js and npm on PATH: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("remove incomplete install %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	// A package.json makes dir the npm project root, so npm never walks up
	// to an unrelated project.
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private": true}`+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write package.json in %s: %w", dir, err)
	}
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir,
		"--no-audit", "--no-fund", "--save-exact", "--loglevel=error", "dynalite@"+DynaliteVersion)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install dynalite@%s into %s: %w\n%s", DynaliteVersion, dir, err, out)
	}
	if _, err := os.Stat(dynaliteCLI(dir)); err != nil {
		return "", fmt.Errorf("npm install dynalite@%s: %w", DynaliteVersion, err)
	}
	if err := os.WriteFile(marker, []byte(DynaliteVersion+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("mark install %s complete: %w", dir, err)
	}
	return dir, nil
}

func dynaliteCLI(dir string) string {
	return filepath.Join(dir, "node_modules", "dynalite", "cli.js")
}

// dynaliteLock takes the lock file at path, waiting while another process
// holds it, and returns its release. The lock is a file created
// exclusively, which works on every OS; one older than dynaliteStaleLock
// was left by a killed process and is taken over.
func dynaliteLock(ctx context.Context, path string) (func(), error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create lock file %s: %w", path, err)
		}
		if fi, err := os.Stat(path); err == nil && (time.Since(fi.ModTime()) > dynaliteStaleLock || lockHolderDied(path)) {
			os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for lock file %s: %w", path, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// lockHolderDied reports whether the process whose PID the lock file holds
// is gone, so a lock left by a killed test binary is taken over at once
// instead of after dynaliteStaleLock. An unreadable or empty file (being
// written) is not taken over.
func lockHolderDied(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	return errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone)
}

type dynaliteServer struct {
	endpoint string
	out      *syncBuffer
	stop     func()
}

// dynaliteStart runs dynalite from dir on a free loopback port and waits
// until it answers.
func dynaliteStart(dir string) (*dynaliteServer, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("dynalite needs Node.js on PATH: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// Short table state changes keep CreateTable's wait for ACTIVE in the
	// path under test without slowing the tests down.
	cmd := exec.Command(node, dynaliteCLI(dir), "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "20", "--deleteTableMs", "20", "--updateTableMs", "20")
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", cmd, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(dynaliteStartTimeout)
	for {
		// dynalite answers GET / with 200 "healthy: …" once listening.
		if resp, err := client.Get(endpoint + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &dynaliteServer{endpoint: endpoint, out: out, stop: stop}, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("dynalite on port %d did not answer within %s; output:\n%s", port, dynaliteStartTimeout, out)
		}
		select {
		case err := <-exited:
			exited <- err // stop() may still wait on it
			return nil, fmt.Errorf("dynalite on port %d exited before answering: %v; output:\n%s", port, err, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
