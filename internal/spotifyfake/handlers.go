package spotifyfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Limits of the real API.
const (
	maxArtistIDs        = 50
	maxAlbumIDs         = 20
	maxTrackIDs         = 50
	maxAudioFeatureIDs  = 100
	maxPageExtended     = 50
	maxPageDevelopment  = 10
	maxSearchOffset     = 1000
	albumTracksInAlbum  = 50
	defaultPageExtended = 20
	defaultPageDev      = 5
)

type routed struct {
	endpoint string
	id       string
}

// route maps a request path to its endpoint name and path ID.
func route(path string) routed {
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		return routed{endpoint: "unknown"}
	}
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	at := func(i int) string {
		if i < len(seg) {
			return seg[i]
		}
		return ""
	}
	switch {
	case len(seg) == 1 && seg[0] == "search":
		return routed{endpoint: "search"}
	case seg[0] == "artists" && len(seg) == 1:
		return routed{endpoint: "artists"}
	case seg[0] == "artists" && len(seg) == 2:
		return routed{endpoint: "artist", id: seg[1]}
	case seg[0] == "artists" && len(seg) == 3:
		switch at(2) {
		case "top-tracks":
			return routed{endpoint: "top_tracks", id: seg[1]}
		case "albums":
			return routed{endpoint: "artist_albums", id: seg[1]}
		case "related-artists":
			return routed{endpoint: "related_artists", id: seg[1]}
		}
	case seg[0] == "albums" && len(seg) == 1:
		return routed{endpoint: "albums"}
	case seg[0] == "albums" && len(seg) == 2:
		return routed{endpoint: "album", id: seg[1]}
	case seg[0] == "albums" && len(seg) == 3 && seg[2] == "tracks":
		return routed{endpoint: "album_tracks", id: seg[1]}
	case seg[0] == "tracks" && len(seg) == 1:
		return routed{endpoint: "tracks"}
	case seg[0] == "tracks" && len(seg) == 2:
		return routed{endpoint: "track", id: seg[1]}
	case seg[0] == "audio-features" && len(seg) == 1:
		return routed{endpoint: "audio_features"}
	case seg[0] == "audio-features" && len(seg) == 2:
		return routed{endpoint: "audio_features_one", id: seg[1]}
	}
	return routed{endpoint: "unknown"}
}

// removedInDevelopment are the endpoints development-mode apps lost.
var removedInDevelopment = map[string]bool{
	"artists": true, "albums": true, "tracks": true, "top_tracks": true,
	"related_artists": true, "audio_features": true, "audio_features_one": true,
}

type handler struct {
	s      *Server
	r      *http.Request
	rt     routed
	render render
}

func errorResponse(status int, msg string) response {
	return jsonResponse(status, errorObject{Error: errorBody{Status: status, Message: msg}})
}

func ok(v any) response { return jsonResponse(http.StatusOK, v) }

// internalError is the body of a response the fake failed to encode.
var internalError = []byte(`{"error":{"status":500,"message":"Internal server error"}}`)

func jsonResponse(status int, v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return response{status: http.StatusInternalServerError, body: internalError}
	}
	return response{status: status, body: b}
}

var (
	errInvalidID = errorResponse(http.StatusBadRequest, "invalid id")
	errNotFound  = errorResponse(http.StatusNotFound, "non existing id")
	errForbidden = errorResponse(http.StatusForbidden, "Forbidden")
)

func (h handler) dev() bool { return h.render.development }

func (h handler) serve() response {
	if h.dev() && removedInDevelopment[h.rt.endpoint] {
		return errForbidden
	}
	switch h.rt.endpoint {
	case "search":
		return h.search()
	case "artist":
		return h.artist()
	case "artists":
		return h.artists()
	case "top_tracks":
		return h.topTracks()
	case "related_artists":
		return h.related()
	case "artist_albums":
		return h.artistAlbums()
	case "album":
		return h.album()
	case "albums":
		return h.albums()
	case "album_tracks":
		return h.albumTracks()
	case "track":
		return h.track()
	case "tracks":
		return h.tracks()
	case "audio_features":
		return h.audioFeaturesBatch()
	case "audio_features_one":
		return h.audioFeaturesOne()
	}
	return errorResponse(http.StatusNotFound, "Service not found")
}

func (h handler) query(name string) string { return h.r.URL.Query().Get(name) }

// pageLimit parses limit and offset. Development mode caps pages at 10
// where Spotify does (search, artist albums); capped says whether this
// endpoint is one of those.
func (h handler) pageLimit(capped bool, maxOffset int) (limit, offset int, bad *response) {
	def, most := defaultPageExtended, maxPageExtended
	if capped && h.dev() {
		def, most = defaultPageDev, maxPageDevelopment
	}
	limit, offset = def, 0
	if v := h.query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > most {
			r := errorResponse(http.StatusBadRequest, "Invalid limit")
			return 0, 0, &r
		}
		limit = n
	}
	if v := h.query("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || (maxOffset > 0 && n > maxOffset) {
			r := errorResponse(http.StatusBadRequest, "Invalid offset")
			return 0, 0, &r
		}
		offset = n
	}
	return limit, offset, nil
}

// market validates an optional market parameter.
func (h handler) market(required bool) (string, *response) {
	m := h.query("market")
	if m == "" {
		if required {
			r := errorResponse(http.StatusBadRequest, "Missing market parameter")
			return "", &r
		}
		return "", nil
	}
	if !validMarket(m) {
		r := errorResponse(http.StatusBadRequest, "Invalid market code")
		return "", &r
	}
	return m, nil
}

// ids parses the ids parameter of a batch endpoint.
func (h handler) ids(most int) ([]string, *response) {
	v := h.query("ids")
	if v == "" {
		r := errorResponse(http.StatusBadRequest, "Missing required parameter: ids")
		return nil, &r
	}
	ids := strings.Split(v, ",")
	if len(ids) > most {
		r := errorResponse(http.StatusBadRequest, "Too many ids requested")
		return nil, &r
	}
	for _, id := range ids {
		if !IsBase62ID(id) {
			return nil, &errInvalidID
		}
	}
	return ids, nil
}

// page builds a paging object. query is the request's parameters other
// than offset and limit, already encoded, e.g. "include_groups=album".
func (h handler) page(path, query string, items any, offset, limit, total int) pagingObject {
	link := func(off int) *string {
		u := fmt.Sprintf("%s%s?offset=%d&limit=%d", h.render.base, path, off, limit)
		if query != "" {
			u += "&" + query
		}
		return &u
	}
	p := pagingObject{Href: *link(offset), Items: items, Limit: limit, Offset: offset, Total: total}
	if offset+limit < total {
		p.Next = link(offset + limit)
	}
	if offset > 0 {
		p.Previous = link(max(0, offset-limit))
	}
	return p
}

func window(total, offset, limit int) (lo, hi int) {
	lo = min(offset, total)
	return lo, min(lo+limit, total)
}

func (h handler) artistByID(id string) (*Artist, *response) {
	if !IsBase62ID(id) {
		return nil, &errInvalidID
	}
	a, found := h.s.catalog.ArtistAsOf(id, h.s.opts.AsOf)
	if !found {
		return nil, &errNotFound
	}
	return a, nil
}

// albumByID finds an album, hiding those released after the server's AsOf.
func (h handler) albumByID(id string) (*Album, bool) {
	a, found := h.s.catalog.Album(id)
	if !found || (!h.s.opts.AsOf.IsZero() && a.Released.After(h.s.opts.AsOf)) {
		return nil, false
	}
	return a, true
}

func (h handler) trackByID(id string) (*Track, *Album, bool) {
	t, found := h.s.catalog.Track(id)
	if !found {
		return nil, nil, false
	}
	al, found := h.albumByID(t.AlbumID)
	if !found {
		return nil, nil, false
	}
	return t, al, true
}

func (h handler) search() response {
	q := h.query("q")
	if strings.TrimSpace(q) == "" {
		return errorResponse(http.StatusBadRequest, "No search query")
	}
	types := h.query("type")
	if types == "" {
		return errorResponse(http.StatusBadRequest, "Missing parameter type")
	}
	limit, offset, bad := h.pageLimit(true, maxSearchOffset)
	if bad != nil {
		return *bad
	}
	query := "query=" + url.QueryEscape(q) + "&type=" + url.QueryEscape(types)
	out := map[string]pagingObject{}
	for _, t := range strings.Split(types, ",") {
		switch t {
		case "artist":
			hits := h.s.catalog.search(q)
			lo, hi := window(len(hits), offset, limit)
			items := make([]artistObject, 0, hi-lo)
			for _, i := range hits[lo:hi] {
				items = append(items, h.render.artist(h.s.catalog.artist(i, h.s.opts.AsOf), true))
			}
			out["artists"] = h.page("/search", query, items, offset, limit, len(hits))
		case "album", "track", "playlist", "show", "episode", "audiobook":
			// The catalog is searchable by artist only; other types find
			// nothing, in the same shape.
			out[t+"s"] = h.page("/search", query, []any{}, offset, limit, 0)
		default:
			return errorResponse(http.StatusBadRequest, "Bad search type field "+t)
		}
	}
	return ok(out)
}

func (h handler) artist() response {
	a, bad := h.artistByID(h.rt.id)
	if bad != nil {
		return *bad
	}
	return ok(h.render.artist(a, false))
}

func (h handler) artists() response {
	ids, bad := h.ids(maxArtistIDs)
	if bad != nil {
		return *bad
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		if a, found := h.s.catalog.ArtistAsOf(id, h.s.opts.AsOf); found {
			out[i] = h.render.artist(a, false)
		}
	}
	return ok(map[string]any{"artists": out})
}

func (h handler) topTracks() response {
	market, bad := h.market(true)
	if bad != nil {
		return *bad
	}
	a, bad := h.artistByID(h.rt.id)
	if bad != nil {
		return *bad
	}
	albums := make(map[string]*Album, len(a.Albums))
	for i := range a.Albums {
		albums[a.Albums[i].ID] = &a.Albums[i]
	}
	top := topTracks(a, market)
	out := make([]trackObject, len(top))
	for i := range top {
		out[i] = h.render.track(&top[i], albums[top[i].AlbumID], market)
	}
	return ok(map[string]any{"tracks": out})
}

func (h handler) related() response {
	if _, bad := h.artistByID(h.rt.id); bad != nil {
		return *bad
	}
	refs, _ := h.s.catalog.Related(h.rt.id)
	out := make([]artistObject, len(refs))
	for i, ref := range refs {
		a, _ := h.s.catalog.ArtistAsOf(ref.ID, h.s.opts.AsOf)
		out[i] = h.render.artist(a, false)
	}
	return ok(map[string]any{"artists": out})
}

func (h handler) artistAlbums() response {
	limit, offset, bad := h.pageLimit(true, 0)
	if bad != nil {
		return *bad
	}
	market, bad := h.market(false)
	if bad != nil {
		return *bad
	}
	groups := map[string]bool{}
	include := h.query("include_groups")
	if include != "" {
		for _, g := range strings.Split(include, ",") {
			valid := false
			for _, known := range albumGroups {
				valid = valid || g == known
			}
			if !valid {
				return errorResponse(http.StatusBadRequest, "Invalid include_groups value "+g)
			}
			groups[g] = true
		}
	}
	a, bad := h.artistByID(h.rt.id)
	if bad != nil {
		return *bad
	}
	var listed []*Album
	for i := range a.Albums {
		if len(groups) == 0 || groups[a.Albums[i].Type] {
			listed = append(listed, &a.Albums[i])
		}
	}
	lo, hi := window(len(listed), offset, limit)
	items := make([]simpleAlbumObject, 0, hi-lo)
	for _, al := range listed[lo:hi] {
		items = append(items, h.render.simpleAlbum(al, true))
	}
	var q []string
	if include != "" {
		q = append(q, "include_groups="+include)
	}
	if market != "" {
		q = append(q, "market="+market)
	}
	return ok(h.page("/artists/"+a.ID+"/albums", strings.Join(q, "&"), items, offset, limit, len(listed)))
}

func (h handler) albumTracksPage(a *Album, offset, limit int) pagingObject {
	lo, hi := window(len(a.Tracks), offset, limit)
	items := make([]simpleTrackObject, 0, hi-lo)
	for i := lo; i < hi; i++ {
		items = append(items, h.render.simpleTrack(&a.Tracks[i]))
	}
	return h.page("/albums/"+a.ID+"/tracks", "", items, offset, limit, len(a.Tracks))
}

func (h handler) fullAlbum(a *Album) albumObject {
	return h.render.album(a, h.albumTracksPage(a, 0, albumTracksInAlbum))
}

func (h handler) album() response {
	if _, bad := h.market(false); bad != nil {
		return *bad
	}
	if !IsBase62ID(h.rt.id) {
		return errInvalidID
	}
	a, found := h.albumByID(h.rt.id)
	if !found {
		return errNotFound
	}
	return ok(h.fullAlbum(a))
}

func (h handler) albums() response {
	if _, bad := h.market(false); bad != nil {
		return *bad
	}
	ids, bad := h.ids(maxAlbumIDs)
	if bad != nil {
		return *bad
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		if a, found := h.albumByID(id); found {
			out[i] = h.fullAlbum(a)
		}
	}
	return ok(map[string]any{"albums": out})
}

func (h handler) albumTracks() response {
	limit, offset, bad := h.pageLimit(false, 0)
	if bad != nil {
		return *bad
	}
	if _, bad := h.market(false); bad != nil {
		return *bad
	}
	if !IsBase62ID(h.rt.id) {
		return errInvalidID
	}
	a, found := h.albumByID(h.rt.id)
	if !found {
		return errNotFound
	}
	return ok(h.albumTracksPage(a, offset, limit))
}

func (h handler) track() response {
	market, bad := h.market(false)
	if bad != nil {
		return *bad
	}
	if !IsBase62ID(h.rt.id) {
		return errInvalidID
	}
	t, al, found := h.trackByID(h.rt.id)
	if !found {
		return errNotFound
	}
	return ok(h.render.track(t, al, market))
}

func (h handler) tracks() response {
	market, bad := h.market(false)
	if bad != nil {
		return *bad
	}
	ids, bad := h.ids(maxTrackIDs)
	if bad != nil {
		return *bad
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		if t, al, found := h.trackByID(id); found {
			out[i] = h.render.track(t, al, market)
		}
	}
	return ok(map[string]any{"tracks": out})
}

func (h handler) audioFeaturesBatch() response {
	ids, bad := h.ids(maxAudioFeatureIDs)
	if bad != nil {
		return *bad
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		if _, _, found := h.trackByID(id); found {
			f, _ := h.s.catalog.AudioFeatures(id)
			out[i] = h.render.audioFeatures(f)
		}
	}
	return ok(map[string]any{"audio_features": out})
}

func (h handler) audioFeaturesOne() response {
	if !IsBase62ID(h.rt.id) {
		return errInvalidID
	}
	if _, _, found := h.trackByID(h.rt.id); !found {
		return errNotFound
	}
	f, _ := h.s.catalog.AudioFeatures(h.rt.id)
	return ok(h.render.audioFeatures(f))
}
