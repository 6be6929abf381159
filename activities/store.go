package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
	"github.com/metronome-data/metronome/internal/tables"
)

// latestReleases is how many releases the serving store keeps per artist.
const latestReleases = 5

// DefaultStoreGroup is the most artists whose top tracks, releases and
// discographies Store holds in memory at once, when Settings.StoreGroup is
// not set.
const DefaultStoreGroup = 20_000

// Store upserts the curated tables of the date into the serving store: each
// artist's snapshot, top tracks (extended mode) or latest releases
// (development mode), and adds the artists to the tracked set. Upserts are
// idempotent and an older date never overwrites a newer snapshot, so retries
// and backfills are safe.
//
// Joining top tracks to tracks and releases to albums needs the rows of many
// artists at once. A date of more artists than the store group is stored in
// groups of artists (by a hash of the ID), each group reading the tables
// again and keeping only its own rows, so memory stays flat however many
// artists a date has; at 100,000 artists the whole tables needed about
// 1.4 GB.
//
// A request run (in.Scope) stores the curated tables of its scope: its
// artists join the tracked set, so the daily run collects them from now on.
func (a *Activities) Store(ctx context.Context, in contract.StoreInput) (res contract.StoreResult, err error) {
	defer reportLineage(ctx, a, storeLineage, in)(&res, &err)
	s, err := a.scoped(in.Scope)
	if err != nil {
		return contract.StoreResult{}, err
	}
	return s.store(ctx, in)
}

func (a *Activities) store(ctx context.Context, in contract.StoreInput) (contract.StoreResult, error) {
	defer a.observe("store", time.Now())
	ctx, stop := keepAlive(ctx, keepAliveEvery)
	defer stop()
	var res contract.StoreResult

	ids, err := a.storeArtists(ctx, in.Date)
	if err != nil {
		return res, err
	}
	res.Artists = len(ids)
	size := a.Settings.StoreGroup
	if size <= 0 {
		size = DefaultStoreGroup
	}
	groups := artistGroups{n: uint64(max(1, (len(ids)+size-1)/size)), seed: maphash.MakeSeed()}
	for g := range groups.n {
		inGroup := func(artistID string) bool { return groups.of(artistID) == g }
		n, err := a.storeTopTracks(ctx, in.Date, inGroup)
		if err != nil {
			return res, err
		}
		res.TopTracks += n
		if n, err = a.storeReleases(ctx, in.Date, inGroup); err != nil {
			return res, err
		}
		res.Releases += n
		heartbeat(ctx, g+1)
	}

	if err := a.Serving.Track(ctx, ids...); err != nil {
		return res, fmt.Errorf("track %d artists: %w", len(ids), err)
	}
	res.Tracked = len(ids)
	a.logger(ctx).Info("stored", zap.String("date", in.Date), zap.String("scope", in.Scope), zap.Int("artists", res.Artists),
		zap.Int("top_tracks", res.TopTracks), zap.Int("releases", res.Releases),
		zap.Uint64("groups", groups.n))
	return res, nil
}

// artistGroups splits artists into n groups by a hash of their IDs.
type artistGroups struct {
	n    uint64
	seed maphash.Seed
}

func (g artistGroups) of(artistID string) uint64 {
	if g.n == 1 {
		return 0
	}
	return maphash.String(g.seed, artistID) % g.n
}

// The columns Store reads of the curated tables: narrow rows keep its
// memory to what serving items show. store_test.go checks that each column
// is one of its table's.
type (
	topTrackRank struct {
		ArtistID string `parquet:"artist_id"`
		Rank     int32  `parquet:"rank"`
		TrackID  string `parquet:"track_id"`
	}
	topTrackDetail struct {
		TrackID    string  `parquet:"track_id"`
		Name       string  `parquet:"name"`
		AlbumName  *string `parquet:"album_name,optional"`
		DurationMS int32   `parquet:"duration_ms"`
		Popularity *int32  `parquet:"popularity,optional"`
	}
	releaseRow struct {
		AlbumID     string      `parquet:"album_id"`
		ArtistID    string      `parquet:"artist_id"`
		Name        string      `parquet:"name"`
		AlbumType   string      `parquet:"album_type"`
		ReleaseDate tables.Date `parquet:"release_date,date"`
	}
)

// storeArtists upserts the artist snapshots of date in chunks and returns
// their IDs.
func (a *Activities) storeArtists(ctx context.Context, date string) ([]string, error) {
	const chunk = 500
	var ids []string
	artists := make([]serving.ArtistSnapshot, 0, chunk)
	flush := func() error {
		if len(artists) == 0 {
			return nil
		}
		if err := a.Serving.PutArtists(ctx, date, artists); err != nil {
			return fmt.Errorf("store artists of %s: %w", date, err)
		}
		artists = artists[:0]
		return nil
	}
	err := forEachRow(ctx, a.Lake, tables.Artists, date, func(r tables.Artist) error {
		ids = append(ids, r.ArtistID)
		artists = append(artists, serving.ArtistSnapshot{
			ID: r.ArtistID, Name: r.Name, Genres: r.Genres,
			Popularity: intPtr(r.Popularity), Followers: r.Followers, ImageURL: deref(r.ImageURL),
			UpdatedAt: r.FetchedAt,
		})
		if len(artists) == chunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, flush()
}

// storeTopTracks upserts the top tracks of the artists of date inGroup: the
// ranks first, then only the tracks they name.
func (a *Activities) storeTopTracks(ctx context.Context, date string, inGroup func(string) bool) (int, error) {
	ranks := map[string][]topTrackRank{}
	wanted := map[string]bool{}
	err := forEachRow(ctx, a.Lake, tables.ArtistTopTracks, date, func(r topTrackRank) error {
		if inGroup(r.ArtistID) {
			ranks[r.ArtistID] = append(ranks[r.ArtistID], r)
			wanted[r.TrackID] = true
		}
		return nil
	})
	if err != nil || len(ranks) == 0 {
		return 0, err
	}
	tracks := make(map[string]serving.TopTrack, len(wanted))
	err = forEachRow(ctx, a.Lake, tables.Tracks, date, func(r topTrackDetail) error {
		if wanted[r.TrackID] {
			tracks[r.TrackID] = serving.TopTrack{
				ID: r.TrackID, Name: r.Name, Album: deref(r.AlbumName),
				Popularity: intPtr(r.Popularity), DurationMS: int(r.DurationMS),
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	stored := 0
	batch := newListBatch(func(byArtist map[string][]serving.TopTrack) error {
		return a.Serving.PutTopTracksBatch(ctx, date, byArtist)
	})
	for _, artistID := range sortedKeys(ranks) {
		rows := ranks[artistID]
		sort.Slice(rows, func(i, j int) bool { return rows[i].Rank < rows[j].Rank })
		top := make([]serving.TopTrack, 0, len(rows))
		for _, r := range rows {
			t := tracks[r.TrackID]
			t.ID = r.TrackID
			top = append(top, t)
		}
		if err := batch.add(artistID, top); err != nil {
			return stored, err
		}
		stored += len(top)
	}
	return stored, batch.flush()
}

// storeReleases upserts the latest releases, the discography view that
// works in both modes, and the discographies of the artists of date
// inGroup.
func (a *Activities) storeReleases(ctx context.Context, date string, inGroup func(string) bool) (int, error) {
	listings, err := a.readListings(ctx, date, inGroup)
	if err != nil {
		return 0, err
	}
	albums := map[string][]serving.Release{}
	// Albums are curated once, under one of the artists that list them,
	// so every row is checked against this group's listings.
	curated := map[string]bool{}
	err = forEachRow(ctx, a.Lake, tables.Albums, date, func(r releaseRow) error {
		if inGroup(r.ArtistID) {
			albums[r.ArtistID] = append(albums[r.ArtistID], serving.Release{
				AlbumID: r.AlbumID, Name: r.Name, Type: r.AlbumType, ReleaseDate: r.ReleaseDate.String(),
			})
		}
		if listings.albums[r.AlbumID] {
			curated[r.AlbumID] = true
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	stored := 0
	batch := newListBatch(func(byArtist map[string][]serving.Release) error {
		return a.Serving.PutReleasesBatch(ctx, date, byArtist)
	})
	for _, artistID := range sortedKeys(albums) {
		// An incremental run curates only new albums: merge them with the
		// releases the store already has.
		known, err := a.Serving.Releases(ctx, artistID)
		if err != nil {
			return stored, fmt.Errorf("read releases of %s: %w", artistID, err)
		}
		releases := slices.Concat(albums[artistID], known)
		releases = latest(releases, latestReleases)
		if err := batch.add(artistID, releases); err != nil {
			return stored, err
		}
		stored += len(releases)
	}
	if err := batch.flush(); err != nil {
		return stored, err
	}
	return stored, a.storeDiscographies(ctx, date, listings, curated)
}

// forEachRow streams every row of a curated table's partition for date.
func forEachRow[T any](ctx context.Context, store lake.Store, table, date string, fn func(T) error) error {
	keys, err := store.List(ctx, lake.CuratedPrefix(table, date))
	if err != nil {
		return fmt.Errorf("list curated %s of %s: %w", table, date, err)
	}
	for _, key := range keys {
		if err := lake.ReadParquet(ctx, store, key, fn); err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func intPtr(p *int32) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// latest returns the n newest releases, one per album.
func latest(releases []serving.Release, n int) []serving.Release {
	sort.SliceStable(releases, func(i, j int) bool {
		if releases[i].ReleaseDate != releases[j].ReleaseDate {
			return releases[i].ReleaseDate > releases[j].ReleaseDate
		}
		return releases[i].AlbumID < releases[j].AlbumID
	})
	seen := map[string]bool{}
	out := make([]serving.Release, 0, n)
	for _, r := range releases {
		if len(out) == n {
			break
		}
		if !seen[r.AlbumID] {
			seen[r.AlbumID] = true
			out = append(out, r)
		}
	}
	return out
}

// albumListing is the part of an artist-albums paging object the
// discography needs.
type albumListing struct {
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Items  []struct {
		ID string `json:"id"`
	} `json:"items"`
}

// listings are the album listings of a group of artists on one date.
type listings struct {
	totals map[string]int      // by artist: the listing's total
	listed map[string][]string // by artist: the albums listed
	albums map[string]bool     // every album listed
}

// readListings reads the raw artist-albums pages of date of the artists
// inGroup.
func (a *Activities) readListings(ctx context.Context, date string, inGroup func(string) bool) (listings, error) {
	l := listings{totals: map[string]int{}, listed: map[string][]string{}, albums: map[string]bool{}}
	keys, err := a.Lake.List(ctx, lake.RawPrefix(spotify.EntityArtistAlbums, date))
	if err != nil {
		return l, fmt.Errorf("list artist albums of %s: %w", date, err)
	}
	for _, key := range keys {
		err := lake.ReadRaw(ctx, a.Lake, key, func(r lake.RawRecord) error {
			if !inGroup(r.Key) {
				return nil
			}
			var page albumListing
			if json.Unmarshal(r.Data, &page) != nil {
				return nil // the clean stage quarantined it
			}
			if page.Offset == 0 {
				l.totals[r.Key] = page.Total
			}
			for _, it := range page.Items {
				l.listed[r.Key] = append(l.listed[r.Key], it.ID)
				l.albums[it.ID] = true
			}
			return nil
		}, func(lake.MalformedLine) error { return nil })
		if err != nil {
			return l, fmt.Errorf("read %s: %w", key, err)
		}
	}
	return l, nil
}

// storeDiscographies records, per artist whose albums were listed on date,
// the albums now in the lake and the listing's total, so the next
// development-mode run fetches only what is new. It runs after clean, so an
// album counts as known only once it reached a curated partition.
func (a *Activities) storeDiscographies(ctx context.Context, date string, l listings, curated map[string]bool) error {
	for _, artistID := range sortedKeys(l.totals) {
		prev, _, err := a.Serving.Discography(ctx, artistID)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, id := range prev.AlbumIDs {
			known[id] = true
		}
		ids := append([]string(nil), prev.AlbumIDs...)
		for _, id := range l.listed[artistID] {
			if curated[id] && !known[id] {
				known[id] = true
				ids = append(ids, id)
			}
		}
		if err := a.Serving.PutDiscography(ctx, date, artistID, serving.Discography{Total: l.totals[artistID], AlbumIDs: ids}); err != nil {
			return err
		}
	}
	return nil
}
