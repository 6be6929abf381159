package activities

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/tables"
)

// Development mode can leave every artist of a date without genres: the
// genre marts are skipped with a reason, and Aggregate, with no similarity
// mart to read, stores no similar artists and succeeds.
func TestAggregateSkipsGenreMartsWithoutGenres(t *testing.T) {
	const date = "2026-11-01"
	ctx := context.Background()
	dir := t.TempDir()
	store, err := lake.Open(ctx, "file://"+filepath.Join(dir, "lake"))
	require.NoError(t, err)
	srv, err := serving.Open(ctx, "sqlite://"+filepath.Join(dir, "serving.db"))
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	engine, err := analytics.NewDuckDB(analytics.WithThreads(1))
	require.NoError(t, err)
	t.Cleanup(func() { engine.Close() })

	w, err := lake.NewPartitionWriter[tables.Artist](store, lake.CuratedPrefix(tables.Artists, date))
	require.NoError(t, err)
	at := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
	require.NoError(t, w.Write(ctx, []tables.Artist{
		{ArtistID: "4Z8W4fKeB5YxbusRsdQVPb", Name: "One", FetchedAt: at},
		{ArtistID: "0TnOYISbd1XYRBk9myaseg", Name: "Two", FetchedAt: at},
	}))
	require.NoError(t, w.Close(ctx))
	require.NoError(t, w.Publish(ctx))

	a := &Activities{Lake: store, Serving: srv, Analytics: engine}
	res, err := a.Aggregate(ctx, contract.AggregateInput{Date: date})
	require.NoError(t, err)
	require.Contains(t, res.Skipped[analytics.GenreDaily], "genres absent for all 2 artists")
	require.Contains(t, res.Skipped, analytics.ArtistSimilarity)
	require.NotContains(t, res.Rows, analytics.GenreDaily)
	require.EqualValues(t, 2, res.Rows[analytics.ArtistDaily])
	require.Zero(t, res.Similar)
}
