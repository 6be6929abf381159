package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// keepAliveEvery is how often keepAlive heartbeats: well inside the
// two-minute heartbeat timeout of the clean, store and aggregate stages.
const keepAliveEvery = 30 * time.Second

// keepAlive heartbeats every interval until stop is called, for a stage
// with steps that report no progress for minutes at a time at scale (one
// SQL statement over 100,000 artists, a long loop of serving-store writes).
// Without it the heartbeat timeout fails an attempt that is still working,
// and its retry runs beside it in the same worker, doubling the memory.
// Cancellation still reaches the stage through ctx. Its heartbeats carry
// no details, so only stages that do not resume from heartbeat details use
// it.
func keepAlive(ctx context.Context, interval time.Duration) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
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
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}
