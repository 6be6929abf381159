package partitions

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/lake"
)

// maxCached bounds the documents a cache holds: two per date, so two pages
// of 30 dates and some. At 100,000 artists a date's capture record and
// manifest list ~4,000 raw objects each, ~1.5 MB decoded: ~100 MB full.
const maxCached = 128

// cache keeps decoded capture records and manifests. A document is
// immutable until a run rewrites it, and a rewrite changes the object's
// size or modification time (both backends write whole objects), so a
// local lake validates an entry with one stat instead of a read and a
// decode. A remote lake has no stat in lake.Store: its entries expire
// after ttl.
type cache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]entry
	// reads joins concurrent reads of one document: a page arriving while
	// the cache warms waits for that read instead of decoding again.
	reads singleflight.Group
}

type entry struct {
	version objectVersion
	// readAt is when the document was read (a remote lake's TTL); usedAt
	// when a page last took it (eviction).
	readAt, usedAt time.Time
	doc            any
}

// objectVersion is what changes when an object is rewritten.
type objectVersion struct {
	size  int64
	mtime int64
}

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, entries: map[string]entry{}}
}

// capture reads the capture record of date; nil when it has none.
func (r *Reader) capture(ctx context.Context, date string) (*activities.Capture, error) {
	doc, err := r.cached(lake.CaptureKey(date), func() (any, error) {
		c, found, err := activities.ReadCapture(ctx, r.store, date)
		if err != nil || !found {
			return (*activities.Capture)(nil), err
		}
		return &c, nil
	})
	if err != nil {
		return nil, err
	}
	return doc.(*activities.Capture), nil
}

// manifest reads the run manifest of date.
func (r *Reader) manifest(ctx context.Context, date string) (*activities.Manifest, error) {
	doc, err := r.cached(lake.ManifestKey(date), func() (any, error) {
		m, err := activities.ReadManifest(ctx, r.store, date)
		if err != nil {
			return nil, err
		}
		return &m, nil
	})
	if err != nil {
		return nil, err
	}
	return doc.(*activities.Manifest), nil
}

// cached returns the document of key from the cache while it is current,
// else reads it. Errors are not kept: the next read tries again.
func (r *Reader) cached(key string, read func() (any, error)) (any, error) {
	c := r.cache
	if c == nil {
		return read()
	}
	// Stat before reading: a rewrite between the two leaves an entry whose
	// version is older than its document, which the next stat replaces.
	version, local := r.version(key)
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	current := ok && ((local && e.version == version) || (!local && now.Sub(e.readAt) < c.ttl))
	if current {
		e.usedAt = now
		c.entries[key] = e
	}
	c.mu.Unlock()
	if current {
		return e.doc, nil
	}
	doc, err, _ := c.reads.Do(fmt.Sprintf("%s@%d.%d", key, version.size, version.mtime), func() (any, error) {
		doc, err := read()
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if _, ok := c.entries[key]; !ok && len(c.entries) >= maxCached {
			c.evictOldest()
		}
		c.entries[key] = entry{version: version, readAt: now, usedAt: now, doc: doc}
		c.mu.Unlock()
		return doc, nil
	})
	return doc, err
}

// version stats key in a local lake; false when the lake is remote. A
// missing object has the zero version.
func (r *Reader) version(key string) (objectVersion, bool) {
	dir, ok := r.store.LocalDir()
	if !ok {
		return objectVersion{}, false
	}
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil {
		return objectVersion{}, true
	}
	return objectVersion{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, true
}

// evictOldest drops the entry used longest ago; c.mu is held.
func (c *cache) evictOldest() {
	var oldest string
	var at time.Time
	for k, e := range c.entries {
		if oldest == "" || e.usedAt.Before(at) {
			oldest, at = k, e.usedAt
		}
	}
	delete(c.entries, oldest)
}
