package console

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/tables"
)

// Search finds artists by name in the artists partition of the newest
// processed date, held in memory: at 100,000 artists the index is a few
// megabytes, is read once per manifest of that date, and a search scans it
// in milliseconds, where SQL over the partition would read it every time.

// maxSearchResults is how many matches /artists?q= lists.
const maxSearchResults = 50

// maxQueryLength bounds the search text, in bytes.
const maxQueryLength = 200

// nameRow is the part of a curated artists row the index keeps.
type nameRow struct {
	ArtistID string `parquet:"artist_id"`
	Name     string `parquet:"name"`
}

type indexedName struct {
	id, name, norm string
}

// nameIndex holds the names of one date's artists.
type nameIndex struct {
	date  string
	names []indexedName // sorted by normalized name, then ID
}

// searchHit is one artist found.
type searchHit struct {
	ID   string
	Name string
}

// searchResult is a search's matches, best first, and how many matched
// in all.
type searchResult struct {
	Hits  []searchHit
	Total int
	Date  string // of the partition searched
}

// loadNameIndex reads the names of the artists partition of date.
func loadNameIndex(ctx context.Context, store lake.Store, date string) (*nameIndex, error) {
	keys, err := store.List(ctx, lake.CuratedPrefix(tables.Artists, date))
	if err != nil {
		return nil, fmt.Errorf("list the artists of %s: %w", date, err)
	}
	var rows []nameRow
	for _, key := range keys {
		err := lake.ReadParquet(ctx, store, key, func(r nameRow) error {
			rows = append(rows, r)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read the artists of %s: %w", date, err)
		}
	}
	return newNameIndex(date, rows), nil
}

// newNameIndex indexes the names of rows, one per artist ID.
func newNameIndex(date string, rows []nameRow) *nameIndex {
	idx := &nameIndex{date: date, names: make([]indexedName, 0, len(rows))}
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		if !seen[r.ArtistID] {
			seen[r.ArtistID] = true
			idx.names = append(idx.names, indexedName{id: r.ArtistID, name: r.Name, norm: serving.NormalizeName(r.Name)})
		}
	}
	slices.SortFunc(idx.names, func(a, b indexedName) int {
		return cmp.Or(strings.Compare(a.norm, b.norm), strings.Compare(a.id, b.id))
	})
	return idx
}

// search returns the artists whose name contains q, compared as
// serving.NormalizeName does (case, Unicode form and spacing aside): the
// name equal to q first, then names starting with it, then names with a
// word starting with it, then any other, each group in name order. An
// artist ID finds its artist too.
func (idx *nameIndex) search(q string) searchResult {
	res := searchResult{Date: idx.date}
	nq := serving.NormalizeName(q)
	if nq == "" {
		return res
	}
	var groups [4][]searchHit
	for _, n := range idx.names {
		rank := -1
		switch {
		case n.norm == nq || n.id == q:
			rank = 0
		case strings.HasPrefix(n.norm, nq):
			rank = 1
		case strings.Contains(n.norm, " "+nq):
			rank = 2
		case strings.Contains(n.norm, nq):
			rank = 3
		}
		if rank < 0 {
			continue
		}
		res.Total++
		if len(groups[rank]) < maxSearchResults {
			groups[rank] = append(groups[rank], searchHit{ID: n.id, Name: n.name})
		}
	}
	for _, g := range groups {
		res.Hits = append(res.Hits, g[:min(len(g), maxSearchResults-len(res.Hits))]...)
	}
	return res
}

// warmArtistPages does before the first visitor what the artist pages
// do first: it reads the names of the newest processed date into the
// search index and has the SQL engine describe the lake's tables (the
// first query of a process otherwise takes ~200 ms at 100,000 artists).
// Failures are left for the pages to report.
func (c *Console) warmArtistPages(ctx context.Context) {
	if root, local := c.o.Lake.LocalDir(); c.o.Query != nil && local {
		_, _ = c.o.Query.Query(ctx, root, "SELECT 1")
	}
	dates, err := c.processedDates(ctx)
	if err != nil || len(dates) == 0 {
		return
	}
	newest := dates[len(dates)-1]
	m, err := c.manifest(ctx, newest)
	if err != nil {
		return
	}
	_, _ = c.names.get(ctx, c.o.Lake, newest, manifestStamp(m))
}

// nameIndexes caches the index of the newest date by the manifest it
// was read for.
type nameIndexes struct {
	mu     sync.Mutex
	stamp  string
	idx    *nameIndex
	loadMu sync.Mutex // one load at a time: concurrent first searches share it
}

// get returns the index of date for the manifest stamped stamp.
func (n *nameIndexes) get(ctx context.Context, store lake.Store, date, stamp string) (*nameIndex, error) {
	key := date + "\x00" + stamp
	if idx := n.cached(key); idx != nil {
		return idx, nil
	}
	n.loadMu.Lock()
	defer n.loadMu.Unlock()
	if idx := n.cached(key); idx != nil {
		return idx, nil
	}
	idx, err := loadNameIndex(ctx, store, date)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.stamp, n.idx = key, idx
	n.mu.Unlock()
	return idx, nil
}

func (n *nameIndexes) cached(key string) *nameIndex {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.idx != nil && n.stamp == key {
		return n.idx
	}
	return nil
}
