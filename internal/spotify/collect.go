package spotify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/metronome-data/metronome/internal/parallel"
	zspotify "github.com/zmb3/spotify/v2"
)

// Raw entities: the kinds of object Raw.Data holds.
const (
	EntityArtists       = "artists"        // one full artist object
	EntityTopTracks     = "top_tracks"     // Key artist ID; the whole {"tracks":[…]} answer
	EntityAudioFeatures = "audio_features" // Key track ID; one audio-features object
	EntityArtistAlbums  = "artist_albums"  // Key artist ID; one paging object of simplified albums
	EntityAlbums        = "albums"         // Key album ID; one full album object with its first tracks
	EntityAlbumTracks   = "album_tracks"   // Key album ID; a further paging object of simplified tracks
)

// Entities lists every raw entity CollectBatch produces.
var Entities = []string{
	EntityArtists, EntityTopTracks, EntityAudioFeatures,
	EntityArtistAlbums, EntityAlbums, EntityAlbumTracks,
}

// Limits of the API the collector respects.
const (
	MaxBatchArtists   = 50  // artists per CollectBatch and per ?ids= call
	audioFeaturesIDs  = 100 // track IDs per audio-features call
	devAlbumsPage     = 10  // artist-albums page size in development mode
	albumTracksPage   = 50  // album-tracks page size
	albumIncludeGroup = zspotify.AlbumTypeAlbum | zspotify.AlbumTypeSingle | zspotify.AlbumTypeCompilation
)

// Raw is one API object exactly as Spotify returned it: the bytes, not a
// re-encoding, so absent fields (popularity in development mode) stay
// absent.
type Raw struct {
	Entity    string // one of Entities
	Endpoint  string // the endpoint that returned it, e.g. "artists" or "artist"
	Key       string // the artist, album or track ID the object is about
	FetchedAt time.Time
	Data      json.RawMessage
}

// BatchRequest asks for one batch of artists.
type BatchRequest struct {
	// Mode must be ModeExtended or ModeDevelopment (see ProbeMode).
	Mode Mode
	// ArtistIDs are at most 50 Spotify IDs; duplicates are collected once.
	ArtistIDs []string
	// Market for top tracks and releases; default Options.Market.
	Market string
	// KnownAlbum reports albums already in the lake; development mode
	// fetches details only of the others. nil: none known.
	KnownAlbum func(albumID string) bool
	// KnownAlbumTotal returns the `total` of the artist's albums listing
	// at the last complete collection. With it, development mode reads
	// one albums page per artist when nothing was released since; without
	// it every page is read (album details are still fetched only for
	// unknown albums).
	KnownAlbumTotal func(artistID string) (total int, ok bool)
	// Progress is called with the number of artists finished so far, for
	// heartbeats; calls are serialized.
	Progress func(doneArtists int)
}

// BatchResult is what CollectBatch gathered.
type BatchResult struct {
	// Records in a stable order: by artist in request order, then by
	// what was fetched for it.
	Records []Raw
	// Calls counts requests sent by endpoint, retries included.
	Calls map[string]int
	// ArtistCalls counts the requests made for one artist alone, by
	// artist and endpoint (batch calls shared by the artists are only in
	// Calls).
	ArtistCalls map[string]map[string]int
	// Missing are requested artists Spotify does not know (404 or null).
	Missing []string
	// Unavailable are endpoints and fields this app's mode does not serve
	// ("top_tracks", "audio_features", "popularity", "followers",
	// "available_markets"): recorded, not failed.
	Unavailable []string
}

// developmentUnavailable is what development mode lacks.
var developmentUnavailable = []string{"top_tracks", "audio_features", "popularity", "followers", "available_markets"}

// CollectBatch collects one batch of artists with the fewest calls the
// mode allows:
//
//   - extended: the artists by one ?ids= call, one top-tracks call per
//     artist, and the audio features of all their top tracks, de-duplicated,
//     by 100;
//   - development: one artist call each, the artist's albums by pages of
//     10, and album details only for albums KnownAlbum does not know (plus
//     album-tracks pages for albums longer than the album object carries).
//
// An endpoint the app is refused (403) is recorded in Unavailable. On an
// error the records of the artists finished before it are returned with
// it; a retry can skip their albums through KnownAlbum.
func (c *Client) CollectBatch(ctx context.Context, req BatchRequest) (BatchResult, error) {
	ids, err := checkBatch(req)
	if err != nil {
		return BatchResult{}, err
	}
	if req.Market == "" {
		req.Market = c.opts.Market
	}
	b := &batch{c: c, req: req, ids: ids, calls: &callCounter{n: map[string]int{}},
		perArtist: make([]artistResult, len(ids))}
	switch req.Mode {
	case ModeExtended:
		err = b.extended(ctx)
	case ModeDevelopment:
		err = b.development(ctx)
	}
	return b.result(), err
}

func checkBatch(req BatchRequest) ([]string, error) {
	if req.Mode != ModeExtended && req.Mode != ModeDevelopment {
		return nil, badRequest("batch", "mode %q: resolve it first (ProbeMode); want extended or development", req.Mode)
	}
	seen := make(map[string]bool, len(req.ArtistIDs))
	var ids []string
	for _, id := range req.ArtistIDs {
		if !IsID(id) {
			return nil, badRequest("batch", "artist ID %q is not a Spotify ID", id)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || len(ids) > MaxBatchArtists {
		return nil, badRequest("batch", "%d distinct artist IDs: want 1 to %d", len(ids), MaxBatchArtists)
	}
	return ids, nil
}

// batch is the state of one CollectBatch.
type batch struct {
	c     *Client
	req   BatchRequest
	ids   []string
	calls *callCounter

	mu          sync.Mutex
	perArtist   []artistResult // by index in ids
	tail        []Raw          // records not of one artist (audio features)
	missing     map[string]bool
	unavailable []string
	done        int
	claimed     map[string]bool // albums fetched by some artist of the batch
}

type artistResult struct {
	records []Raw
	calls   map[string]int
}

func (b *batch) addUnavailable(what string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.unavailable {
		if u == what {
			return
		}
	}
	b.unavailable = append(b.unavailable, what)
}

func (b *batch) isUnavailable(what string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.unavailable {
		if u == what {
			return true
		}
	}
	return false
}

func (b *batch) markMissing(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.missing == nil {
		b.missing = map[string]bool{}
	}
	b.missing[id] = true
}

func (b *batch) progress() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done++
	if b.req.Progress != nil {
		b.req.Progress(b.done)
	}
}

// call runs one API call for artist i (-1: for the batch) and counts it.
func (b *batch) call(ctx context.Context, i int, endpoint string, fn func(context.Context) error) ([]byte, error) {
	counter := b.calls
	var own *callCounter
	if i >= 0 {
		own = &callCounter{n: map[string]int{}}
		counter = own
	}
	body, err := b.c.do(ctx, endpoint, counter, fn)
	if own != nil {
		b.mu.Lock()
		r := &b.perArtist[i]
		if r.calls == nil {
			r.calls = map[string]int{}
		}
		for ep, n := range own.n {
			r.calls[ep] += n
		}
		b.mu.Unlock()
		for ep, n := range own.n {
			b.calls.add(ep, n)
		}
	}
	return body, err
}

func (b *batch) record(i int, r Raw) {
	r.FetchedAt = time.Now().UTC()
	b.mu.Lock()
	defer b.mu.Unlock()
	if i < 0 {
		b.tail = append(b.tail, r)
		return
	}
	b.perArtist[i].records = append(b.perArtist[i].records, r)
}

func (b *batch) result() BatchResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	res := BatchResult{
		Calls:       map[string]int{},
		ArtistCalls: map[string]map[string]int{},
		Unavailable: append([]string(nil), b.unavailable...),
	}
	b.calls.mu.Lock()
	for ep, n := range b.calls.n {
		res.Calls[ep] = n
	}
	b.calls.mu.Unlock()
	for i, id := range b.ids {
		res.Records = append(res.Records, b.perArtist[i].records...)
		if len(b.perArtist[i].calls) > 0 {
			res.ArtistCalls[id] = b.perArtist[i].calls
		}
		if b.missing[id] {
			res.Missing = append(res.Missing, id)
		}
	}
	res.Records = append(res.Records, b.tail...)
	return res
}

// parallel runs fn(i) for i in [0, n) with the client's concurrency and
// returns the first error, after which it starts no more work.
func (b *batch) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	return parallel.ForEach(ctx, n, b.c.opts.Concurrency, fn)
}

// splitArray returns the elements of the array under key in a batch
// answer such as {"artists":[…]}, byte for byte.
func splitArray(body []byte, key string, want int) ([]json.RawMessage, error) {
	var wrapper map[string][]json.RawMessage
	if err := json.Unmarshal(body, &wrapper); err != nil {
		return nil, fmt.Errorf("split %q of a batch answer: %w", key, err)
	}
	items, ok := wrapper[key]
	if !ok || len(items) != want {
		return nil, fmt.Errorf("batch answer has %d %q for %d IDs", len(items), key, want)
	}
	return items, nil
}

func isNull(m json.RawMessage) bool { return len(m) == 0 || string(m) == "null" }

func forbidden(err error) bool {
	e := asAPIError(err)
	return e != nil && e.Status == http.StatusForbidden
}

func notFound(err error) bool {
	e := asAPIError(err)
	return e != nil && e.Status == http.StatusNotFound
}

// extended collects artists by 50, top tracks per artist, and audio
// features by 100.
func (b *batch) extended(ctx context.Context) error {
	zids := make([]zspotify.ID, len(b.ids))
	for i, id := range b.ids {
		zids[i] = zspotify.ID(id)
	}
	var artists []*zspotify.FullArtist
	body, err := b.call(ctx, -1, EndpointArtists, func(ctx context.Context) error {
		var err error
		artists, err = b.c.api.GetArtists(ctx, zids...)
		return err
	})
	if forbidden(err) {
		return b.batchRefused(ctx, err)
	}
	if err != nil {
		return err
	}
	items, err := splitArray(body, "artists", len(b.ids))
	if err == nil && len(artists) != len(b.ids) {
		err = fmt.Errorf("%d artists decoded for %d IDs", len(artists), len(b.ids))
	}
	if err != nil {
		return &APIError{Endpoint: EndpointArtists, Status: http.StatusOK, Retryable: true, Message: err.Error()}
	}
	var found []int
	for i, id := range b.ids {
		if artists[i] == nil || isNull(items[i]) {
			b.markMissing(id)
			b.progress()
			continue
		}
		b.record(i, Raw{Entity: EntityArtists, Endpoint: EndpointArtists, Key: id, Data: items[i]})
		found = append(found, i)
	}

	top := make([][]zspotify.FullTrack, len(b.ids))
	err = b.parallel(ctx, len(found), func(ctx context.Context, k int) error {
		i := found[k]
		defer b.progress()
		if b.isUnavailable(EndpointTopTracks) {
			return nil
		}
		var got struct {
			Tracks []zspotify.FullTrack `json:"tracks"`
		}
		body, err := b.call(ctx, i, EndpointTopTracks, func(ctx context.Context) error {
			return b.c.getJSON(ctx, "artists/"+b.ids[i]+"/top-tracks", url.Values{"market": {b.req.Market}}, &got)
		})
		switch {
		case forbidden(err):
			b.addUnavailable(EndpointTopTracks)
			return nil
		case notFound(err):
			return nil
		case err != nil:
			return err
		}
		b.record(i, Raw{Entity: EntityTopTracks, Endpoint: EndpointTopTracks, Key: b.ids[i], Data: body})
		top[i] = got.Tracks
		return nil
	})
	if err != nil {
		return err
	}
	return b.audioFeatures(ctx, top)
}

// audioFeatures fetches the features of every distinct top track.
func (b *batch) audioFeatures(ctx context.Context, top [][]zspotify.FullTrack) error {
	seen := map[string]bool{}
	var tracks []string
	for _, ts := range top {
		for _, t := range ts {
			if id := string(t.ID); id != "" && !seen[id] {
				seen[id] = true
				tracks = append(tracks, id)
			}
		}
	}
	var chunks [][]string
	for len(tracks) > 0 {
		n := min(audioFeaturesIDs, len(tracks))
		chunks = append(chunks, tracks[:n])
		tracks = tracks[n:]
	}
	results := make([][]Raw, len(chunks))
	err := b.parallel(ctx, len(chunks), func(ctx context.Context, k int) error {
		if b.isUnavailable(EndpointAudioFeatures) {
			return nil
		}
		ids := make([]zspotify.ID, len(chunks[k]))
		for j, id := range chunks[k] {
			ids[j] = zspotify.ID(id)
		}
		body, err := b.call(ctx, -1, EndpointAudioFeatures, func(ctx context.Context) error {
			_, err := b.c.api.GetAudioFeatures(ctx, ids...)
			return err
		})
		if forbidden(err) {
			b.addUnavailable(EndpointAudioFeatures)
			return nil
		}
		if err != nil {
			return err
		}
		items, err := splitArray(body, "audio_features", len(ids))
		if err != nil {
			return &APIError{Endpoint: EndpointAudioFeatures, Status: http.StatusOK, Retryable: true, Message: err.Error()}
		}
		for j, item := range items {
			if !isNull(item) {
				results[k] = append(results[k], Raw{Entity: EntityAudioFeatures, Endpoint: EndpointAudioFeatures,
					Key: chunks[k][j], Data: item})
			}
		}
		return nil
	})
	// Chunks in order keep the records' order stable.
	for _, rs := range results {
		for _, r := range rs {
			b.record(-1, r)
		}
	}
	return err
}

// development collects per artist: the artist, its albums listing and the
// albums the lake does not have yet.
func (b *batch) development(ctx context.Context) error {
	for _, u := range developmentUnavailable {
		b.addUnavailable(u)
	}
	return b.parallel(ctx, len(b.ids), func(ctx context.Context, i int) error {
		err := b.developmentArtist(ctx, i)
		if err == nil {
			b.progress()
		}
		return err
	})
}

func (b *batch) developmentArtist(ctx context.Context, i int) error {
	id := b.ids[i]
	// Records of an artist are kept only once it is complete.
	var recs []Raw
	keep := func(r Raw) {
		r.FetchedAt = time.Now().UTC()
		recs = append(recs, r)
	}
	body, err := b.call(ctx, i, EndpointArtist, func(ctx context.Context) error {
		_, err := b.c.api.GetArtist(ctx, zspotify.ID(id))
		return err
	})
	if notFound(err) {
		b.markMissing(id)
		return nil
	}
	if err != nil {
		return err
	}
	keep(Raw{Entity: EntityArtists, Endpoint: EndpointArtist, Key: id, Data: body})

	var fetch []string
	prevTotal, hasPrev := 0, false
	if b.req.KnownAlbumTotal != nil {
		prevTotal, hasPrev = b.req.KnownAlbumTotal(id)
	}
	for offset := 0; ; {
		var page *zspotify.SimpleAlbumPage
		body, err := b.call(ctx, i, EndpointArtistAlbums, func(ctx context.Context) error {
			var err error
			page, err = b.c.api.GetArtistAlbums(ctx, zspotify.ID(id), []zspotify.AlbumType{albumIncludeGroup},
				zspotify.Limit(devAlbumsPage), zspotify.Offset(offset), zspotify.Market(b.req.Market))
			return err
		})
		if notFound(err) {
			// The artist vanished since its own call: no discography.
			break
		}
		if err != nil {
			return err
		}
		keep(Raw{Entity: EntityArtistAlbums, Endpoint: EndpointArtistAlbums, Key: id, Data: body})
		unknown := 0
		for _, al := range page.Albums {
			aid := string(al.ID)
			if b.req.KnownAlbum != nil && b.req.KnownAlbum(aid) {
				continue
			}
			unknown++
			if b.claim(aid) {
				fetch = append(fetch, aid)
			}
		}
		offset += len(page.Albums)
		total := int(page.Total)
		if len(page.Albums) == 0 || offset >= total {
			break
		}
		// Nothing new on the newest page and as many releases as last
		// time: the remaining pages hold only known albums.
		if unknown == 0 && hasPrev && total == prevTotal {
			break
		}
	}

	for _, aid := range fetch {
		albumRecs, err := b.album(ctx, i, aid)
		if err != nil {
			return err
		}
		for _, r := range albumRecs {
			keep(r)
		}
	}
	b.mu.Lock()
	b.perArtist[i].records = append(b.perArtist[i].records, recs...)
	b.mu.Unlock()
	return nil
}

// claim reports whether this artist is the first of the batch to fetch
// the album (collaborations list one album under several artists).
func (b *batch) claim(albumID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.claimed == nil {
		b.claimed = map[string]bool{}
	}
	if b.claimed[albumID] {
		return false
	}
	b.claimed[albumID] = true
	return true
}

// album fetches one album and the tracks its object does not carry.
func (b *batch) album(ctx context.Context, i int, albumID string) ([]Raw, error) {
	var full *zspotify.FullAlbum
	body, err := b.call(ctx, i, EndpointAlbum, func(ctx context.Context) error {
		var err error
		full, err = b.c.api.GetAlbum(ctx, zspotify.ID(albumID), zspotify.Market(b.req.Market))
		return err
	})
	if notFound(err) {
		// Listed a moment ago, gone now: nothing to keep.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := []Raw{{Entity: EntityAlbums, Endpoint: EndpointAlbum, Key: albumID, Data: body}}
	have, total := len(full.Tracks.Tracks), int(full.Tracks.Total)
	for have < total {
		var page *zspotify.SimpleTrackPage
		offset := have
		body, err := b.call(ctx, i, EndpointAlbumTracks, func(ctx context.Context) error {
			var err error
			page, err = b.c.api.GetAlbumTracks(ctx, zspotify.ID(albumID),
				zspotify.Limit(albumTracksPage), zspotify.Offset(offset), zspotify.Market(b.req.Market))
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(page.Tracks) == 0 {
			break
		}
		out = append(out, Raw{Entity: EntityAlbumTracks, Endpoint: EndpointAlbumTracks, Key: albumID, Data: body})
		have += len(page.Tracks)
	}
	return out, nil
}
