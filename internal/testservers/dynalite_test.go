package testservers

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestStartDynalite(t *testing.T) {
	endpoint := StartDynalite(t)
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint %q; want a loopback http URL", endpoint)
	}
	// An unsigned ListTables is refused with dynalite's DynamoDB-style
	// error, which shows the server speaks the DynamoDB protocol.
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST ListTables: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "MissingAuthenticationToken") {
		t.Errorf("unsigned ListTables = %d %s; want 400 MissingAuthenticationToken", resp.StatusCode, body)
	}
	// A second server runs side by side on another port.
	if other := StartDynalite(t); other == endpoint {
		t.Errorf("two servers share endpoint %s", endpoint)
	}
}

func TestDynaliteLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := dynaliteLock(context.Background(), path)
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := maxInside.Load()
				if n <= m || maxInside.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	if got := maxInside.Load(); got != 1 {
		t.Errorf("%d holders inside the lock at once; want 1", got)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("lock file left after unlock: %v", err)
	}
}

func TestDynaliteLockTakesOverStaleLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	if err := os.WriteFile(path, []byte("12345\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-dynaliteStaleLock - time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := dynaliteLock(ctx, path)
	if err != nil {
		t.Fatalf("dynaliteLock over a stale lock: %v", err)
	}
	unlock()
}

func TestDynaliteLockWaitsForAFreshLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	// Held by a live process: this one.
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := dynaliteLock(ctx, path); err == nil {
		t.Fatal("dynaliteLock took a lock held by someone else")
	}
}

func TestDynaliteLockTakesOverALockOfADeadProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no `true` to run: %v", err)
	}
	// The PID of a process that has exited.
	if err := os.WriteFile(path, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := dynaliteLock(ctx, path)
	if err != nil {
		t.Fatalf("dynaliteLock over the lock of a dead process: %v", err)
	}
	unlock()
	if lockHolderDied(path) {
		t.Error("a missing lock file counts as a dead holder")
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if lockHolderDied(path) {
		t.Error("the lock of a live process counts as dead")
	}
}
