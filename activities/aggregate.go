package activities

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/serving"
)

// Aggregate builds the marts of the date with SQL over the curated Parquet
// and writes each artist's similar artists to the serving store.
func (a *Activities) Aggregate(ctx context.Context, in AggregateInput) (AggregateResult, error) {
	root, ok := a.Lake.LocalDir()
	if !ok {
		return AggregateResult{}, badInput("lake %s is not on the local disk: the duckdb engine aggregates file:// lakes only", a.Lake.URL())
	}
	heartbeat(ctx, "marts")
	report, err := a.Analytics.BuildMarts(ctx, root, in.Date)
	if err != nil {
		return AggregateResult{}, fmt.Errorf("build marts of %s: %w", in.Date, err)
	}
	res := AggregateResult{Rows: report.Rows, Keys: report.Keys}
	heartbeat(ctx, "similar")
	err = a.Analytics.Similar(ctx, root, in.Date, func(artistID string, similar []analytics.SimilarArtist) error {
		items := make([]serving.Similar, len(similar))
		for i, s := range similar {
			items[i] = serving.Similar{ArtistID: s.ArtistID, Name: s.Name, Score: s.Score}
		}
		res.Similar += len(items)
		return a.Serving.PutSimilar(ctx, in.Date, artistID, items)
	})
	if err != nil {
		return AggregateResult{}, fmt.Errorf("store similar artists of %s: %w", in.Date, err)
	}
	a.logger(ctx).Info("aggregated", zap.String("date", in.Date), zap.Any("rows", res.Rows))
	return res, nil
}
