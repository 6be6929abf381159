package serving

import (
	"context"
	"slices"
	"sync"
)

// maxCachedViews bounds the view cache; when full it is emptied, which is
// simple and keeps memory flat under a flood of distinct artists.
const maxCachedViews = 10_000

// viewCache keeps the answers of Artist and ArtistByName (found or not)
// until anything in the store changes. The front door answers the same
// artists over and over while the store changes once a day, so an answer
// costs one cheap version check instead of four queries.
//
// Invalidation is exact rather than by time or date: version returns a
// number that grows whenever a write was committed to the store by any
// process (SQLite's data_version, see sqliteVersion), and a newer number
// empties the cache. An entry is stored under the version read before its
// load, so an entry loaded while a write landed is dropped at the next
// check, never served as current.
type viewCache struct {
	version func(ctx context.Context) (uint64, error)
	close   func() error

	mu    sync.Mutex
	stamp uint64
	views map[string]cachedView
}

type cachedView struct {
	view  ArtistView
	found bool
}

func newViewCache(version func(ctx context.Context) (uint64, error), closeFn func() error) *viewCache {
	return &viewCache{version: version, close: closeFn, views: map[string]cachedView{}}
}

// get returns the cached answer of key, or load's, which it caches. A nil
// cache, or a version that cannot be read, always loads.
func (c *viewCache) get(ctx context.Context, key string, load func(ctx context.Context) (ArtistView, bool, error)) (ArtistView, bool, error) {
	if c == nil {
		return load(ctx)
	}
	v, err := c.version(ctx)
	if err != nil {
		// The store is still the truth: answer from it, uncached.
		return load(ctx)
	}
	c.mu.Lock()
	if v > c.stamp {
		clear(c.views)
		c.stamp = v
	}
	e, ok := c.views[key]
	current := v == c.stamp
	c.mu.Unlock()
	if ok && current {
		return e.view.clone(), e.found, nil
	}
	view, found, err := load(ctx)
	if err != nil || !current {
		return view, found, err
	}
	c.mu.Lock()
	if v == c.stamp {
		if len(c.views) >= maxCachedViews {
			clear(c.views)
		}
		c.views[key] = cachedView{view.clone(), found}
	}
	c.mu.Unlock()
	return view, found, nil
}

// clone copies the lists of v, so that a caller that changes its answer
// cannot change the cache.
func (v ArtistView) clone() ArtistView {
	v.Genres = slices.Clone(v.Genres)
	v.TopTracks = slices.Clone(v.TopTracks)
	v.Releases = slices.Clone(v.Releases)
	v.Similar = slices.Clone(v.Similar)
	return v
}
