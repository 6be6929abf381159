package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// keepAliveEvery is how often keepAlive heartbeats: a quarter of the 20 s
// heartbeat timeout of the pipeline's activities (workflows/options.go),
// so a heartbeat lost to a busy server or a slow RPC does not fail a
// working attempt.
const keepAliveEvery = 5 * time.Second

type pulseKey struct{}

// pulse is the heartbeat state of one running activity: the details of its
// last progress report, which every keep-alive heartbeat repeats.
type pulse struct {
	mu      sync.Mutex
	details []any
}

// keepAlive heartbeats every interval until stop is called, repeating the
// details of the last heartbeat recorded through the returned context.
//
// The heartbeat timeout is how fast Temporal notices a dead worker and
// retries its activity elsewhere, so it is short; but a stage can report no
// progress for much longer while it works: one SQL statement over 100,000
// artists, a long loop of serving-store writes, a Retry-After waited out in
// process. Without keep-alive heartbeats such a step would fail its attempt,
// and the retry would run beside it in the same worker, doubling work and
// memory. Repeating the last details, rather than sending none, keeps the
// resume point of a stage that resumes from them (clean). Cancellation
// still reaches the stage through ctx.
func keepAlive(ctx context.Context, interval time.Duration) (context.Context, func()) {
	if _, ok := ctx.Value(pulseKey{}).(*pulse); ok || !activity.IsActivity(ctx) {
		return ctx, func() {} // already kept alive, or not an activity
	}
	p := &pulse{}
	ctx = context.WithValue(ctx, pulseKey{}, p)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				p.mu.Lock()
				details := p.details
				p.mu.Unlock()
				activity.RecordHeartbeat(ctx, details...)
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// heartbeat records progress when running as an activity, and remembers it
// for the keep-alive heartbeats of ctx, if any; tests that call activities
// directly have no activity context.
func heartbeat(ctx context.Context, details ...any) {
	if !activity.IsActivity(ctx) {
		return
	}
	if p, ok := ctx.Value(pulseKey{}).(*pulse); ok {
		p.mu.Lock()
		p.details = details
		p.mu.Unlock()
	}
	activity.RecordHeartbeat(ctx, details...)
}
