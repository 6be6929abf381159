package console

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Warm reads what the first page of the grid shows — the capture records
// and manifests of the last 30 dates — into the cache, so the first
// visitor after a start does not wait for them (at 100,000 artists a
// date's two documents are ~2 MB of JSON). A page that arrives meanwhile
// joins the reads in flight. Run it in a goroutine; it returns when done
// or when ctx is.
func (c *Console) Warm(ctx context.Context) {
	start := time.Now()
	to := c.o.Now().UTC().Truncate(24 * time.Hour)
	dates, err := c.lake.Range(ctx, to.AddDate(0, 0, -(gridDays-1)), to)
	if err != nil {
		c.log.Warn("warm the partitions cache", zap.Error(err))
		return
	}
	c.log.Debug("partitions cache warm", zap.Int("dates", len(dates)), zap.Duration("took", time.Since(start)))
	c.warmArtistPages(ctx)
}
