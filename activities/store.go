package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
	"github.com/metronome-data/metronome/internal/tables"
)

// latestReleases is how many releases the serving store keeps per artist.
const latestReleases = 5

// Store upserts the curated tables of the date into the serving store: each
// artist's snapshot, top tracks (extended mode) or latest releases
// (development mode), and adds the artists to the tracked set. Upserts are
// idempotent and an older date never overwrites a newer snapshot, so retries
// and backfills are safe.
func (a *Activities) Store(ctx context.Context, in StoreInput) (StoreResult, error) {
	defer a.observe("store", time.Now())
	ctx, stop := keepAlive(ctx, keepAliveEvery)
	defer stop()
	var res StoreResult

	var artists []serving.ArtistSnapshot
	err := forEachRow(ctx, a.Lake, tables.Artists, in.Date, func(r tables.Artist) error {
		artists = append(artists, serving.ArtistSnapshot{
			ID: r.ArtistID, Name: r.Name, Genres: r.Genres,
			Popularity: intPtr(r.Popularity), Followers: r.Followers, ImageURL: deref(r.ImageURL),
			UpdatedAt: parseTime(r.FetchedAt),
		})
		return nil
	})
	if err != nil {
		return res, err
	}
	for start := 0; start < len(artists); start += 500 {
		end := min(start+500, len(artists))
		if err := a.Serving.PutArtists(ctx, in.Date, artists[start:end]); err != nil {
			return res, fmt.Errorf("store artists of %s: %w", in.Date, err)
		}
		heartbeat(ctx, end)
	}
	res.Artists = len(artists)

	// Top tracks: the ranks first, then only the tracks they name.
	ranks := map[string][]tables.ArtistTopTrack{}
	wanted := map[string]bool{}
	err = forEachRow(ctx, a.Lake, tables.ArtistTopTracks, in.Date, func(r tables.ArtistTopTrack) error {
		ranks[r.ArtistID] = append(ranks[r.ArtistID], r)
		wanted[r.TrackID] = true
		return nil
	})
	if err != nil {
		return res, err
	}
	// Only what a top-track item shows: whole rows (markets and all)
	// raised store's peak by about 230 MiB at 100,000 artists.
	tracks := map[string]serving.TopTrack{}
	if len(wanted) > 0 {
		err = forEachRow(ctx, a.Lake, tables.Tracks, in.Date, func(r tables.Track) error {
			if wanted[r.TrackID] {
				tracks[r.TrackID] = serving.TopTrack{
					ID: r.TrackID, Name: r.Name, Album: deref(r.AlbumName),
					Popularity: intPtr(r.Popularity), DurationMS: int(r.DurationMS),
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	for _, artistID := range sortedKeys(ranks) {
		rows := ranks[artistID]
		sort.Slice(rows, func(i, j int) bool { return rows[i].Rank < rows[j].Rank })
		top := make([]serving.TopTrack, 0, len(rows))
		for _, r := range rows {
			t := tracks[r.TrackID]
			t.ID = r.TrackID
			top = append(top, t)
		}
		if err := a.Serving.PutTopTracks(ctx, in.Date, artistID, top); err != nil {
			return res, fmt.Errorf("store top tracks of %s: %w", artistID, err)
		}
		res.TopTracks += len(top)
	}

	// Latest releases, the discography view that works in both modes.
	albums := map[string][]tables.Album{}
	err = forEachRow(ctx, a.Lake, tables.Albums, in.Date, func(r tables.Album) error {
		albums[r.ArtistID] = append(albums[r.ArtistID], r)
		return nil
	})
	if err != nil {
		return res, err
	}
	curatedAlbums := map[string]bool{}
	for _, artistID := range sortedKeys(albums) {
		// An incremental run curates only new albums: merge them with the
		// releases the store already has.
		releases := make([]serving.Release, 0, len(albums[artistID]))
		for _, r := range albums[artistID] {
			curatedAlbums[r.AlbumID] = true
			releases = append(releases, serving.Release{
				AlbumID: r.AlbumID, Name: r.Name, Type: r.AlbumType, ReleaseDate: r.ReleaseDate,
			})
		}
		view, ok, err := a.Serving.Artist(ctx, artistID)
		if err != nil {
			return res, fmt.Errorf("read releases of %s: %w", artistID, err)
		}
		if ok {
			releases = append(releases, view.Releases...)
		}
		releases = latest(releases, latestReleases)
		if err := a.Serving.PutReleases(ctx, in.Date, artistID, releases); err != nil {
			return res, fmt.Errorf("store releases of %s: %w", artistID, err)
		}
		res.Releases += len(releases)
	}
	if err := a.storeDiscographies(ctx, in.Date, curatedAlbums); err != nil {
		return res, err
	}

	ids := make([]string, len(artists))
	for i, s := range artists {
		ids[i] = s.ID
	}
	if err := a.Serving.Track(ctx, ids...); err != nil {
		return res, fmt.Errorf("track %d artists: %w", len(ids), err)
	}
	res.Tracked = len(ids)
	a.logger(ctx).Info("stored", zap.String("date", in.Date), zap.Int("artists", res.Artists),
		zap.Int("top_tracks", res.TopTracks), zap.Int("releases", res.Releases))
	return res, nil
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

// parseTime reads an RFC 3339 time of the curated tables; a bad one is the
// zero time, which the serving store does not store.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
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

// storeDiscographies records, per artist whose albums were listed on date,
// the albums now in the lake and the listing's total, so the next
// development-mode run fetches only what is new. It runs after clean, so an
// album counts as known only once it reached a curated partition.
func (a *Activities) storeDiscographies(ctx context.Context, date string, curated map[string]bool) error {
	keys, err := a.Lake.List(ctx, lake.RawPrefix(spotify.EntityArtistAlbums, date))
	if err != nil {
		return fmt.Errorf("list artist albums of %s: %w", date, err)
	}
	totals := map[string]int{}
	listed := map[string][]string{}
	for _, key := range keys {
		err := lake.ReadRaw(ctx, a.Lake, key, func(r lake.RawRecord) error {
			var page albumListing
			if json.Unmarshal(r.Data, &page) != nil {
				return nil // the clean stage quarantined it
			}
			if page.Offset == 0 {
				totals[r.Key] = page.Total
			}
			for _, it := range page.Items {
				listed[r.Key] = append(listed[r.Key], it.ID)
			}
			return nil
		}, func(lake.MalformedLine) error { return nil })
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
	}
	for _, artistID := range sortedKeys(totals) {
		prev, _, err := a.Serving.Discography(ctx, artistID)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, id := range prev.AlbumIDs {
			known[id] = true
		}
		ids := append([]string(nil), prev.AlbumIDs...)
		for _, id := range listed[artistID] {
			if curated[id] && !known[id] {
				known[id] = true
				ids = append(ids, id)
			}
		}
		if err := a.Serving.PutDiscography(ctx, date, artistID, serving.Discography{Total: totals[artistID], AlbumIDs: ids}); err != nil {
			return err
		}
	}
	return nil
}
