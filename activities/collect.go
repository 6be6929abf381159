package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/spotify"
)

// CollectBatch fetches one batch of artists from Spotify in the run's API
// mode and writes what the API returned to raw/spotify/<entity>/dt=D/
// batch=N.jsonl.gz. Keys are deterministic in (entity, date, batch), so a
// retry overwrites its own objects and never duplicates data. It returns
// counts, never payloads. A request run's batch (in.Scope) lives in its
// scope of the lake.
func (a *Activities) CollectBatch(ctx context.Context, in contract.CollectInput) (res contract.CollectResult, err error) {
	defer reportLineage(ctx, a, collectLineage, in)(&res, &err)
	s, err := a.scoped(in.Scope)
	if err != nil {
		return contract.CollectResult{}, err
	}
	return s.collectBatch(ctx, in)
}

func (a *Activities) collectBatch(ctx context.Context, in contract.CollectInput) (contract.CollectResult, error) {
	defer a.observe("collect", time.Now())
	ctx, stop := keepAlive(ctx, keepAliveEvery)
	defer stop()
	ids, err := a.readArtistBatch(ctx, in.ArtistsKey, in.Batch, in.BatchSize)
	if err != nil {
		return contract.CollectResult{}, err
	}
	heartbeat(ctx, 0)
	req := spotify.BatchRequest{
		Mode:      spotify.Mode(in.Mode),
		ArtistIDs: ids,
		Market:    a.Settings.Market,
		Progress:  func(done int) { heartbeat(ctx, done) },
	}
	if req.Mode == spotify.ModeDevelopment {
		if err := a.knownDiscography(ctx, ids, &req); err != nil {
			return contract.CollectResult{}, err
		}
	}
	got, err := a.Spotify.CollectBatch(ctx, req)
	if err != nil {
		return contract.CollectResult{}, a.spotifyError(fmt.Sprintf("collect batch %d of %s", in.Batch, in.Date), err)
	}

	byEntity := map[string][]lake.RawRecord{}
	for _, r := range got.Records {
		byEntity[r.Entity] = append(byEntity[r.Entity], lake.RawRecord{
			DT: in.Date, Batch: in.Batch, FetchedAt: r.FetchedAt,
			Endpoint: r.Endpoint, Key: r.Key, Data: r.Data,
		})
	}
	// This batch's objects replace whatever an earlier run of the date left
	// under the same keys, including entities this run did not return.
	for _, entity := range curate.Entities {
		if len(byEntity[entity]) == 0 {
			key := lake.RawKey(entity, in.Date, in.Batch)
			if err := a.Lake.Delete(ctx, key); err != nil && !errors.Is(err, lake.ErrNotFound) {
				return contract.CollectResult{}, fmt.Errorf("remove stale %s: %w", key, err)
			}
		}
	}
	res := contract.CollectResult{
		Batch: in.Batch, Records: map[string]int{}, Calls: got.Calls,
		Missing: got.Missing, Unavailable: got.Unavailable,
	}
	entities := make([]string, 0, len(byEntity))
	for e := range byEntity {
		entities = append(entities, e)
	}
	sort.Strings(entities)
	for _, entity := range entities {
		key := lake.RawKey(entity, in.Date, in.Batch)
		n, err := lake.WriteRaw(ctx, a.Lake, key, byEntity[entity])
		if err != nil {
			return contract.CollectResult{}, fmt.Errorf("write %s: %w", key, err)
		}
		res.Records[entity] = len(byEntity[entity])
		res.Bytes += n
		a.Metrics.RecordCollect(entity, len(byEntity[entity]))
		a.Metrics.RecordLakeWrite(key, n)
	}
	a.logger(ctx).Debug("batch collected", zap.Int("batch", in.Batch), zap.Int("artists", len(ids)),
		zap.Any("records", res.Records))
	return res, nil
}

// knownDiscography lets a development-mode batch skip what earlier runs
// collected: album details of known albums, and the later pages of an
// artist's albums when the listing's total has not changed.
func (a *Activities) knownDiscography(ctx context.Context, artistIDs []string, req *spotify.BatchRequest) error {
	known := map[string]bool{}
	totals := map[string]int{}
	for _, id := range artistIDs {
		d, ok, err := a.Serving.Discography(ctx, id)
		if err != nil {
			return fmt.Errorf("read known albums of %s: %w", id, err)
		}
		if !ok {
			continue
		}
		totals[id] = d.Total
		for _, album := range d.AlbumIDs {
			known[album] = true
		}
	}
	req.KnownAlbum = func(albumID string) bool { return known[albumID] }
	req.KnownAlbumTotal = func(artistID string) (int, bool) {
		t, ok := totals[artistID]
		return t, ok
	}
	return nil
}
