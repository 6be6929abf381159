package serving

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// Key layout of the single table (DESIGN.md, "Serving store").
const (
	artistPrefix  = "ARTIST#"
	skMeta        = "META"
	snapPrefix    = "SNAP#"
	listTop       = "TOP"
	listReleases  = "RELEASE"
	listSimilar   = "SIMILAR"
	maxListLength = 9999 // ranks are zero-padded to 4 digits
)

// ArtistSnapshot is what the serving store knows of an artist on one date.
type ArtistSnapshot struct {
	ID     string
	Name   string
	Genres []string
	// Popularity and Followers are nil when the API mode does not return
	// them (development mode).
	Popularity *int
	Followers  *int64
	ImageURL   string
	// UpdatedAt is when the data was fetched from Spotify; a zero time is
	// not stored.
	UpdatedAt time.Time
	// DT is the logical date of the snapshot. Reads set it; PutArtists
	// takes it from its dt argument.
	DT string
}

// TopTrack is one entry of an artist's top tracks; its rank is its
// position in the list.
type TopTrack struct {
	ID         string
	Name       string
	Album      string
	Popularity *int // nil in development mode
	DurationMS int
}

// Release is one of an artist's latest releases (development mode, where
// top tracks are not available).
type Release struct {
	AlbumID     string
	Name        string
	Type        string // album, single, compilation
	ReleaseDate string // as Spotify gives it: YYYY, YYYY-MM or YYYY-MM-DD
}

// Similar is an artist similar to another, with a score in [0, 1].
type Similar struct {
	ArtistID string
	Name     string
	Score    float64
}

// ArtistView is everything the serving store answers about one artist.
type ArtistView struct {
	ArtistSnapshot
	TopTracks []TopTrack
	Releases  []Release
	Similar   []Similar
	// TopTracksDT, ReleasesDT and SimilarDT are the dates of the lists;
	// empty when the list was never written.
	TopTracksDT string
	ReleasesDT  string
	SimilarDT   string
}

func artistPK(id string) string { return artistPrefix + id }

func rankSK(list string, rank int) string { return fmt.Sprintf("%s#%04d", list, rank) }

// PutArtists stores the artists' snapshots of date dt. The latest snapshot
// (META) is replaced only when dt is not older than the stored one, so a
// backfill never overwrites a newer run; the history item SNAP#<dt> is
// written in every case. Re-writing the same date is allowed.
func (s *Store) PutArtists(ctx context.Context, dt string, artists []ArtistSnapshot) error {
	if err := validateDT(dt); err != nil {
		return err
	}
	metas := make([]Item, 0, len(artists))
	snaps := make([]Item, 0, len(artists))
	for _, a := range artists {
		if a.ID == "" {
			return fmt.Errorf("put artists of %s: artist %q has an empty ID", dt, a.Name)
		}
		at := attrs{}.
			str("name", a.Name).
			strs("genres", a.Genres).
			optInt("popularity", a.Popularity).
			optInt64("followers", a.Followers).
			str("image_url", a.ImageURL)
		if !a.UpdatedAt.IsZero() {
			at.str("updated_at", a.UpdatedAt.UTC().Format(time.RFC3339Nano))
		}
		metas = append(metas, Item{PK: artistPK(a.ID), SK: skMeta, DT: dt, Attrs: at})
		snaps = append(snaps, Item{PK: artistPK(a.ID), SK: snapPrefix + dt, DT: dt, Attrs: at})
	}
	for _, it := range metas {
		if err := validateItem(it); err != nil {
			return fmt.Errorf("put artists of %s: %w", dt, err)
		}
	}
	if err := s.put(ctx, snaps); err != nil {
		return fmt.Errorf("put artist history of %s: %w", dt, err)
	}
	if _, err := s.putIfNotOlder(ctx, metas); err != nil {
		return fmt.Errorf("put artists of %s: %w", dt, err)
	}
	return nil
}

// PutTopTracks replaces the artist's top tracks with tracks (rank 1 first)
// unless a newer date's list is stored. Ranks beyond the new list are
// removed.
func (s *Store) PutTopTracks(ctx context.Context, dt, artistID string, tracks []TopTrack) error {
	return s.PutTopTracksBatch(ctx, dt, map[string][]TopTrack{artistID: tracks})
}

// PutTopTracksBatch is PutTopTracks for many artists at once (artist ID to
// its tracks): the same items in far fewer transactions and round trips.
func (s *Store) PutTopTracksBatch(ctx context.Context, dt string, byArtist map[string][]TopTrack) error {
	return s.putLists(ctx, listTop, dt, toEntries(byArtist, func(t TopTrack) attrs {
		return attrs{}.
			str("track_id", t.ID).
			str("name", t.Name).
			str("album", t.Album).
			optInt("popularity", t.Popularity).
			num("duration_ms", int64(t.DurationMS))
	}))
}

// PutReleases replaces the artist's latest releases, with the same rules
// as PutTopTracks.
func (s *Store) PutReleases(ctx context.Context, dt, artistID string, releases []Release) error {
	return s.PutReleasesBatch(ctx, dt, map[string][]Release{artistID: releases})
}

// PutReleasesBatch is PutReleases for many artists at once.
func (s *Store) PutReleasesBatch(ctx context.Context, dt string, byArtist map[string][]Release) error {
	return s.putLists(ctx, listReleases, dt, toEntries(byArtist, func(r Release) attrs {
		return attrs{}.
			str("album_id", r.AlbumID).
			str("name", r.Name).
			str("album_type", r.Type).
			str("release_date", r.ReleaseDate)
	}))
}

// PutSimilar replaces the artist's similar artists (most similar first),
// with the same rules as PutTopTracks.
func (s *Store) PutSimilar(ctx context.Context, dt, artistID string, similar []Similar) error {
	return s.PutSimilarBatch(ctx, dt, map[string][]Similar{artistID: similar})
}

// PutSimilarBatch is PutSimilar for many artists at once.
func (s *Store) PutSimilarBatch(ctx context.Context, dt string, byArtist map[string][]Similar) error {
	return s.putLists(ctx, listSimilar, dt, toEntries(byArtist, func(sim Similar) attrs {
		return attrs{}.
			str("artist_id", sim.ArtistID).
			str("name", sim.Name).
			float("score", sim.Score)
	}))
}

func toEntries[T any](byArtist map[string][]T, entry func(T) attrs) map[string][]attrs {
	out := make(map[string][]attrs, len(byArtist))
	for id, list := range byArtist {
		entries := make([]attrs, len(list))
		for i, v := range list {
			entries[i] = entry(v)
		}
		out[id] = entries
	}
	return out
}

// putLists writes a ranked list per artist: a header item (SK = list,
// holding the dt and the length) and one item per rank (SK = list#NNNN).
//
// The header is written first, conditionally, and gates the artist's whole
// list: when a newer list is stored nothing else of it is touched, so an
// older, longer list cannot fill ranks the newer one removed. Each rank is
// conditional as well, and readers keep only the ranks of the header's
// date, so two writers racing on one artist still leave a list of a single
// date. Every step covers all the artists at once: the headers, then the
// ranks, then the removal of stale ranks.
func (s *Store) putLists(ctx context.Context, list, dt string, byArtist map[string][]attrs) error {
	if err := validateDT(dt); err != nil {
		return err
	}
	ids := slices.Sorted(maps.Keys(byArtist))
	headers := make([]Item, len(ids))
	ranks := make([][]Item, len(ids))
	for i, id := range ids {
		if id == "" {
			return fmt.Errorf("put %s list of %s: empty artist ID", list, dt)
		}
		entries := byArtist[id]
		if len(entries) > maxListLength {
			return fmt.Errorf("put %s list of artist %s: %d entries, at most %d", list, id, len(entries), maxListLength)
		}
		pk := artistPK(id)
		headers[i] = Item{PK: pk, SK: list, DT: dt, Attrs: attrs{}.num("count", int64(len(entries)))}
		ranks[i] = make([]Item, len(entries))
		for r, e := range entries {
			ranks[i][r] = Item{PK: pk, SK: rankSK(list, r+1), DT: dt, Attrs: e}
			if err := validateItem(ranks[i][r]); err != nil {
				return fmt.Errorf("put %s list of artist %s, %s: %w", list, id, dt, err)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	what := fmt.Sprintf("%s lists of %d artists (%s…%s), %s", list, len(ids), ids[0], ids[len(ids)-1], dt)
	if len(ids) == 1 {
		what = fmt.Sprintf("%s list of artist %s, %s", list, ids[0], dt)
	}
	written, err := s.putIfNotOlder(ctx, headers)
	if err != nil {
		return fmt.Errorf("put headers of %s: %w", what, err)
	}
	var items []Item
	var current []int // of ids whose header this date holds
	for i := range ids {
		if !written[i] {
			s.stats.stale.Add(int64(len(ranks[i])))
			continue
		}
		items = append(items, ranks[i]...)
		current = append(current, i)
	}
	if _, err := s.putIfNotOlder(ctx, items); err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	var stale []key
	for _, i := range current {
		stored, err := s.t.queryKeys(ctx, headers[i].PK, list+"#")
		if err != nil {
			return fmt.Errorf("read %s list of artist %s: %w", list, ids[i], err)
		}
		last := rankSK(list, len(ranks[i]))
		for _, k := range stored {
			// Rank keys are zero-padded, so they sort as their ranks do.
			if k.SK > last {
				stale = append(stale, k)
			}
		}
	}
	if err := s.deleteIfNotNewer(ctx, stale, dt); err != nil {
		return fmt.Errorf("remove stale ranks of %s: %w", what, err)
	}
	return nil
}

// Artist returns what the store holds of the artist; found is false when
// no snapshot was ever stored. Answers are cached until the store changes
// (see viewCache).
func (s *Store) Artist(ctx context.Context, id string) (ArtistView, bool, error) {
	if id == "" {
		return ArtistView{}, false, fmt.Errorf("read artist: empty ID")
	}
	return s.views.get(ctx, "id:"+id, func(ctx context.Context) (ArtistView, bool, error) {
		return s.readArtist(ctx, id)
	})
}

// readArtist is Artist read from the table: the snapshot (META) and the
// three lists. Against DynamoDB the four reads go at once, so an answer
// costs one round trip rather than four; against SQLite, whose one
// connection would serialise them anyway, the snapshot is read first and
// a miss costs one query.
func (s *Store) readArtist(ctx context.Context, id string) (ArtistView, bool, error) {
	pk := artistPK(id)
	var (
		meta         Item
		ok           bool
		top, similar []map[string]any
		topDT, simDT string
		releases     []Release
		releasesDT   string
		_, remote    = s.t.(*dynamoTable)
	)
	readMeta := func(ctx context.Context) (err error) {
		if meta, ok, err = s.t.get(ctx, key{pk, skMeta}); err != nil {
			return fmt.Errorf("read artist %s: %w", id, err)
		}
		return nil
	}
	readLists := []func(ctx context.Context) error{
		func(ctx context.Context) (err error) { top, topDT, err = s.readList(ctx, pk, listTop); return err },
		func(ctx context.Context) (err error) { releases, releasesDT, err = s.releases(ctx, pk); return err },
		func(ctx context.Context) (err error) {
			similar, simDT, err = s.readList(ctx, pk, listSimilar)
			return err
		},
	}
	if remote {
		if err := runAll(ctx, append(readLists, readMeta), true); err != nil {
			return ArtistView{}, false, err
		}
	} else {
		if err := readMeta(ctx); err != nil || !ok {
			return ArtistView{}, false, err
		}
		if err := runAll(ctx, readLists, false); err != nil {
			return ArtistView{}, false, err
		}
	}
	if !ok {
		return ArtistView{}, false, nil
	}
	v := ArtistView{ArtistSnapshot: snapshotFromItem(id, meta), Releases: releases, ReleasesDT: releasesDT}
	for _, a := range top {
		v.TopTracks = append(v.TopTracks, TopTrack{
			ID:         attrString(a, "track_id"),
			Name:       attrString(a, "name"),
			Album:      attrString(a, "album"),
			Popularity: optInt(a, "popularity"),
			DurationMS: int(attrIntOrZero(a, "duration_ms")),
		})
	}
	for _, a := range similar {
		v.Similar = append(v.Similar, Similar{
			ArtistID: attrString(a, "artist_id"),
			Name:     attrString(a, "name"),
			Score:    attrFloat(a, "score"),
		})
	}
	v.TopTracksDT, v.SimilarDT = topDT, simDT
	return v, true, nil
}

// runAll runs reads, at once when concurrent, else one after the other,
// and returns the first error.
func runAll(ctx context.Context, reads []func(ctx context.Context) error, concurrent bool) error {
	if !concurrent {
		for _, read := range reads {
			if err := read(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, read := range reads {
		g.Go(func() error { return read(ctx) })
	}
	return g.Wait()
}

// readList returns the attributes of a ranked list in rank order and its
// date: the ranks written with the header's date, up to its length.
// Releases returns the artist's stored latest releases, none when no list
// is stored: Artist's Releases, read alone.
func (s *Store) Releases(ctx context.Context, id string) ([]Release, error) {
	if id == "" {
		return nil, fmt.Errorf("read releases: empty artist ID")
	}
	releases, _, err := s.releases(ctx, artistPK(id))
	return releases, err
}

func (s *Store) releases(ctx context.Context, pk string) ([]Release, string, error) {
	list, dt, err := s.readList(ctx, pk, listReleases)
	if err != nil {
		return nil, "", err
	}
	var out []Release
	for _, a := range list {
		out = append(out, Release{
			AlbumID:     attrString(a, "album_id"),
			Name:        attrString(a, "name"),
			Type:        attrString(a, "album_type"),
			ReleaseDate: attrString(a, "release_date"),
		})
	}
	return out, dt, nil
}

func (s *Store) readList(ctx context.Context, pk, list string) ([]map[string]any, string, error) {
	items, err := s.t.query(ctx, pk, list)
	if err != nil {
		return nil, "", fmt.Errorf("read %s list of %s: %w", list, pk, err)
	}
	bySK := make(map[string]Item, len(items))
	for _, it := range items {
		bySK[it.SK] = it
	}
	header, ok := bySK[list]
	if !ok {
		return nil, "", nil
	}
	count, _ := attrInt(header.Attrs, "count")
	var out []map[string]any
	for rank := 1; rank <= int(count); rank++ {
		if it, ok := bySK[rankSK(list, rank)]; ok && it.DT == header.DT {
			out = append(out, it.Attrs)
		}
	}
	return out, header.DT, nil
}

// History returns the artist's dated snapshots, oldest first.
func (s *Store) History(ctx context.Context, id string) ([]ArtistSnapshot, error) {
	if id == "" {
		return nil, fmt.Errorf("read artist history: empty ID")
	}
	items, err := s.t.query(ctx, artistPK(id), snapPrefix)
	if err != nil {
		return nil, fmt.Errorf("read history of artist %s: %w", id, err)
	}
	out := make([]ArtistSnapshot, len(items))
	for i, it := range items {
		out[i] = snapshotFromItem(id, it)
	}
	return out, nil
}

// ArtistByName returns the artist a name resolved to, through the name
// cache; found is false when the name is not cached or did not resolve to
// one artist.
func (s *Store) ArtistByName(ctx context.Context, name string) (ArtistView, bool, error) {
	return s.views.get(ctx, "name:"+NormalizeName(name), func(ctx context.Context) (ArtistView, bool, error) {
		id, status, found, err := s.LookupName(ctx, name)
		if err != nil || !found || id == "" || (status != NameExact && status != NameBest) {
			return ArtistView{}, false, err
		}
		return s.readArtist(ctx, id)
	})
}

func snapshotFromItem(id string, it Item) ArtistSnapshot {
	a := ArtistSnapshot{
		ID:         id,
		Name:       attrString(it.Attrs, "name"),
		Genres:     attrStrings(it.Attrs, "genres"),
		Popularity: optInt(it.Attrs, "popularity"),
		ImageURL:   attrString(it.Attrs, "image_url"),
		DT:         it.DT,
	}
	if f, ok := attrInt(it.Attrs, "followers"); ok {
		a.Followers = &f
	}
	if t, err := time.Parse(time.RFC3339Nano, attrString(it.Attrs, "updated_at")); err == nil {
		a.UpdatedAt = t
	}
	return a
}

func optInt(a map[string]any, name string) *int {
	v, ok := attrInt(a, name)
	if !ok {
		return nil
	}
	i := int(v)
	return &i
}

func attrIntOrZero(a map[string]any, name string) int64 {
	v, _ := attrInt(a, name)
	return v
}

// validateDT checks that dt is a YYYY-MM-DD date: newer-wins compares
// dates as strings, which is only right in that form.
func validateDT(dt string) error {
	t, err := time.Parse(time.DateOnly, dt)
	if err != nil || t.Format(time.DateOnly) != dt {
		return fmt.Errorf("date %q: want YYYY-MM-DD", dt)
	}
	return nil
}

// put, putIfNotOlder and deleteIfNotNewer wrap the table with the
// de-duplication it requires and the Stats counters.

func (s *Store) put(ctx context.Context, items []Item) error {
	items = lastPerKey(items)
	for _, it := range items {
		if err := validateItem(it); err != nil {
			return err
		}
	}
	if len(items) == 0 {
		return nil
	}
	if err := s.t.put(ctx, items); err != nil {
		return err
	}
	s.stats.written.Add(int64(len(items)))
	return nil
}

func (s *Store) putIfNotOlder(ctx context.Context, items []Item) ([]bool, error) {
	items = lastPerKey(items)
	for _, it := range items {
		if err := validateItem(it); err != nil {
			return nil, err
		}
		if it.DT == "" {
			return nil, fmt.Errorf("item (%q, %q): a conditional write needs a date", it.PK, it.SK)
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	written, err := s.t.putIfNotOlder(ctx, items)
	if err != nil {
		return nil, err
	}
	for _, w := range written {
		if w {
			s.stats.written.Add(1)
		} else {
			s.stats.stale.Add(1)
		}
	}
	return written, nil
}

func (s *Store) deleteIfNotNewer(ctx context.Context, keys []key, dt string) error {
	keys = uniqueKeys(keys)
	if len(keys) == 0 {
		return nil
	}
	n, err := s.t.deleteIfNotNewer(ctx, keys, dt)
	if err != nil {
		return err
	}
	s.stats.deleted.Add(int64(n))
	return nil
}

func (s *Store) delete(ctx context.Context, keys []key) error {
	keys = uniqueKeys(keys)
	if len(keys) == 0 {
		return nil
	}
	if err := s.t.delete(ctx, keys); err != nil {
		return err
	}
	s.stats.deleted.Add(int64(len(keys)))
	return nil
}

// Items returns every item whose PK starts with pkPrefix ("" for all), in
// (PK, SK) order: a dump for tests, comparisons between backends and runs,
// and operators. It scans the table.
func (s *Store) Items(ctx context.Context, pkPrefix string) ([]Item, error) {
	items, err := s.t.scan(ctx, pkPrefix)
	if err != nil {
		return nil, fmt.Errorf("scan items with PK prefix %q: %w", pkPrefix, err)
	}
	return items, nil
}
