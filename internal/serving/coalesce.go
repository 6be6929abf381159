package serving

import (
	"context"
	"sync"
	"time"
)

// versionCheckTimeout bounds one data_version read (a local file: far
// less, unless another process holds a lock on it).
const versionCheckTimeout = 2 * time.Second

// coalesced shares one version check among the callers that arrive while
// another check runs: under load, 32 answers in flight cost about one
// data_version read, not 32 in a queue. It stays exact: a caller only
// takes the result of a check that started after it arrived (the one
// after the check in flight, when there is one).
type coalesced struct {
	check func(ctx context.Context) (uint64, error)

	mu      sync.Mutex
	running bool
	next    *versionCheck // waiting to start after the running one
}

type versionCheck struct {
	done chan struct{}
	v    uint64
	err  error
}

func coalesce(check func(ctx context.Context) (uint64, error)) func(ctx context.Context) (uint64, error) {
	c := &coalesced{check: check}
	return c.version
}

func (c *coalesced) version(ctx context.Context) (uint64, error) {
	c.mu.Lock()
	if c.next == nil {
		c.next = &versionCheck{done: make(chan struct{})}
	}
	vc := c.next
	if !c.running {
		c.startLocked()
	}
	c.mu.Unlock()
	select {
	case <-vc.done:
		return vc.v, vc.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// startLocked runs the waiting check; once it is done, the next one that
// gathered meanwhile starts. The check runs detached from any caller's
// context, bounded by its own, so one caller giving up fails no other.
func (c *coalesced) startLocked() {
	vc := c.next
	c.next, c.running = nil, true
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), versionCheckTimeout)
		vc.v, vc.err = c.check(ctx)
		cancel()
		close(vc.done)
		c.mu.Lock()
		c.running = false
		if c.next != nil {
			c.startLocked()
		}
		c.mu.Unlock()
	}()
}
