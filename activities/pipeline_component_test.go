package activities

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/tables"
)

// harness is the activities on real local backends: the fake Spotify API
// over HTTP, a file lake, SQLite and DuckDB.
type harness struct {
	acts *Activities
	fake *spotifyfake.Server
}

func newHarness(t *testing.T, mode string, artists int) *harness {
	t.Helper()
	ctx := context.Background()
	url, fake, stop, err := spotifyfake.StartServer(ctx, spotifyfake.Options{Artists: artists, Seed: 1, Mode: mode})
	require.NoError(t, err)
	t.Cleanup(stop)
	dir := t.TempDir()
	store, err := lake.Open(ctx, "file://"+filepath.Join(dir, "lake"))
	require.NoError(t, err)
	srv, err := serving.Open(ctx, "sqlite://"+filepath.Join(dir, "serving.db"))
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	engine, err := analytics.NewDuckDB()
	require.NoError(t, err)
	t.Cleanup(func() { engine.Close() })
	sp, err := spotify.New(ctx, spotify.Options{
		ClientID: spotifyfake.DefaultClientID, ClientSecret: spotifyfake.DefaultClientSecret,
		BaseURL: url + "/v1/", TokenURL: url + "/api/token", Gate: spotify.NewGate(spotify.GateOptions{}),
	})
	require.NoError(t, err)
	var seeds []string
	for _, a := range spotifyfake.NewCatalog(artists, 1).Artists() {
		seeds = append(seeds, a.Name)
	}
	return &harness{fake: fake, acts: &Activities{
		Spotify: sp, Lake: store, Serving: srv, Analytics: engine,
		Settings: Settings{APIMode: "auto", Market: "US", BatchSize: 50, MaxRejectRate: 0.05, Seeds: seeds},
	}}
}

// run calls the stages in order, as PipelineWorkflow does, without Temporal.
func (h *harness) run(t *testing.T, date string) contract.ManifestInput {
	t.Helper()
	ctx := context.Background()
	a := h.acts
	resolved, err := a.Resolve(ctx, contract.ResolveInput{Date: date})
	require.NoError(t, err)
	var summary contract.CollectSummary
	for b := range resolved.Batches {
		r, err := a.CollectBatch(ctx, contract.CollectInput{Date: date, ArtistsKey: resolved.ArtistsKey, Batch: b,
			BatchSize: resolved.BatchSize, Mode: resolved.Mode})
		require.NoError(t, err)
		summary.Add(r)
	}
	cleaned, err := a.Clean(ctx, contract.CleanInput{Date: date, Mode: resolved.Mode})
	require.NoError(t, err)
	stored, err := a.Store(ctx, contract.StoreInput{Date: date, Mode: resolved.Mode})
	require.NoError(t, err)
	aggregated, err := a.Aggregate(ctx, contract.AggregateInput{Date: date})
	require.NoError(t, err)
	in := contract.ManifestInput{Date: date, Resolve: resolved, Collect: summary, Clean: cleaned, Store: stored, Aggregate: aggregated}
	_, err = a.WriteManifest(ctx, in)
	require.NoError(t, err)
	return in
}

func sumCalls(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}

// The same pipeline in both API modes: each produces the tables its mode
// allows and a manifest that says what was unavailable.
func TestPipelineInBothAPIModes(t *testing.T) {
	if testing.Short() {
		t.Skip("component test over the fake Spotify API, SQLite and DuckDB")
	}
	const artists = 60
	tests := []struct {
		mode            string
		wantTables      []string
		emptyTables     []string
		wantUnavailable []string
	}{
		{mode: "extended",
			wantTables:  []string{tables.Artists, tables.Tracks, tables.ArtistTopTracks, tables.AudioFeatures},
			emptyTables: []string{tables.Albums}},
		{mode: "development",
			wantTables:      []string{tables.Artists, tables.Albums, tables.Tracks},
			emptyTables:     []string{tables.ArtistTopTracks, tables.AudioFeatures},
			wantUnavailable: []string{"top_tracks", "audio_features", "popularity", "followers"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			h := newHarness(t, tt.mode, artists)
			m := h.run(t, "2026-11-01")
			require.Equal(t, tt.mode, m.Resolve.Mode, "auto mode probed the app's mode")
			require.Equal(t, artists, m.Resolve.Artists)
			for _, table := range tt.wantTables {
				require.Positive(t, m.Clean.Report.RowsOut[table], table)
			}
			for _, table := range tt.emptyTables {
				require.Zero(t, m.Clean.Report.RowsOut[table], table)
			}
			for _, u := range tt.wantUnavailable {
				require.Contains(t, m.Collect.Unavailable, u)
			}
			require.Zero(t, m.Clean.Report.RejectedTotal())
			require.EqualValues(t, artists, m.Aggregate.Rows[analytics.ArtistDiscography])

			var rows []tables.Artist
			keys, err := h.acts.Lake.List(context.Background(), lake.CuratedPrefix(tables.Artists, "2026-11-01"))
			require.NoError(t, err)
			for _, k := range keys {
				require.NoError(t, lake.ReadParquet(context.Background(), h.acts.Lake, k, func(r tables.Artist) error {
					rows = append(rows, r)
					return nil
				}))
			}
			require.Len(t, rows, artists)
			for _, r := range rows {
				if tt.mode == "development" {
					require.Nil(t, r.Popularity, "development mode has no popularity: NULL, never 0")
					require.Nil(t, r.Followers)
				} else {
					require.NotNil(t, r.Popularity)
				}
			}
		})
	}
}

// After the first development-mode run, an artist's daily cost is its
// artist call plus one albums page, unless it released something new.
func TestDevelopmentModeIncrementalRun(t *testing.T) {
	if testing.Short() {
		t.Skip("component test over the fake Spotify API")
	}
	const artists = 40
	h := newHarness(t, "development", artists)
	h.acts.Settings.APIMode = "development"
	first := h.run(t, "2026-11-01")
	firstCalls := sumCalls(first.Collect.Calls)
	require.Greater(t, firstCalls, 2*artists, "the first run reads every album")

	second := h.run(t, "2026-11-02")
	require.Equal(t, 2*artists, sumCalls(second.Collect.Calls),
		"second run: one artist call and one albums page per artist, got %v", second.Collect.Calls)
	for endpoint := range second.Collect.Calls {
		require.NotContains(t, []string{"album", "albums", "album_tracks"}, endpoint, "an album was fetched twice")
	}

	// The discography mart still sees every album, from the first run's partition.
	require.EqualValues(t, artists, second.Aggregate.Rows[analytics.ArtistDiscography])
	view, ok, err := h.acts.Serving.Artist(context.Background(), spotifyfake.NewCatalog(artists, 1).Artists()[0].ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.NotEmpty(t, view.Releases, "latest releases survive an incremental run")
	require.Nil(t, view.Popularity)
}
