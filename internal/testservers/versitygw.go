// Package testservers starts real servers for component tests on free
// loopback ports. Each server is built or installed from a pinned version
// into a per-user cache folder on first use, so a fresh clone needs nothing
// but Go (and Node for the npm-based ones) to run the whole test suite.
package testservers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// VersityGWVersion is the pinned version of the Versity S3 gateway.
const VersityGWVersion = "v1.8.0"

const versityGWModule = "github.com/versity/versitygw/cmd/versitygw"

// VersityGW limits.
const (
	versityGWBuildTimeout = 15 * time.Minute
	versityGWStartTimeout = 30 * time.Second
	versityGWStopTimeout  = 10 * time.Second
)

// StartVersityGW starts a Versity S3 gateway with a posix backend in a
// temporary directory on a free 127.0.0.1 port, and stops it when the test
// ends. It returns the endpoint URL (http://127.0.0.1:PORT) and the root
// credentials. The gateway starts with no buckets; use path-style
// addressing.
//
// Under -short the test is skipped. Otherwise the gateway binary is built
// once per machine from its pinned module version through the Go module
// proxy into the user cache folder; a failed build fails the test.
func StartVersityGW(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: needs the versitygw S3 server, which -short skips")
	}
	bin, err := versityGWBinary()
	if err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	accessKey, secretKey = "metronome", randomHex(16)
	// A free port can be taken by someone else before the gateway binds
	// it; try a few.
	for attempt := 1; ; attempt++ {
		endpoint, err = startVersityGW(t, bin, accessKey, secretKey)
		if err == nil {
			return endpoint, accessKey, secretKey
		}
		if attempt == 3 {
			t.Fatalf("versitygw: %v", err)
		}
	}
}

func startVersityGW(t testing.TB, bin, accessKey, secretKey string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--access", accessKey, "--secret", secretKey, "--port", addr, "posix", t.TempDir())
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	endpoint := "http://" + addr
	if err := waitHTTP(endpoint, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return "", fmt.Errorf("%w; output:\n%s", err, out.String())
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(versityGWStopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return endpoint, nil
}

// waitHTTP waits until endpoint answers any HTTP response (an anonymous
// request gets 403, which proves the gateway serves).
func waitHTTP(endpoint string, exited <-chan error) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(versityGWStartTimeout)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("gateway at %s exited before serving: %v", endpoint, err)
		default:
		}
		resp, err := client.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway at %s did not answer within %s: %w", endpoint, versityGWStartTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var versityGWOnce struct {
	sync.Mutex
	path string
}

// versityGWBinary returns the cached gateway binary, building it first if
// needed. A lock file serialises builds across the parallel test binaries
// of one `go test` run; the mutex does so within one binary.
func versityGWBinary() (string, error) {
	versityGWOnce.Lock()
	defer versityGWOnce.Unlock()
	if versityGWOnce.path != "" {
		return versityGWOnce.path, nil
	}
	dir, err := cacheDir("versitygw-" + VersityGWVersion)
	if err != nil {
		return "", err
	}
	name := "versitygw"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	bin := filepath.Join(dir, name)

	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		versityGWOnce.path = bin
		return bin, nil
	}
	if err := goInstall(dir, versityGWModule+"@"+VersityGWVersion, name); err != nil {
		return "", err
	}
	versityGWOnce.path = bin
	return bin, nil
}

// goInstall installs module@version with `go install` into a fresh
// directory under dir and renames the binary name into dir, so a killed
// build never leaves a half-written binary at its final path. It runs
// outside any module (GOWORK=off, GOFLAGS cleared, working directory dir),
// so the project's go.mod is neither read nor touched.
func goInstall(dir, pkgAtVersion, name string) error {
	gobin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return fmt.Errorf("install %s: %w", pkgAtVersion, err)
	}
	defer os.RemoveAll(gobin)
	goTool, err := goCommand()
	if err != nil {
		return fmt.Errorf("install %s: %w", pkgAtVersion, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), versityGWBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "install", pkgAtVersion)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=", "GOWORK=off", "GO111MODULE=on")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s install %s: %w\n%s", goTool, pkgAtVersion, err, out)
	}
	if err := os.Rename(filepath.Join(gobin, name), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("install %s: %w", pkgAtVersion, err)
	}
	return nil
}

// goCommand finds the go tool: on PATH, else in GOROOT (go test sets
// neither, but one of them is present wherever tests are built).
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("go tool not found on PATH or in GOROOT")
}

// cacheDir returns (creating it) <user cache>/metronome-testservers/<name>.
func cacheDir(name string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "metronome-testservers", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache folder %s: %w", dir, err)
	}
	return dir, nil
}

// lockFile takes an exclusive advisory lock on path, waiting for it. The
// kernel drops the lock if the process dies, so no stale lock survives.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// syncBuffer collects a child process's output, which its two pipes write
// concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
