package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/spotify"
)

// The Spotify request cap (docs/ARCHITECTURE.md, "The Spotify request
// cap"): spotify.requests_per_second is for the app, so for every worker
// process together, on whatever machines. Each worker process sends at
// most cap ÷ N, N being the worker processes polling the Spotify task
// queue as the Temporal server lists them (DescribeTaskQueue, pollers of
// every partition), looked up every shareEvery. A worker that starts sends
// nothing until it has seen itself in that list and the others have had
// time to see it too (shareSettle), so the sum of the shares never goes
// over the cap for longer than one look-up.

const (
	// shareEvery is how often a worker counts the workers of the queue.
	shareEvery = time.Second
	// shareSettle is how long a new worker waits, once it sees itself
	// listed, before its first request: every other worker has looked
	// again by then (one shareEvery) with room for a slow look-up.
	shareSettle = 3 * shareEvery
	// firstLook is how long after the worker starts polling it first
	// counts the workers.
	firstLook = 250 * time.Millisecond
)

// capShare keeps a gate at this worker's share of the app's cap.
type capShare struct {
	client   client.Client
	queue    string
	identity string
	rps      float64
	gate     *spotify.Gate
	logger   *zap.Logger

	settled chan struct{} // closed once the first request may go
}

func newCapShare(c client.Client, queue, identity string, rps float64, gate *spotify.Gate, logger *zap.Logger) *capShare {
	return &capShare{client: c, queue: queue, identity: identity, rps: rps, gate: gate, logger: logger,
		settled: make(chan struct{})}
}

// hold closes the gate until run has learned the share. Call it before
// the worker polls.
func (s *capShare) hold() {
	s.gate.Hold(time.Now().Add(100 * 365 * 24 * time.Hour))
}

// run looks the workers up every shareEvery until ctx is done. A failed
// look-up keeps the last share (a worker that never had one stays held)
// and is logged.
func (s *capShare) run(ctx context.Context) {
	var seenAt time.Time
	workers := 0 // as last counted
	// The server caches what it lists for a few seconds: the first look
	// waits for this worker's polls to arrive, so that what is cached
	// already lists it.
	if !sleepCtx(ctx, firstLook) {
		return
	}
	tick := time.NewTicker(shareEvery)
	defer tick.Stop()
	for {
		n, self, err := s.count(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.logger.Warn("cannot count the workers sharing spotify.requests_per_second; keeping the last share",
					zap.String("task_queue", s.queue), zap.Error(err))
			}
		default:
			if !self {
				n++ // this worker is about to poll, or has not been listed yet
			}
			if n != workers {
				workers = n
				s.gate.SetCap(s.rps / float64(n))
				s.logger.Info("Spotify request share", zap.Int("workers", n),
					zap.Float64("requests_per_second", s.rps/float64(n)), zap.Float64("cap", s.rps))
			}
			if self && seenAt.IsZero() {
				seenAt = time.Now()
				s.gate.Hold(seenAt.Add(shareSettle))
				go s.settle(ctx, seenAt.Add(shareSettle))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *capShare) settle(ctx context.Context, at time.Time) {
	if sleepCtx(ctx, time.Until(at)) {
		close(s.settled)
	}
}

// sleepCtx waits d; it reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// count returns how many distinct workers poll the queue's activity
// tasks and whether this one is among them.
func (s *capShare) count(ctx context.Context) (int, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	desc, err := s.client.DescribeTaskQueueEnhanced(ctx, client.DescribeTaskQueueEnhancedOptions{
		TaskQueue: s.queue, TaskQueueTypes: []client.TaskQueueType{client.TaskQueueTypeActivity}, ReportPollers: true,
	})
	if err != nil {
		return 0, false, fmt.Errorf("describe task queue %s: %w", s.queue, err)
	}
	n, self := countPollers(desc, s.identity)
	return n, self, nil
}

// countPollers counts the distinct identities polling activity tasks of
// any build ID, and says whether self is one.
func countPollers(desc client.TaskQueueDescription, self string) (int, bool) {
	seen := map[string]bool{}
	// Only the deprecated enhanced describe lists the pollers of every
	// partition; the default one lists the root partition's, and
	// VersioningInfo holds no pollers.
	//lint:ignore SA1019 the one list of the pollers of all partitions (see above)
	for _, v := range desc.VersionsInfo {
		for _, p := range v.TypesInfo[client.TaskQueueTypeActivity].Pollers {
			seen[p.Identity] = true
		}
	}
	return len(seen), seen[self]
}

// workerIdentity names this process's Spotify worker uniquely, so two
// workers of one host, or a restarted one, are counted apart.
func workerIdentity() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%d@%s@spotify-%s", os.Getpid(), host, hex.EncodeToString(b[:]))
}
