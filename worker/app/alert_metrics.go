package app

// The worker's inputs of the alert rules (deploy/prometheus/alerts.yml)
// that the activities do not record: the reject-rate limit it applies and
// the newest complete partition in the lake.

import (
	"cmp"
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/metrics"
	"github.com/metronome-data/metronome/workflows"
)

// maxRejectRate is the pipeline.max_reject_rate the clean stage applies:
// 0 stands for curate's default.
func maxRejectRate(cfg *config.Config) float64 {
	return cmp.Or(cfg.Pipeline.MaxRejectRate, curate.DefaultMaxRejectRate)
}

// lastPartitionEvery is how often the worker looks for the newest complete
// partition: often enough for an alert measured in hours.
const lastPartitionEvery = 5 * time.Minute

// lastPartitionDays is how far back it looks: one listing of the manifests
// of a week (a bounded range lists only its part of the lake), not of the
// lake's whole history.
const lastPartitionDays = 7

// exportLastPartition exports the newest date with a complete partition (a
// run manifest) among the last lastPartitionDays days and tomorrow (a zone
// east of UTC is a day ahead), now and then every interval until ctx ends:
// the input of the alert on a missing partition of yesterday. A failed look
// keeps the last figure and is logged.
func exportLastPartition(ctx context.Context, store lake.Store, m *metrics.Pipeline, logger *zap.Logger, every time.Duration) {
	look := func() {
		today := time.Now().UTC()
		from := today.AddDate(0, 0, -lastPartitionDays).Format(workflows.DateLayout)
		to := today.AddDate(0, 0, 1).Format(workflows.DateLayout)
		newest, err := newestProcessed(ctx, store, from, to)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("newest complete partition not known", zap.String("from", from), zap.String("to", to), zap.Error(err))
			}
			return
		}
		m.SetLastCompletePartition(newest)
	}
	look()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			look()
		case <-ctx.Done():
			return
		}
	}
}

// newestProcessed is the newest date from from to to with a run manifest,
// or the zero time when none has one.
func newestProcessed(ctx context.Context, store lake.Store, from, to string) (time.Time, error) {
	parts, err := activities.ListPartitions(ctx, store, from, to)
	if err != nil {
		return time.Time{}, err
	}
	if len(parts.Processed) == 0 {
		return time.Time{}, nil
	}
	// ListPartitions checked every date's form.
	return time.Parse(workflows.DateLayout, parts.Processed[len(parts.Processed)-1])
}
