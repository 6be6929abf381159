package console

import (
	"context"
	"fmt"
	"time"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/partitions"
)

// remoteCacheTTL is how long a remote lake's capture record or manifest is
// reused before it is read again (a local lake checks size+mtime instead).
const remoteCacheTTL = 30 * time.Second

// newLakeReader is the console's one reader of capture records and
// manifests, cached.
func newLakeReader(store lake.Store) *partitions.Reader {
	return partitions.NewReader(store, partitions.WithCache(remoteCacheTTL))
}

// manifest reads the run manifest of date through the cache; the error
// wraps lake.ErrNotFound when the date has none. Do not modify the maps it
// holds: they are shared with the cache.
func (c *Console) manifest(ctx context.Context, date string) (activities.Manifest, error) {
	d, err := c.lake.One(ctx, date)
	if err != nil {
		return activities.Manifest{}, err
	}
	if d.Row.Error != "" {
		return activities.Manifest{}, fmt.Errorf("%s", d.Row.Error)
	}
	if d.Manifest == nil {
		return activities.Manifest{}, fmt.Errorf("%s has no manifest (%s): %w", date, lake.ManifestKey(date), lake.ErrNotFound)
	}
	return *d.Manifest, nil
}

// processedDates lists the dates with a run manifest, oldest first.
func (c *Console) processedDates(ctx context.Context) ([]string, error) {
	held, err := activities.ListPartitions(ctx, c.o.Lake, "", "")
	if err != nil {
		return nil, err
	}
	return held.Processed, nil
}
