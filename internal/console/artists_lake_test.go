package console

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// pipelineLake is a lake made by the pipeline's own stages (resolve,
// collect, clean, store, aggregate, manifest) against the fake Spotify
// API, without Temporal: what the quality and artist pages read.
type pipelineLake struct {
	store   lake.Store
	serving *serving.Store
	duck    *analytics.DuckDB
	catalog *spotifyfake.Catalog
	fakeURL string
	mode    string
}

const pipelineArtists = 12

// newPipelineLake starts the fake API of mode and opens an empty lake,
// serving store and DuckDB. Slow: tests using it skip under -short.
func newPipelineLake(t *testing.T, mode string) *pipelineLake {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the pipeline's stages over the fake Spotify API, SQLite and DuckDB")
	}
	ctx := context.Background()
	url, _, stop, err := spotifyfake.StartServer(ctx, spotifyfake.Options{Artists: pipelineArtists, Seed: 1, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	dir := t.TempDir()
	store, err := lake.Open(ctx, "file://"+filepath.Join(dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	duck, err := analytics.NewDuckDB(analytics.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	l := &pipelineLake{store: store, duck: duck, catalog: spotifyfake.NewCatalog(pipelineArtists, 1), fakeURL: url, mode: mode}
	l.serving = l.openServing(t, filepath.Join(dir, "serving.db"))
	return l
}

func (l *pipelineLake) openServing(t *testing.T, path string) *serving.Store {
	t.Helper()
	srv, err := serving.Open(context.Background(), "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// run runs the stages of date into the lake and into srv. Before the
// clean stage it adds the raw records of bad, so the date has rejects.
func (l *pipelineLake) run(t *testing.T, date string, srv *serving.Store, bad []lake.RawRecord) contract.ManifestInput {
	t.Helper()
	ctx := context.Background()
	sp, err := spotify.New(ctx, spotify.Options{
		ClientID: spotifyfake.DefaultClientID, ClientSecret: spotifyfake.DefaultClientSecret,
		BaseURL: l.fakeURL + "/v1/", TokenURL: l.fakeURL + "/api/token", Gate: spotify.NewGate(spotify.GateOptions{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	var seeds []string
	for _, a := range l.catalog.Artists() {
		seeds = append(seeds, a.Name)
	}
	a := &activities.Activities{Spotify: sp, Lake: l.store, Serving: srv, Analytics: l.duck,
		Settings: activities.Settings{APIMode: "auto", Market: "US", BatchSize: 5, MaxRejectRate: 0.5, Seeds: seeds}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("pipeline of %s: %v", date, err)
		}
	}
	resolved, err := a.Resolve(ctx, contract.ResolveInput{Date: date})
	must(err)
	var summary contract.CollectSummary
	for b := range resolved.Batches {
		r, err := a.CollectBatch(ctx, contract.CollectInput{Date: date, ArtistsKey: resolved.ArtistsKey, Batch: b,
			BatchSize: resolved.BatchSize, Mode: resolved.Mode})
		must(err)
		summary.Add(r)
	}
	if len(bad) > 0 {
		_, err := lake.WriteRaw(ctx, l.store, lake.RawKey(curate.EntityArtists, date, 90), bad)
		must(err)
	}
	cleaned, err := a.Clean(ctx, contract.CleanInput{Date: date, Mode: resolved.Mode})
	must(err)
	stored, err := a.Store(ctx, contract.StoreInput{Date: date, Mode: resolved.Mode})
	must(err)
	aggregated, err := a.Aggregate(ctx, contract.AggregateInput{Date: date})
	must(err)
	in := contract.ManifestInput{Date: date, Resolve: resolved, Collect: summary, Clean: cleaned, Store: stored, Aggregate: aggregated}
	_, err = a.WriteManifest(ctx, in)
	must(err)
	return in
}

// badArtists are raw artist records the clean stage rejects: n with an
// invalid ID and one without a name.
func badArtists(date string, n int) []lake.RawRecord {
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var recs []lake.RawRecord
	for i := range n {
		recs = append(recs, lake.RawRecord{DT: date, Batch: 90, FetchedAt: at, Endpoint: "/v1/artists", Key: "bad-id",
			Data: json.RawMessage(`{"id":"not-an-id-` + string(rune('a'+i)) + `","name":"Nobody","type":"artist","popularity":5,"followers":{"total":1},"genres":[]}`)})
	}
	recs = append(recs, lake.RawRecord{DT: date, Batch: 90, FetchedAt: at, Endpoint: "/v1/artists", Key: "0000000000000000000000",
		Data: json.RawMessage(`{"id":"0000000000000000000000","type":"artist","popularity":5,"followers":{"total":1},"genres":[]}`)})
	return recs
}

// console is a console over the lake, reading srv and querying with
// query.
func (l *pipelineLake) console(t *testing.T, srv *serving.Store, query Querier) *Console {
	t.Helper()
	return newTestConsole(t, l.store, func(o *Options) { o.Serving, o.Query = srv, query })
}
