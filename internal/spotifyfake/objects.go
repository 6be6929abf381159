package spotifyfake

import "encoding/json"

// The JSON objects of the Spotify Web API, field for field. Fields that
// development mode removes (Spotify's February 2026 migration guide:
// album_group on artist-album items; label, popularity, available_markets
// on albums; popularity, available_markets, linked_from on tracks;
// followers, popularity on artists) are pointers or omitempty, so they are
// absent there, not zero or null. Genres are the exception: development
// mode serves them absent, null or as a list (see DevGenres).

type externalURLs struct {
	Spotify string `json:"spotify"`
}

type imageObject struct {
	URL    string `json:"url"`
	Height int    `json:"height"`
	Width  int    `json:"width"`
}

type followersObject struct {
	Href  *string `json:"href"`
	Total int     `json:"total"`
}

type simpleArtistObject struct {
	ExternalURLs externalURLs `json:"external_urls"`
	Href         string       `json:"href"`
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Type         string       `json:"type"`
	URI          string       `json:"uri"`
}

// genresField is an artist's genres as served: absent (omitted by
// omitzero), null, or a list.
type genresField struct {
	absent bool
	null   bool
	list   []string
}

func (g genresField) IsZero() bool { return g.absent }

func (g genresField) MarshalJSON() ([]byte, error) {
	if g.null {
		return []byte("null"), nil
	}
	if g.list == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(g.list)
}

type artistObject struct {
	ExternalURLs externalURLs     `json:"external_urls"`
	Followers    *followersObject `json:"followers,omitempty"`
	Genres       genresField      `json:"genres,omitzero"`
	Href         string           `json:"href"`
	ID           string           `json:"id"`
	Images       []imageObject    `json:"images"`
	Name         string           `json:"name"`
	Popularity   *int             `json:"popularity,omitempty"`
	Type         string           `json:"type"`
	URI          string           `json:"uri"`
}

type simpleAlbumObject struct {
	AlbumGroup           string               `json:"album_group,omitempty"`
	AlbumType            string               `json:"album_type"`
	Artists              []simpleArtistObject `json:"artists"`
	AvailableMarkets     []string             `json:"available_markets,omitempty"`
	ExternalURLs         externalURLs         `json:"external_urls"`
	Href                 string               `json:"href"`
	ID                   string               `json:"id"`
	Images               []imageObject        `json:"images"`
	Name                 string               `json:"name"`
	ReleaseDate          string               `json:"release_date"`
	ReleaseDatePrecision string               `json:"release_date_precision"`
	TotalTracks          int                  `json:"total_tracks"`
	Type                 string               `json:"type"`
	URI                  string               `json:"uri"`
}

type copyrightObject struct {
	Text string `json:"text"`
	Type string `json:"type"`
}

type albumObject struct {
	AlbumType            string               `json:"album_type"`
	Artists              []simpleArtistObject `json:"artists"`
	AvailableMarkets     []string             `json:"available_markets,omitempty"`
	Copyrights           []copyrightObject    `json:"copyrights"`
	ExternalIDs          map[string]string    `json:"external_ids"`
	ExternalURLs         externalURLs         `json:"external_urls"`
	Genres               []string             `json:"genres"`
	Href                 string               `json:"href"`
	ID                   string               `json:"id"`
	Images               []imageObject        `json:"images"`
	Label                *string              `json:"label,omitempty"`
	Name                 string               `json:"name"`
	Popularity           *int                 `json:"popularity,omitempty"`
	ReleaseDate          string               `json:"release_date"`
	ReleaseDatePrecision string               `json:"release_date_precision"`
	TotalTracks          int                  `json:"total_tracks"`
	Tracks               pagingObject         `json:"tracks"`
	Type                 string               `json:"type"`
	URI                  string               `json:"uri"`
}

type simpleTrackObject struct {
	Artists          []simpleArtistObject `json:"artists"`
	AvailableMarkets []string             `json:"available_markets,omitempty"`
	DiscNumber       int                  `json:"disc_number"`
	DurationMS       int                  `json:"duration_ms"`
	Explicit         bool                 `json:"explicit"`
	ExternalURLs     externalURLs         `json:"external_urls"`
	Href             string               `json:"href"`
	ID               string               `json:"id"`
	IsLocal          bool                 `json:"is_local"`
	Name             string               `json:"name"`
	PreviewURL       *string              `json:"preview_url"`
	TrackNumber      int                  `json:"track_number"`
	Type             string               `json:"type"`
	URI              string               `json:"uri"`
}

type trackObject struct {
	Album            simpleAlbumObject    `json:"album"`
	Artists          []simpleArtistObject `json:"artists"`
	AvailableMarkets []string             `json:"available_markets,omitempty"`
	DiscNumber       int                  `json:"disc_number"`
	DurationMS       int                  `json:"duration_ms"`
	Explicit         bool                 `json:"explicit"`
	ExternalIDs      map[string]string    `json:"external_ids"`
	ExternalURLs     externalURLs         `json:"external_urls"`
	Href             string               `json:"href"`
	ID               string               `json:"id"`
	IsLocal          bool                 `json:"is_local"`
	IsPlayable       *bool                `json:"is_playable,omitempty"`
	LinkedFrom       *linkedTrackObject   `json:"linked_from,omitempty"`
	Name             string               `json:"name"`
	Popularity       *int                 `json:"popularity,omitempty"`
	PreviewURL       *string              `json:"preview_url"`
	TrackNumber      int                  `json:"track_number"`
	Type             string               `json:"type"`
	URI              string               `json:"uri"`
}

// linkedTrackObject is the track a relinked track stands in for.
type linkedTrackObject struct {
	ExternalURLs externalURLs `json:"external_urls"`
	Href         string       `json:"href"`
	ID           string       `json:"id"`
	Type         string       `json:"type"`
	URI          string       `json:"uri"`
}

type audioFeaturesObject struct {
	Acousticness     float64 `json:"acousticness"`
	AnalysisURL      string  `json:"analysis_url"`
	Danceability     float64 `json:"danceability"`
	DurationMS       int     `json:"duration_ms"`
	Energy           float64 `json:"energy"`
	ID               string  `json:"id"`
	Instrumentalness float64 `json:"instrumentalness"`
	Key              int     `json:"key"`
	Liveness         float64 `json:"liveness"`
	Loudness         float64 `json:"loudness"`
	Mode             int     `json:"mode"`
	Speechiness      float64 `json:"speechiness"`
	Tempo            float64 `json:"tempo"`
	TimeSignature    int     `json:"time_signature"`
	TrackHref        string  `json:"track_href"`
	Type             string  `json:"type"`
	URI              string  `json:"uri"`
	Valence          float64 `json:"valence"`
}

type pagingObject struct {
	Href     string  `json:"href"`
	Items    any     `json:"items"`
	Limit    int     `json:"limit"`
	Next     *string `json:"next"`
	Offset   int     `json:"offset"`
	Previous *string `json:"previous"`
	Total    int     `json:"total"`
}

type errorObject struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason,omitempty"`
}

// render turns catalog entities into API objects for one mode and one
// server address (hrefs and paging links point back at the server itself,
// so clients can follow them).
type render struct {
	base        string // e.g. http://127.0.0.1:1234/v1
	development bool
}

func (r render) extended(v int) *int {
	if r.development {
		return nil
	}
	return &v
}

func (r render) markets() []string {
	if r.development {
		return nil
	}
	return markets
}

// text is s, or nil (absent) in development mode.
func (r render) text(s string) *string {
	if r.development {
		return nil
	}
	return &s
}

func (r render) images(imgs []Image) []imageObject {
	out := make([]imageObject, len(imgs))
	for i, im := range imgs {
		out[i] = imageObject(im)
	}
	return out
}

func (r render) simpleArtist(a ArtistRef) simpleArtistObject {
	return simpleArtistObject{
		ExternalURLs: externalURLs{Spotify: "https://open.spotify.com/artist/" + a.ID},
		Href:         r.base + "/artists/" + a.ID,
		ID:           a.ID,
		Name:         a.Name,
		Type:         "artist",
		URI:          "spotify:artist:" + a.ID,
	}
}

// artist renders a full artist; fromSearch is true for the items of a
// search result, whose genres development mode serves null.
func (r render) artist(a *Artist, fromSearch bool) artistObject {
	o := artistObject{
		ExternalURLs: externalURLs{Spotify: "https://open.spotify.com/artist/" + a.ID},
		Genres:       r.genres(a, fromSearch),
		Href:         r.base + "/artists/" + a.ID,
		ID:           a.ID,
		Images:       r.images(a.Images),
		Name:         a.Name,
		Popularity:   r.extended(a.Popularity),
		Type:         "artist",
		URI:          "spotify:artist:" + a.ID,
	}
	if !r.development {
		o.Followers = &followersObject{Total: a.Followers}
	}
	return o
}

func (r render) genres(a *Artist, fromSearch bool) genresField {
	list := append([]string{}, a.Genres...)
	switch {
	case !r.development:
		return genresField{list: list}
	case fromSearch || a.DevGenres == GenresNull:
		return genresField{null: true}
	case a.DevGenres == GenresAbsent:
		return genresField{absent: true}
	}
	return genresField{list: list}
}

// simpleAlbum renders a simplified album; withGroup is true for the items
// of an artist's albums listing, which carry album_group outside
// development mode.
func (r render) simpleAlbum(a *Album, withGroup bool) simpleAlbumObject {
	o := simpleAlbumObject{
		AlbumType:            a.Type,
		Artists:              []simpleArtistObject{r.simpleArtist(ArtistRef{ID: a.ArtistID, Name: a.ArtistName})},
		AvailableMarkets:     r.markets(),
		ExternalURLs:         externalURLs{Spotify: "https://open.spotify.com/album/" + a.ID},
		Href:                 r.base + "/albums/" + a.ID,
		ID:                   a.ID,
		Images:               r.images(a.Images),
		Name:                 a.Name,
		ReleaseDate:          a.ReleaseDate,
		ReleaseDatePrecision: a.ReleaseDatePrecision,
		TotalTracks:          len(a.Tracks),
		Type:                 "album",
		URI:                  "spotify:album:" + a.ID,
	}
	if withGroup && !r.development {
		o.AlbumGroup = a.Type
	}
	return o
}

func (r render) album(a *Album, tracks pagingObject) albumObject {
	year := a.ReleaseDate[:4]
	return albumObject{
		AlbumType:        a.Type,
		Artists:          []simpleArtistObject{r.simpleArtist(ArtistRef{ID: a.ArtistID, Name: a.ArtistName})},
		AvailableMarkets: r.markets(),
		Copyrights: []copyrightObject{
			{Text: "© " + year + " " + a.Label, Type: "C"},
			{Text: "℗ " + year + " " + a.Label, Type: "P"},
		},
		ExternalIDs:          map[string]string{"upc": a.UPC},
		ExternalURLs:         externalURLs{Spotify: "https://open.spotify.com/album/" + a.ID},
		Genres:               []string{},
		Href:                 r.base + "/albums/" + a.ID,
		ID:                   a.ID,
		Images:               r.images(a.Images),
		Label:                r.text(a.Label),
		Name:                 a.Name,
		Popularity:           r.extended(a.Popularity),
		ReleaseDate:          a.ReleaseDate,
		ReleaseDatePrecision: a.ReleaseDatePrecision,
		TotalTracks:          len(a.Tracks),
		Tracks:               tracks,
		Type:                 "album",
		URI:                  "spotify:album:" + a.ID,
	}
}

func (r render) trackArtists(t *Track) []simpleArtistObject {
	out := make([]simpleArtistObject, len(t.Artists))
	for i, a := range t.Artists {
		out[i] = r.simpleArtist(a)
	}
	return out
}

func (r render) simpleTrack(t *Track) simpleTrackObject {
	return simpleTrackObject{
		Artists:          r.trackArtists(t),
		AvailableMarkets: r.markets(),
		DiscNumber:       t.DiscNumber,
		DurationMS:       t.DurationMS,
		Explicit:         t.Explicit,
		ExternalURLs:     externalURLs{Spotify: "https://open.spotify.com/track/" + t.ID},
		Href:             r.base + "/tracks/" + t.ID,
		ID:               t.ID,
		Name:             t.Name,
		TrackNumber:      t.TrackNumber,
		Type:             "track",
		URI:              "spotify:track:" + t.ID,
	}
}

// track renders a full track. With a market, Spotify answers for that
// market: is_playable instead of available_markets.
func (r render) track(t *Track, al *Album, market string) trackObject {
	o := trackObject{
		Album:            r.simpleAlbum(al, false),
		Artists:          r.trackArtists(t),
		AvailableMarkets: r.markets(),
		DiscNumber:       t.DiscNumber,
		DurationMS:       t.DurationMS,
		Explicit:         t.Explicit,
		ExternalIDs:      map[string]string{"isrc": t.ISRC},
		ExternalURLs:     externalURLs{Spotify: "https://open.spotify.com/track/" + t.ID},
		Href:             r.base + "/tracks/" + t.ID,
		ID:               t.ID,
		Name:             t.Name,
		Popularity:       r.extended(t.Popularity),
		TrackNumber:      t.TrackNumber,
		Type:             "track",
		URI:              "spotify:track:" + t.ID,
	}
	if market != "" {
		playable := true
		o.AvailableMarkets, o.IsPlayable = nil, &playable
		o.Album.AvailableMarkets = nil
		// Relinking happens for a market; development mode dropped the
		// field.
		if t.LinkedFrom != "" && !r.development {
			o.LinkedFrom = &linkedTrackObject{
				ExternalURLs: externalURLs{Spotify: "https://open.spotify.com/track/" + t.LinkedFrom},
				Href:         r.base + "/tracks/" + t.LinkedFrom,
				ID:           t.LinkedFrom,
				Type:         "track",
				URI:          "spotify:track:" + t.LinkedFrom,
			}
		}
	}
	return o
}

func (r render) audioFeatures(f AudioFeatures) audioFeaturesObject {
	return audioFeaturesObject{
		Acousticness:     f.Acousticness,
		AnalysisURL:      r.base + "/audio-analysis/" + f.TrackID,
		Danceability:     f.Danceability,
		DurationMS:       f.DurationMS,
		Energy:           f.Energy,
		ID:               f.TrackID,
		Instrumentalness: f.Instrumentalness,
		Key:              f.Key,
		Liveness:         f.Liveness,
		Loudness:         f.Loudness,
		Mode:             f.Mode,
		Speechiness:      f.Speechiness,
		Tempo:            f.Tempo,
		TimeSignature:    f.TimeSignature,
		TrackHref:        r.base + "/tracks/" + f.TrackID,
		Type:             "audio_features",
		URI:              "spotify:track:" + f.TrackID,
		Valence:          f.Valence,
	}
}
