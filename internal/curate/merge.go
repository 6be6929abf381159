package curate

import (
	"cmp"
	"context"
	"fmt"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// rowKey is what rows are de-duplicated by: a Spotify ID (22 bytes), and
// for top tracks the market after it. A fixed-size array keeps the map of
// a million keys free of pointers.
type rowKey [24]byte

func idKey(id string) rowKey {
	var k rowKey
	copy(k[:spotifyIDLen], id)
	return k
}

func idMarketKey(id, market string) rowKey {
	k := idKey(id)
	copy(k[spotifyIDLen:], market)
	return k
}

// winner identifies the row (or, for top tracks, the record) kept for a
// key: the highest rank, then the latest fetch, then the last read.
type winner struct {
	rank int32
	at   int64
	id   int64 // Seq, or Rec when whole records compete
}

func (w winner) compare(o winner) int {
	return cmp.Or(cmp.Compare(w.rank, o.rank), cmp.Compare(w.at, o.at), cmp.Compare(w.id, o.id))
}

// dedup describes how one table is de-duplicated.
type dedup[T any] struct {
	key      func(*T) rowKey
	byRecord bool // whole records compete (top tracks lists), not single rows
}

func (d dedup[T]) candidate(s *staged[T]) winner {
	w := winner{rank: s.Rank, at: s.FetchedAt, id: s.Seq}
	if d.byRecord {
		w.id = s.Rec
	}
	return w
}

// mergeTable reads the staged rows of a table twice: once to find the
// winner of every key, once to emit the winners in read order. Only the
// winners' keys are held in memory.
func mergeTable[T any](ctx context.Context, store lake.Store, keys []string, d dedup[T],
	progress func(), emit func(*staged[T]) error) (kept, dropped int, err error) {
	best := make(map[rowKey]winner)
	for _, k := range keys {
		progress()
		err := lake.ReadParquet(ctx, store, k, func(s staged[T]) error {
			key, w := d.key(&s.Row), d.candidate(&s)
			if cur, ok := best[key]; !ok || w.compare(cur) > 0 {
				best[key] = w
			}
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
	}
	for _, k := range keys {
		progress()
		err := lake.ReadParquet(ctx, store, k, func(s staged[T]) error {
			if best[d.key(&s.Row)] != d.candidate(&s) {
				dropped++
				return nil
			}
			kept++
			return emit(&s)
		})
		if err != nil {
			return 0, 0, err
		}
	}
	return kept, dropped, nil
}

// writeBatch is how many rows go to a partition writer at a time.
const writeBatch = 1024

// albumRef is what tracks need of their album.
type albumRef struct {
	artistID string
	name     string
}

// mergedTable is a table written to staging, waiting to be published.
type mergedTable struct {
	table  string
	writer interface {
		Publish(context.Context) error
		Keys() []string
	}
	kept, dropped int
}

// mergeInto de-duplicates the staged rows of table into a partition writer
// under staging, passing each winner through fix (if set), and closes it.
func mergeInto[T any](ctx context.Context, st *stage, table, staging string, d dedup[T], opts Options,
	fix func(*staged[T]) T) (mergedTable, error) {
	keys, err := st.segmentKeys(ctx, table)
	if err != nil {
		return mergedTable{}, fmt.Errorf("merge %s: %w", table, err)
	}
	w, err := lake.NewPartitionWriter[T](st.store, lake.CuratedPrefix(table, st.dt),
		lake.WithStagingPrefix(staging), lake.WithTempDir(opts.TempDir))
	if err != nil {
		return mergedTable{}, fmt.Errorf("merge %s: %w", table, err)
	}
	progress := func() {
		if opts.Progress != nil {
			opts.Progress(st.cp.Objects, lake.CuratedPrefix(table, st.dt))
		}
	}
	buf := make([]T, 0, writeBatch)
	flush := func() error {
		err := w.Write(ctx, buf)
		buf = buf[:0]
		return err
	}
	kept, dropped, err := mergeTable(ctx, st.store, keys, d, progress, func(s *staged[T]) error {
		row := s.Row
		if fix != nil {
			row = fix(s)
		}
		if buf = append(buf, row); len(buf) == writeBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = w.Close(ctx)
	}
	if err != nil {
		return mergedTable{}, fmt.Errorf("merge %s: %w", table, err)
	}
	return mergedTable{table: table, writer: w, kept: kept, dropped: dropped}, nil
}

// merge runs phase 2: de-duplicates every table into its partition, staged
// under the run's staging prefix, then publishes them all.
func (st *stage) merge(ctx context.Context, report *Report, opts Options) error {
	staging := st.prefix + "out/"
	// Parts an interrupted merge staged are rewritten from scratch.
	if err := st.store.DeletePrefix(ctx, staging); err != nil {
		return fmt.Errorf("clear staged partitions: %w", err)
	}
	listers, err := st.albumListers(ctx)
	if err != nil {
		return err
	}
	albums := map[rowKey]albumRef{}
	var merged []mergedTable
	add := func(m mergedTable, err error) error {
		merged = append(merged, m)
		return err
	}

	err = add(mergeInto(ctx, st, tables.Artists, staging, dedup[tables.Artist]{
		key: func(r *tables.Artist) rowKey { return idKey(r.ArtistID) },
	}, opts, nil))
	if err != nil {
		return err
	}
	err = add(mergeInto(ctx, st, tables.Albums, staging, dedup[tables.Album]{
		key: func(r *tables.Album) rowKey { return idKey(r.AlbumID) },
	}, opts, func(s *staged[tables.Album]) tables.Album {
		row := s.Row
		if artist, ok := listers[idKey(row.AlbumID)]; ok {
			row.ArtistID = artist
		}
		albums[idKey(row.AlbumID)] = albumRef{artistID: row.ArtistID, name: row.Name}
		return row
	}))
	if err != nil {
		return err
	}
	err = add(mergeInto(ctx, st, tables.Tracks, staging, dedup[tables.Track]{
		key: func(r *tables.Track) rowKey { return idKey(r.TrackID) },
	}, opts, func(s *staged[tables.Track]) tables.Track {
		row := s.Row
		// A track from an album's track list belongs to the album's
		// tracked artist, and takes the album's name when its own record
		// had none (album_tracks pages).
		if a, ok := albums[idKey(row.AlbumID)]; ok && s.Rank == rankSimplified {
			row.ArtistID = a.artistID
			if row.AlbumName == nil {
				row.AlbumName = &a.name
			}
		}
		return row
	}))
	if err != nil {
		return err
	}
	err = add(mergeInto(ctx, st, tables.ArtistTopTracks, staging, dedup[tables.ArtistTopTrack]{
		key:      func(r *tables.ArtistTopTrack) rowKey { return idMarketKey(r.ArtistID, r.Market) },
		byRecord: true,
	}, opts, nil))
	if err != nil {
		return err
	}
	err = add(mergeInto(ctx, st, tables.AudioFeatures, staging, dedup[tables.AudioFeature]{
		key: func(r *tables.AudioFeature) rowKey { return idKey(r.TrackID) },
	}, opts, nil))
	if err != nil {
		return err
	}

	// Every table is complete before the first is published.
	for _, m := range merged {
		if err := m.writer.Publish(ctx); err != nil {
			return fmt.Errorf("publish %s: %w", m.table, err)
		}
		report.CuratedKeys[m.table] = m.writer.Keys()
		report.RowsOut[m.table] = m.kept
		report.Duplicates[m.table] = m.dropped
	}
	return nil
}

// albumListers maps each listed album to the tracked artist it belongs to:
// the one whose listing named it, or, when several did, the smallest ID, so
// that the choice is stable from day to day.
func (st *stage) albumListers(ctx context.Context) (map[rowKey]string, error) {
	keys, err := st.segmentKeys(ctx, listingsName)
	if err != nil {
		return nil, err
	}
	listers := map[rowKey]string{}
	for _, k := range keys {
		err := lake.ReadParquet(ctx, st.store, k, func(l albumListing) error {
			if cur, ok := listers[idKey(l.AlbumID)]; !ok || l.ArtistID < cur {
				listers[idKey(l.AlbumID)] = l.ArtistID
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read album listings: %w", err)
		}
	}
	return listers, nil
}
