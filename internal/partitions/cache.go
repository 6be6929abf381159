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

// capture reads the capture record of date, whole or without its objects
// (a head); nil when it has none. A whole record cached serves a head.
func (r *Reader) capture(ctx context.Context, date string, whole bool) (*activities.Capture, error) {
	doc, err := r.cached(lake.CaptureKey(date), whole, func() (any, error) {
		if !whole {
			return readCaptureHead(ctx, r.store, date)
		}
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

// manifest reads the run manifest of date, whole or without its raw
// objects.
func (r *Reader) manifest(ctx context.Context, date string, whole bool) (*activities.Manifest, error) {
	doc, err := r.cached(lake.ManifestKey(date), whole, func() (any, error) {
		if !whole {
			return readManifestHead(ctx, r.store, date)
		}
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
// else reads it. A whole document serves a request for its head. Errors
// are not kept: the next read tries again.
func (r *Reader) cached(key string, whole bool, read func() (any, error)) (any, error) {
	c := r.cache
	if c == nil {
		return read()
	}
	// Stat before reading: a rewrite between the two leaves an entry whose
	// version is older than its document, which the next stat replaces.
	version, local := r.version(key)
	now := time.Now()
	wholeKey, headKey := key+"#whole", key+"#head"
	lookups := []string{wholeKey}
	if !whole {
		lookups = append(lookups, headKey)
	}
	for _, k := range lookups {
		if doc, ok := c.current(k, version, local, now); ok {
			return doc, nil
		}
	}
	entryKey := headKey
	if whole {
		entryKey = wholeKey
	}
	doc, err, _ := c.reads.Do(fmt.Sprintf("%s@%d.%d", entryKey, version.size, version.mtime), func() (any, error) {
		doc, err := read()
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if _, ok := c.entries[entryKey]; !ok && len(c.entries) >= maxCached {
			c.evictOldest()
		}
		c.entries[entryKey] = entry{version: version, readAt: now, usedAt: now, doc: doc}
		c.mu.Unlock()
		return doc, nil
	})
	return doc, err
}

// current returns the entry k while it is current, marking it used.
func (c *cache) current(k string, version objectVersion, local bool, now time.Time) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || (local && e.version != version) || (!local && now.Sub(e.readAt) >= c.ttl) {
		return nil, false
	}
	e.usedAt = now
	c.entries[k] = e
	return e.doc, true
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
