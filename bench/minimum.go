package bench

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/spotify"
	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// Limits of the API that set the minimum number of calls.
const (
	audioFeaturesPerCall = 100 // track IDs per audio-features call
	devAlbumsPage        = 10  // albums per artist-albums page, development mode
	albumTracksPage      = 50  // tracks per album-tracks page
)

// MinimumCalls is the fewest Spotify calls a run of mode needs for the
// artists ids, in batches of batchSize in that order:
//   - extended: per batch one artists call, one top-tracks call per artist
//     and one audio-features call per 100 distinct top tracks;
//   - development, first run: per artist its artist call, its album pages
//     (10 a page, at least one), every album, and each album's tracks
//     beyond the first 50;
//   - development, incremental run (the albums known and no new release):
//     per artist its artist call and one albums page.
func MinimumCalls(cat *spotifyfake.Catalog, mode string, ids []string, batchSize int, incremental bool) int {
	total := 0
	for start := 0; start < len(ids); start += batchSize {
		batch := ids[start:min(start+batchSize, len(ids))]
		if mode == string(spotify.ModeExtended) {
			tracks := map[string]bool{}
			for _, id := range batch {
				top, _ := cat.TopTracks(id, spotify.DefaultMarket, time.Time{})
				for _, t := range top {
					tracks[t.ID] = true
				}
			}
			total += 1 + len(batch) + (len(tracks)+audioFeaturesPerCall-1)/audioFeaturesPerCall
			continue
		}
		for _, id := range batch {
			if incremental {
				total += 2
				continue
			}
			a, ok := cat.Artist(id)
			if !ok {
				continue
			}
			total += 1 + max(1, (len(a.Albums)+devAlbumsPage-1)/devAlbumsPage) + len(a.Albums)
			for _, al := range a.Albums {
				if len(al.Tracks) > albumTracksPage {
					total += (len(al.Tracks) - 1) / albumTracksPage
				}
			}
		}
	}
	return total
}

// runArtists reads the resolved artist IDs of date, in batch order.
func runArtists(ctx context.Context, store lake.Store, date string) ([]string, error) {
	key := contract.ArtistsListKey(date)
	rc, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read artist list %s: %w", key, err)
	}
	defer rc.Close()
	var ids []string
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		if sc.Text() != "" {
			ids = append(ids, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read artist list %s: %w", key, err)
	}
	return ids, nil
}
