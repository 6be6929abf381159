package curate

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// Raw entities: the <entity> of raw/spotify/<entity>/dt=D/ and of the
// quarantine.
const (
	EntityArtists       = "artists"        // key: artist ID; data: full artist object
	EntityArtistAlbums  = "artist_albums"  // key: artist ID; data: paging object of simplified albums
	EntityAlbums        = "albums"         // data: full album object with a paging object of simplified tracks
	EntityAlbumTracks   = "album_tracks"   // key: album ID; data: further paging pages of simplified tracks
	EntityTopTracks     = "top_tracks"     // key: artist ID; data: {"tracks": [full track objects]}
	EntityAudioFeatures = "audio_features" // data: one audio features object
)

// Entities lists the raw entities in the order Run reads them.
var Entities = []string{
	EntityArtists, EntityArtistAlbums, EntityAlbums, EntityAlbumTracks, EntityTopTracks, EntityAudioFeatures,
}

// Ranks of a row's source when de-duplicating: a full object carries every
// field, a simplified one (from a listing or an album's track list) fewer,
// so the full one wins whatever the fetch times.
const (
	rankSimplified int32 = 1
	rankFull       int32 = 2
)

// staged is a clean row on its way to de-duplication, with what decides
// which duplicate wins.
type staged[T any] struct {
	Seq       int64 `parquet:"seq"`           // unique per row, increasing in read order
	Rec       int64 `parquet:"rec"`           // the raw record the row came from
	Rank      int32 `parquet:"rank"`          // rankFull or rankSimplified
	FetchedAt int64 `parquet:"fetched_at_ns"` // of the raw record
	Row       T     `parquet:"row"`
}

// albumListing says that a tracked artist's album listing named an album.
type albumListing struct {
	AlbumID  string `parquet:"album_id"`
	ArtistID string `parquet:"artist_id"`
}

// QuarantineRecord is one line of a quarantine object: a rejected raw
// record, or one rejected item of a record's list, with why.
type QuarantineRecord struct {
	Reason    string          `json:"reason"`
	Detail    string          `json:"detail"`
	Entity    string          `json:"entity"`
	Source    string          `json:"source"`         // the raw object
	Record    int             `json:"record"`         // 1-based position of the record in the object (blank lines not counted)
	Item      *int            `json:"item,omitempty"` // 0-based position of the rejected item in the record's list
	DT        string          `json:"dt,omitempty"`
	Key       string          `json:"key,omitempty"`
	FetchedAt string          `json:"fetched_at,omitempty"`
	Endpoint  string          `json:"endpoint,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // the record's data, or the rejected item
	Line      string          `json:"line,omitempty"` // a line that does not decode, as read
}

// objectOutput is everything one raw object yields.
type objectOutput struct {
	artists   []staged[tables.Artist]
	albums    []staged[tables.Album]
	tracks    []staged[tables.Track]
	topTracks []staged[tables.ArtistTopTrack]
	features  []staged[tables.AudioFeature]
	listings  []albumListing
	rejects   []QuarantineRecord
	in        int // units checked: records plus the items of their lists
}

func (o *objectOutput) rows() int {
	return len(o.artists) + len(o.albums) + len(o.tracks) + len(o.topTracks) + len(o.features) + len(o.listings)
}

// cleaner validates and normalizes the records of one raw object.
type cleaner struct {
	dt     string
	market string // of top tracks whose endpoint names none
	entity string
	source string
	obj    int64 // position of the object in the run, for Seq and Rec
	seq    int64
	rec    int
	out    objectOutput
}

func (c *cleaner) nextSeq() int64 { c.seq++; return c.obj<<32 | c.seq }
func (c *cleaner) recID() int64   { return c.obj<<32 | int64(c.rec) }

// malformed quarantines a line that is not a raw record.
func (c *cleaner) malformed(m lake.MalformedLine) error {
	c.rec++
	c.out.in++
	reason := ReasonMalformedJSON
	if errors.Is(m.Err, lake.ErrCorruptObject) {
		// The lines before the damage are kept; this stands for the rest.
		reason = ReasonCorruptObject
	}
	c.out.rejects = append(c.out.rejects, QuarantineRecord{
		Reason: reason, Detail: m.Err.Error(), Entity: c.entity,
		Source: c.source, Record: c.rec, Line: string(m.Text),
	})
	return nil
}

// record cleans one raw record.
func (c *cleaner) record(rec lake.RawRecord) error {
	c.rec++
	c.out.in++
	rej := c.envelope(rec)
	if rej == nil {
		fetched := newStamp(rec.FetchedAt)
		switch c.entity {
		case EntityArtists:
			rej = c.artist(rec, fetched)
		case EntityArtistAlbums:
			rej = c.artistAlbums(rec, fetched)
		case EntityAlbums:
			rej = c.album(rec, fetched)
		case EntityAlbumTracks:
			rej = c.albumTracks(rec, fetched)
		case EntityTopTracks:
			rej = c.topTracks(rec, fetched)
		case EntityAudioFeatures:
			rej = c.audioFeatures(rec, fetched)
		}
	}
	if rej != nil {
		c.out.rejects = append(c.out.rejects, c.quarantine(rec, rej, nil, rec.Data))
	}
	return nil
}

func (c *cleaner) quarantine(rec lake.RawRecord, rej *rejection, item *int, data json.RawMessage) QuarantineRecord {
	q := QuarantineRecord{
		Reason: rej.reason, Detail: rej.detail, Entity: c.entity, Source: c.source, Record: c.rec, Item: item,
		DT: rec.DT, Key: rec.Key, Endpoint: rec.Endpoint, Data: data,
	}
	if !rec.FetchedAt.IsZero() {
		q.FetchedAt = rec.FetchedAt.UTC().Format(time.RFC3339Nano)
	}
	return q
}

// rejectItem quarantines item i of a record's list.
func (c *cleaner) rejectItem(rec lake.RawRecord, i int, item json.RawMessage, rej *rejection) {
	c.out.rejects = append(c.out.rejects, c.quarantine(rec, rej, &i, item))
}

func (c *cleaner) envelope(rec lake.RawRecord) *rejection {
	if rec.DT != c.dt {
		return reject(ReasonWrongPartition, "record dt %q is not the run's date %s", rec.DT, c.dt)
	}
	if rec.FetchedAt.IsZero() {
		return reject(ReasonMissingField, "fetched_at is missing")
	}
	if d := bytes.TrimSpace(rec.Data); len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return reject(ReasonMissingField, "data is missing")
	}
	return nil
}

// stamp is a record's fetch time as stored and as compared.
type stamp struct {
	at time.Time // UTC, to the microsecond: what a TIMESTAMP column holds
	ns int64     // the full precision of raw, so that de-duplication sees every difference
}

// newStamp is the stamp of a raw fetched_at. The row's time is truncated
// here rather than by the writer, so that a row compares equal to what is
// read back from its file.
func newStamp(t time.Time) stamp {
	return stamp{at: t.UTC().Truncate(time.Microsecond), ns: t.UnixNano()}
}

func decode(data []byte, v any) *rejection {
	if err := json.Unmarshal(data, v); err != nil {
		return reject(ReasonMalformedJSON, "data: %v", err)
	}
	return nil
}

// Spotify API objects, as far as the curated tables need them. Pointers
// tell an absent field (NULL, or a rejection when required) from a zero.

type apiArtistRef struct {
	ID string `json:"id"`
}

type apiImage struct {
	URL   string `json:"url"`
	Width *int64 `json:"width"`
}

type apiArtist struct {
	ID         string   `json:"id"`
	Name       *string  `json:"name"`
	Genres     []string `json:"genres"`
	Popularity *int64   `json:"popularity"`
	Followers  *struct {
		Total *int64 `json:"total"`
	} `json:"followers"`
	Images       []apiImage `json:"images"`
	ExternalURLs struct {
		Spotify string `json:"spotify"`
	} `json:"external_urls"`
}

type apiAlbum struct {
	ID                   string         `json:"id"`
	Name                 *string        `json:"name"`
	AlbumType            *string        `json:"album_type"`
	ReleaseDate          *string        `json:"release_date"`
	ReleaseDatePrecision *string        `json:"release_date_precision"`
	TotalTracks          *int64         `json:"total_tracks"`
	Label                *string        `json:"label"`
	Popularity           *int64         `json:"popularity"`
	AvailableMarkets     []string       `json:"available_markets"`
	Artists              []apiArtistRef `json:"artists"`
	Tracks               *apiPage       `json:"tracks"`
}

type apiTrack struct {
	ID               string         `json:"id"`
	Name             *string        `json:"name"`
	DurationMS       *int64         `json:"duration_ms"`
	Explicit         *bool          `json:"explicit"`
	TrackNumber      *int64         `json:"track_number"`
	DiscNumber       *int64         `json:"disc_number"`
	Popularity       *int64         `json:"popularity"`
	AvailableMarkets []string       `json:"available_markets"`
	Artists          []apiArtistRef `json:"artists"`
	Album            *struct {
		ID   string  `json:"id"`
		Name *string `json:"name"`
	} `json:"album"`
}

// apiPage is a paging object; its items are decoded one by one so that a
// bad item is quarantined alone.
type apiPage struct {
	Items *[]json.RawMessage `json:"items"`
}

type apiAudioFeatures struct {
	ID               string   `json:"id"`
	Danceability     *float64 `json:"danceability"`
	Energy           *float64 `json:"energy"`
	Key              *int64   `json:"key"`
	Loudness         *float64 `json:"loudness"`
	Mode             *int64   `json:"mode"`
	Speechiness      *float64 `json:"speechiness"`
	Acousticness     *float64 `json:"acousticness"`
	Instrumentalness *float64 `json:"instrumentalness"`
	Liveness         *float64 `json:"liveness"`
	Valence          *float64 `json:"valence"`
	Tempo            *float64 `json:"tempo"`
	DurationMS       *int64   `json:"duration_ms"`
	TimeSignature    *int64   `json:"time_signature"`
}

func (c *cleaner) artist(rec lake.RawRecord, at stamp) *rejection {
	var a apiArtist
	if rej := decode(rec.Data, &a); rej != nil {
		return rej
	}
	row, rej := artistRow(a, at.at)
	if rej != nil {
		return rej
	}
	c.out.artists = append(c.out.artists, staged[tables.Artist]{
		Seq: c.nextSeq(), Rec: c.recID(), Rank: rankFull, FetchedAt: at.ns, Row: row,
	})
	return nil
}

func artistRow(a apiArtist, fetchedAt time.Time) (tables.Artist, *rejection) {
	id, rej := checkID("id", a.ID)
	if rej != nil {
		return tables.Artist{}, rej
	}
	name, rej := requiredName("name", a.Name)
	if rej != nil {
		return tables.Artist{}, rej
	}
	pop, rej := popularity(a.Popularity)
	if rej != nil {
		return tables.Artist{}, rej
	}
	var total *int64
	if a.Followers != nil {
		total = a.Followers.Total
	}
	fol, rej := followers(total)
	if rej != nil {
		return tables.Artist{}, rej
	}
	return tables.Artist{
		ArtistID:   id,
		Name:       name,
		Genres:     normGenres(a.Genres),
		Popularity: pop,
		Followers:  fol,
		ImageURL:   widestImage(a.Images),
		SpotifyURL: optionalText(&a.ExternalURLs.Spotify),
		FetchedAt:  fetchedAt,
	}, nil
}

// widestImage is the URL of the widest image (Spotify lists them widest
// first, but does not promise it).
func widestImage(images []apiImage) *string {
	var best *apiImage
	for i := range images {
		im := &images[i]
		if normText(im.URL) == "" {
			continue
		}
		if best == nil || im.Width != nil && (best.Width == nil || *im.Width > *best.Width) {
			best = im
		}
	}
	if best == nil {
		return nil
	}
	return optionalText(&best.URL)
}

func albumRow(a apiAlbum, fetchedAt time.Time) (tables.Album, *rejection) {
	id, rej := checkID("id", a.ID)
	if rej != nil {
		return tables.Album{}, rej
	}
	name, rej := requiredName("name", a.Name)
	if rej != nil {
		return tables.Album{}, rej
	}
	albumType, rej := requiredName("album_type", a.AlbumType)
	if rej != nil {
		return tables.Album{}, rej
	}
	date, precision, rej := releaseDate(a.ReleaseDate, a.ReleaseDatePrecision)
	if rej != nil {
		return tables.Album{}, rej
	}
	total, rej := nonNegative32("total_tracks", a.TotalTracks)
	if rej != nil {
		return tables.Album{}, rej
	}
	pop, rej := popularity(a.Popularity)
	if rej != nil {
		return tables.Album{}, rej
	}
	markets, rej := normMarkets(a.AvailableMarkets)
	if rej != nil {
		return tables.Album{}, rej
	}
	artist, rej := primaryArtist(a.Artists)
	if rej != nil {
		return tables.Album{}, rej
	}
	return tables.Album{
		AlbumID: id,
		// The primary artist until the clean's merge replaces it with the
		// tracked artist whose listing named the album.
		ArtistID:             artist,
		Name:                 name,
		AlbumType:            strings.ToLower(albumType),
		ReleaseDate:          date,
		ReleaseDatePrecision: precision,
		TotalTracks:          total,
		Label:                optionalText(a.Label),
		Popularity:           pop,
		AvailableMarkets:     markets,
		FetchedAt:            fetchedAt,
	}, nil
}

func primaryArtist(artists []apiArtistRef) (string, *rejection) {
	if len(artists) == 0 {
		return "", reject(ReasonMissingField, "artists is empty")
	}
	return checkID("artists[0].id", artists[0].ID)
}

// trackRow cleans a full or simplified track. artistID and albumID come
// from the context when the object does not carry them (simplified tracks
// have no album; the tracked artist is the record's).
func trackRow(t apiTrack, artistID, albumID string, albumName *string, fetchedAt time.Time) (tables.Track, *rejection) {
	id, rej := checkID("id", t.ID)
	if rej != nil {
		return tables.Track{}, rej
	}
	name, rej := requiredName("name", t.Name)
	if rej != nil {
		return tables.Track{}, rej
	}
	duration, rej := nonNegative32("duration_ms", t.DurationMS)
	if rej != nil {
		return tables.Track{}, rej
	}
	if t.Explicit == nil {
		return tables.Track{}, reject(ReasonMissingField, "explicit is missing")
	}
	number, rej := nonNegative32("track_number", t.TrackNumber)
	if rej != nil {
		return tables.Track{}, rej
	}
	disc, rej := nonNegative32("disc_number", t.DiscNumber)
	if rej != nil {
		return tables.Track{}, rej
	}
	pop, rej := popularity(t.Popularity)
	if rej != nil {
		return tables.Track{}, rej
	}
	markets, rej := normMarkets(t.AvailableMarkets)
	if rej != nil {
		return tables.Track{}, rej
	}
	if artistID == "" {
		if artistID, rej = primaryArtist(t.Artists); rej != nil {
			return tables.Track{}, rej
		}
	}
	if albumID == "" {
		if t.Album == nil {
			return tables.Track{}, reject(ReasonMissingField, "album is missing")
		}
		if albumID, rej = checkID("album.id", t.Album.ID); rej != nil {
			return tables.Track{}, rej
		}
		albumName = optionalText(t.Album.Name)
	}
	return tables.Track{
		TrackID:          id,
		Name:             name,
		ArtistID:         artistID,
		AlbumID:          albumID,
		AlbumName:        albumName,
		DurationMS:       duration,
		Explicit:         *t.Explicit,
		TrackNumber:      number,
		DiscNumber:       disc,
		Popularity:       pop,
		AvailableMarkets: markets,
		FetchedAt:        fetchedAt,
	}, nil
}

func (c *cleaner) topTracks(rec lake.RawRecord, at stamp) *rejection {
	artistID, rej := checkID("key (artist id)", rec.Key)
	if rej != nil {
		return rej
	}
	mkt, rej := c.topTracksMarket(rec.Endpoint)
	if rej != nil {
		return rej
	}
	var body struct {
		Tracks *[]json.RawMessage `json:"tracks"`
	}
	if rej := decode(rec.Data, &body); rej != nil {
		return rej
	}
	if body.Tracks == nil {
		return reject(ReasonMissingField, "tracks is missing")
	}
	for i, item := range *body.Tracks {
		c.out.in++
		var t apiTrack
		rej := decode(item, &t)
		var row tables.Track
		if rej == nil {
			row, rej = trackRow(t, artistID, "", nil, at.at)
		}
		if rej != nil {
			c.rejectItem(rec, i, item, rej)
			continue
		}
		c.out.tracks = append(c.out.tracks, staged[tables.Track]{
			Seq: c.nextSeq(), Rec: c.recID(), Rank: rankFull, FetchedAt: at.ns, Row: row,
		})
		c.out.topTracks = append(c.out.topTracks, staged[tables.ArtistTopTrack]{
			Seq: c.nextSeq(), Rec: c.recID(), Rank: rankFull, FetchedAt: at.ns,
			Row: tables.ArtistTopTrack{ArtistID: artistID, Market: mkt, Rank: int32(i + 1), TrackID: row.TrackID, FetchedAt: at.at},
		})
	}
	return nil
}

// topTracksMarket is the market of the endpoint's query, else the
// configured one.
func (c *cleaner) topTracksMarket(endpoint string) (string, *rejection) {
	m := c.market
	if u, err := url.Parse(endpoint); err == nil {
		if q := u.Query().Get("market"); q != "" {
			m = q
		}
	}
	if m == "" {
		return "", reject(ReasonMissingField, "market is neither in endpoint %q nor configured", endpoint)
	}
	return market(m)
}

func (c *cleaner) artistAlbums(rec lake.RawRecord, at stamp) *rejection {
	artistID, rej := checkID("key (artist id)", rec.Key)
	if rej != nil {
		return rej
	}
	var page apiPage
	if rej := decode(rec.Data, &page); rej != nil {
		return rej
	}
	if page.Items == nil {
		return reject(ReasonMissingField, "items is missing")
	}
	for i, item := range *page.Items {
		c.out.in++
		var a apiAlbum
		rej := decode(item, &a)
		var row tables.Album
		if rej == nil {
			row, rej = albumRow(a, at.at)
		}
		if rej != nil {
			c.rejectItem(rec, i, item, rej)
			continue
		}
		c.out.albums = append(c.out.albums, staged[tables.Album]{
			Seq: c.nextSeq(), Rec: c.recID(), Rank: rankSimplified, FetchedAt: at.ns, Row: row,
		})
		c.out.listings = append(c.out.listings, albumListing{AlbumID: row.AlbumID, ArtistID: artistID})
	}
	return nil
}

func (c *cleaner) album(rec lake.RawRecord, at stamp) *rejection {
	var a apiAlbum
	if rej := decode(rec.Data, &a); rej != nil {
		return rej
	}
	row, rej := albumRow(a, at.at)
	if rej != nil {
		return rej
	}
	c.out.albums = append(c.out.albums, staged[tables.Album]{
		Seq: c.nextSeq(), Rec: c.recID(), Rank: rankFull, FetchedAt: at.ns, Row: row,
	})
	if a.Tracks != nil && a.Tracks.Items != nil {
		c.simplifiedTracks(rec, at, *a.Tracks.Items, row.AlbumID, &row.Name)
	}
	return nil
}

func (c *cleaner) albumTracks(rec lake.RawRecord, at stamp) *rejection {
	albumID, rej := checkID("key (album id)", rec.Key)
	if rej != nil {
		return rej
	}
	var page apiPage
	if rej := decode(rec.Data, &page); rej != nil {
		return rej
	}
	if page.Items == nil {
		return reject(ReasonMissingField, "items is missing")
	}
	// The album's name comes from its albums record, in the merge.
	c.simplifiedTracks(rec, at, *page.Items, albumID, nil)
	return nil
}

// simplifiedTracks cleans the simplified tracks of one album.
func (c *cleaner) simplifiedTracks(rec lake.RawRecord, at stamp, items []json.RawMessage, albumID string, albumName *string) {
	for i, item := range items {
		c.out.in++
		var t apiTrack
		rej := decode(item, &t)
		var row tables.Track
		if rej == nil {
			row, rej = trackRow(t, "", albumID, albumName, at.at)
		}
		if rej != nil {
			c.rejectItem(rec, i, item, rej)
			continue
		}
		c.out.tracks = append(c.out.tracks, staged[tables.Track]{
			Seq: c.nextSeq(), Rec: c.recID(), Rank: rankSimplified, FetchedAt: at.ns, Row: row,
		})
	}
}

func (c *cleaner) audioFeatures(rec lake.RawRecord, at stamp) *rejection {
	var f apiAudioFeatures
	if rej := decode(rec.Data, &f); rej != nil {
		return rej
	}
	row, rej := audioFeatureRow(f)
	if rej != nil {
		return rej
	}
	row.FetchedAt = at.at
	c.out.features = append(c.out.features, staged[tables.AudioFeature]{
		Seq: c.nextSeq(), Rec: c.recID(), Rank: rankFull, FetchedAt: at.ns, Row: row,
	})
	return nil
}

func audioFeatureRow(f apiAudioFeatures) (tables.AudioFeature, *rejection) {
	id, rej := checkID("id", f.ID)
	if rej != nil {
		return tables.AudioFeature{}, rej
	}
	row := tables.AudioFeature{TrackID: id}
	// Spotify documents these as confidences or measures in 0.0–1.0.
	ratios := []struct {
		name string
		in   *float64
		out  *float64
	}{
		{"danceability", f.Danceability, &row.Danceability},
		{"energy", f.Energy, &row.Energy},
		{"speechiness", f.Speechiness, &row.Speechiness},
		{"acousticness", f.Acousticness, &row.Acousticness},
		{"instrumentalness", f.Instrumentalness, &row.Instrumentalness},
		{"liveness", f.Liveness, &row.Liveness},
		{"valence", f.Valence, &row.Valence},
	}
	for _, r := range ratios {
		if r.in == nil {
			return tables.AudioFeature{}, reject(ReasonMissingField, "%s is missing", r.name)
		}
		if *r.in < 0 || *r.in > 1 {
			return tables.AudioFeature{}, reject(ReasonValueOutOfRange, "%s %v is outside 0–1", r.name, *r.in)
		}
		*r.out = *r.in
	}
	if f.Loudness == nil {
		return tables.AudioFeature{}, reject(ReasonMissingField, "loudness is missing")
	}
	row.Loudness = *f.Loudness
	if f.Tempo == nil {
		return tables.AudioFeature{}, reject(ReasonMissingField, "tempo is missing")
	}
	if *f.Tempo < 0 {
		return tables.AudioFeature{}, reject(ReasonNegativeValue, "tempo %v is negative", *f.Tempo)
	}
	row.Tempo = *f.Tempo
	if f.Key == nil {
		return tables.AudioFeature{}, reject(ReasonMissingField, "key is missing")
	}
	if *f.Key < -1 || *f.Key > 11 { // -1: no key detected
		return tables.AudioFeature{}, reject(ReasonValueOutOfRange, "key %d is outside -1–11", *f.Key)
	}
	row.Key = int32(*f.Key)
	if f.Mode == nil {
		return tables.AudioFeature{}, reject(ReasonMissingField, "mode is missing")
	}
	if *f.Mode != 0 && *f.Mode != 1 {
		return tables.AudioFeature{}, reject(ReasonValueOutOfRange, "mode %d is neither 0 nor 1", *f.Mode)
	}
	row.Mode = int32(*f.Mode)
	if row.DurationMS, rej = nonNegative32("duration_ms", f.DurationMS); rej != nil {
		return tables.AudioFeature{}, rej
	}
	if row.TimeSignature, rej = nonNegative32("time_signature", f.TimeSignature); rej != nil {
		return tables.AudioFeature{}, rej
	}
	return row, nil
}
