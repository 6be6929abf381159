package activities

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/serving"
)

// Aggregate builds the marts of the date with SQL over the curated Parquet
// (DuckDB embedded, or Athena) and writes each artist's similar artists to
// the serving store.
func (a *Activities) Aggregate(ctx context.Context, in contract.AggregateInput) (res contract.AggregateResult, err error) {
	defer reportLineage(ctx, a, aggregateLineage, in)(&res, &err)
	defer a.observe("aggregate", time.Now())
	ctx, stop := keepAlive(ctx, keepAliveEvery)
	defer stop()
	// DuckDB allocates outside the Go heap, so give back to the system
	// what the earlier stages' Go heap still holds before it starts: at
	// 100,000 artists the aggregate stage's peak falls by 130 MiB.
	debug.FreeOSMemory()
	report, err := a.Analytics.BuildMartsInLake(ctx, a.Lake, in.Date)
	if err != nil {
		return contract.AggregateResult{}, fmt.Errorf("build marts of %s in %s: %w", in.Date, a.Lake.URL(), err)
	}
	res = contract.AggregateResult{Rows: report.Rows, Keys: report.Keys, Skipped: report.Skipped}
	if why, skipped := report.Skipped[analytics.ArtistSimilarity]; skipped {
		// No mart to read similar artists from; the serving store keeps
		// none for the date.
		a.logger(ctx).Info("aggregated", zap.String("date", in.Date), zap.Any("rows", res.Rows),
			zap.String("skipped "+analytics.ArtistSimilarity, why))
		return res, nil
	}
	batch := newListBatch(func(byArtist map[string][]serving.Similar) error {
		return a.Serving.PutSimilarBatch(ctx, in.Date, byArtist)
	})
	err = a.Analytics.SimilarInLake(ctx, a.Lake, in.Date, func(artistID string, similar []analytics.SimilarArtist) error {
		items := make([]serving.Similar, len(similar))
		for i, s := range similar {
			items[i] = serving.Similar{ArtistID: s.ArtistID, Name: s.Name, Score: roundScore(s.Score)}
		}
		res.Similar += len(items)
		return batch.add(artistID, items)
	})
	if err == nil {
		err = batch.flush()
	}
	if err != nil {
		return contract.AggregateResult{}, fmt.Errorf("store similar artists of %s: %w", in.Date, err)
	}
	a.logger(ctx).Info("aggregated", zap.String("date", in.Date), zap.Any("rows", res.Rows))
	return res, nil
}

// AnalyticsHeartbeat records an engine's progress as the heartbeat of the
// activity whose context it is given; engines are built once per worker.
func AnalyticsHeartbeat(ctx context.Context, p analytics.Progress) {
	heartbeat(ctx, p)
}

// roundScore keeps six decimals: the engine's parallel sums differ in the
// last bits from run to run, and a re-run must store identical items.
func roundScore(f float64) float64 { return math.Round(f*1e6) / 1e6 }
