package benchlake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// The raw records: the parts of Spotify's artist and track objects the
// clean stage reads, shaped as the API sends them.
type (
	rawArtist struct {
		ExternalURLs map[string]string `json:"external_urls"`
		Followers    struct {
			Href  *string `json:"href"`
			Total int64   `json:"total"`
		} `json:"followers"`
		Genres     []string   `json:"genres"`
		ID         string     `json:"id"`
		Images     []rawImage `json:"images"`
		Name       string     `json:"name"`
		Popularity int32      `json:"popularity"`
		Type       string     `json:"type"`
		URI        string     `json:"uri"`
	}
	rawImage struct {
		URL    string `json:"url"`
		Height int    `json:"height"`
		Width  int    `json:"width"`
	}
	rawTopTracks struct {
		Tracks []rawTrack `json:"tracks"`
	}
	// rawTrack is a top track as the top-tracks endpoint lists it, without
	// the album's and artists' links and images, which nothing reads.
	rawTrack struct {
		Album struct {
			AlbumType            string `json:"album_type"`
			ID                   string `json:"id"`
			Name                 string `json:"name"`
			ReleaseDate          string `json:"release_date"`
			ReleaseDatePrecision string `json:"release_date_precision"`
		} `json:"album"`
		Artists     []rawArtistRef `json:"artists"`
		DurationMS  int32          `json:"duration_ms"`
		Explicit    bool           `json:"explicit"`
		ID          string         `json:"id"`
		Name        string         `json:"name,omitempty"`
		Popularity  int32          `json:"popularity"`
		TrackNumber int32          `json:"track_number"`
	}
	rawArtistRef struct {
		ID string `json:"id"`
	}
)

// batchWriter gathers one collect batch of one date: its raw records, the
// curated rows cleaning them gives, and the rejected items.
type batchWriter struct {
	g     generator
	l     Lake
	d     int
	dt    string
	batch int
	late  bool
	last  tables.Date

	rawArtists, rawTop []lake.RawRecord
	artists            []tables.Artist
	tracks             []tables.Track
	top                []tables.ArtistTopTrack
	albums             []tables.Album
	features           []tables.AudioFeature
	rejects            []curate.QuarantineRecord
	topItems           int
	missing            []string
	err                error
}

// artist adds artist i's records and rows.
func (b *batchWriter) artist(i int) {
	id := artistID(i)
	if !b.g.present(i, b.d) {
		b.missing = append(b.missing, id)
		return
	}
	fetched := b.l.fetchedAt(b.d, i)
	name, genres := b.g.artistName(i), b.g.genres(i)
	pop, followers := b.g.popularity(i, b.d), b.g.followers(i, b.d)
	url, image := "https://open.spotify.com/artist/"+id, imageURL(i)

	ra := rawArtist{ExternalURLs: map[string]string{"spotify": url}, Genres: genres, ID: id, Name: name,
		Images: []rawImage{{URL: image, Height: 640, Width: 640}}, Popularity: pop, Type: "artist", URI: "spotify:artist:" + id}
	ra.Followers.Total = followers
	b.rawArtists = append(b.rawArtists, b.record(fetched, curate.EntityArtists, id, ra))
	b.artists = append(b.artists, tables.Artist{ArtistID: id, Name: name, Genres: genres, Popularity: &pop,
		Followers: &followers, ImageURL: &image, SpotifyURL: &url, FetchedAt: fetched, LateCapture: b.late})

	var list rawTopTracks
	rank := int32(0)
	source := lake.RawKey(curate.EntityTopTracks, b.dt, b.batch)
	for item, k := range b.g.topTrackOrder(i, b.d) {
		t := b.track(i, k)
		reason := b.g.rejectReason(i, k, b.d)
		b.topItems++
		if reason == "" {
			rank++
			b.top = append(b.top, tables.ArtistTopTrack{ArtistID: id, Market: "US", Rank: rank, TrackID: t.ID,
				FetchedAt: fetched, LateCapture: b.late})
			albumName := t.Album.Name
			pop := t.Popularity
			b.tracks = append(b.tracks, tables.Track{TrackID: t.ID, Name: t.Name, ArtistID: id, AlbumID: t.Album.ID,
				AlbumName: &albumName, DurationMS: t.DurationMS, Explicit: t.Explicit, TrackNumber: t.TrackNumber,
				DiscNumber: 1, Popularity: &pop, FetchedAt: fetched, LateCapture: b.late})
		} else {
			detail := spoil(&t, reason)
			b.rejects = append(b.rejects, curate.QuarantineRecord{Reason: reason, Detail: detail,
				Entity: curate.EntityTopTracks, Source: source, Record: len(b.rawTop) + 1, Item: &item, DT: b.dt,
				Key: id, FetchedAt: fetched.Format(time.RFC3339Nano), Endpoint: curate.EntityTopTracks,
				Data: b.json(t)})
		}
		list.Tracks = append(list.Tracks, t)
	}
	b.rawTop = append(b.rawTop, b.record(fetched, curate.EntityTopTracks, id, list))

	if b.d > 0 {
		return
	}
	// The first date is the first capture: every album and the audio
	// features of every track, which later dates read from it.
	for j := range albumsPerArtist {
		name, kind, released, precision := b.g.album(i, j, b.last)
		b.albums = append(b.albums, tables.Album{AlbumID: albumID(i, j), ArtistID: id, Name: name, AlbumType: kind,
			ReleaseDate: released, ReleaseDatePrecision: precision, TotalTracks: tracksPerArtist / albumsPerArtist,
			FetchedAt: fetched, LateCapture: b.late})
	}
	for k := range tracksPerArtist {
		b.features = append(b.features, b.g.feature(i, k, fetched))
	}
}

// track is the API's object of track k of artist i on the batch's date.
func (b *batchWriter) track(i, k int) rawTrack {
	id := trackID(i, k)
	var t rawTrack
	j := albumOf(k)
	name, kind, released, precision := b.g.album(i, j, b.last)
	t.Album.AlbumType, t.Album.ID, t.Album.Name = kind, albumID(i, j), name
	t.Album.ReleaseDate, t.Album.ReleaseDatePrecision = released.String(), precision
	if precision == "year" {
		t.Album.ReleaseDate = released.String()[:4]
	}
	t.Artists = []rawArtistRef{{ID: artistID(i)}}
	t.DurationMS, t.Explicit = b.g.durationMS(i, k), k%5 == 0
	t.ID, t.Name, t.Popularity, t.TrackNumber = id, b.g.trackName(i, k), b.g.trackPopularity(i, k, b.d), int32(k/albumsPerArtist+1)
	return t
}

// spoil makes the track item fail the clean stage's check for reason and
// returns the detail the stage gives.
func spoil(t *rawTrack, reason string) string {
	switch reason {
	case "popularity_out_of_range":
		t.Popularity += 101
		return fmt.Sprintf("popularity %d outside 0–100", t.Popularity)
	case "value_out_of_range":
		t.DurationMS = 4_000
		return "duration_ms under 120000"
	case "invalid_id":
		t.ID = "bad:" + t.ID[:8]
		return fmt.Sprintf("track id %q is not 22 base-62 characters", t.ID)
	default:
		t.Name = ""
		return "track name is missing"
	}
}

func (b *batchWriter) record(fetched time.Time, endpoint, key string, data any) lake.RawRecord {
	return lake.RawRecord{DT: b.dt, Batch: b.batch, FetchedAt: fetched, Endpoint: endpoint, Key: key, Data: b.json(data)}
}

func (b *batchWriter) json(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("encode %T: %w", v, err)
	}
	return data
}

// flush writes the batch's raw and quarantine objects and its curated
// rows, and counts them.
func (b *batchWriter) flush(ctx context.Context, store lake.Store, cw *curatedWriters, collect *contract.CollectSummary, report *contract.QualityReport) error {
	if b.err != nil {
		return b.err
	}
	for _, raw := range []struct {
		entity  string
		records []lake.RawRecord
	}{{curate.EntityArtists, b.rawArtists}, {curate.EntityTopTracks, b.rawTop}} {
		if len(raw.records) == 0 {
			continue
		}
		n, err := lake.WriteRaw(ctx, store, lake.RawKey(raw.entity, b.dt, b.batch), raw.records)
		if err != nil {
			return err
		}
		collect.Bytes += n
		collect.Records[raw.entity] += len(raw.records)
	}
	// One artists call for the batch's IDs, one top-tracks call per artist.
	collect.Calls[curate.EntityArtists]++
	collect.Calls[curate.EntityTopTracks] += len(b.rawTop)
	collect.Batches++
	collect.Missing = append(collect.Missing, b.missing...)

	report.RowsIn[curate.EntityArtists] += len(b.rawArtists)
	report.RowsIn[curate.EntityTopTracks] += len(b.rawTop) + b.topItems
	if len(b.rejects) > 0 {
		key := lake.QuarantineKey(curate.EntityTopTracks, b.dt, b.batch)
		if _, err := lake.WriteJSONL(ctx, store, key, b.rejects); err != nil {
			return err
		}
		report.QuarantineKeys = append(report.QuarantineKeys, key)
		if report.Rejected[curate.EntityTopTracks] == nil {
			report.Rejected[curate.EntityTopTracks] = map[string]int{}
		}
		for _, r := range b.rejects {
			report.Rejected[curate.EntityTopTracks][r.Reason]++
		}
	}
	return errors.Join(
		cw.artists.Write(ctx, b.artists), cw.tracks.Write(ctx, b.tracks), cw.top.Write(ctx, b.top),
		cw.albums.Write(ctx, b.albums), cw.features.Write(ctx, b.features))
}

// curatedWriters write the curated partitions of one date.
type curatedWriters struct {
	artists  *lake.PartitionWriter[tables.Artist]
	albums   *lake.PartitionWriter[tables.Album]
	tracks   *lake.PartitionWriter[tables.Track]
	top      *lake.PartitionWriter[tables.ArtistTopTrack]
	features *lake.PartitionWriter[tables.AudioFeature]
}

func newCuratedWriters(store lake.Store, dt string) (*curatedWriters, error) {
	var cw curatedWriters
	var errs [5]error
	cw.artists, errs[0] = lake.NewPartitionWriter[tables.Artist](store, lake.CuratedPrefix(tables.Artists, dt))
	cw.albums, errs[1] = lake.NewPartitionWriter[tables.Album](store, lake.CuratedPrefix(tables.Albums, dt))
	cw.tracks, errs[2] = lake.NewPartitionWriter[tables.Track](store, lake.CuratedPrefix(tables.Tracks, dt))
	cw.top, errs[3] = lake.NewPartitionWriter[tables.ArtistTopTrack](store, lake.CuratedPrefix(tables.ArtistTopTracks, dt))
	cw.features, errs[4] = lake.NewPartitionWriter[tables.AudioFeature](store, lake.CuratedPrefix(tables.AudioFeatures, dt))
	return &cw, errors.Join(errs[:]...)
}

// publish publishes every partition (an empty table gets a part without
// rows, as the clean stage's) and counts the rows out.
func (cw *curatedWriters) publish(ctx context.Context, report *contract.QualityReport) error {
	report.RowsOut[tables.Artists] = int(cw.artists.Rows())
	report.RowsOut[tables.Albums] = int(cw.albums.Rows())
	report.RowsOut[tables.Tracks] = int(cw.tracks.Rows())
	report.RowsOut[tables.ArtistTopTracks] = int(cw.top.Rows())
	report.RowsOut[tables.AudioFeatures] = int(cw.features.Rows())
	return errors.Join(cw.artists.Publish(ctx), cw.albums.Publish(ctx), cw.tracks.Publish(ctx),
		cw.top.Publish(ctx), cw.features.Publish(ctx))
}

func (cw *curatedWriters) abort(ctx context.Context) {
	for _, abort := range []func(context.Context) error{cw.artists.Abort, cw.albums.Abort, cw.tracks.Abort, cw.top.Abort, cw.features.Abort} {
		_ = abort(ctx) // nothing left to abort after a publish
	}
}

func (cw *curatedWriters) keys() map[string][]string {
	return map[string][]string{
		tables.Artists: cw.artists.Keys(), tables.Albums: cw.albums.Keys(), tables.Tracks: cw.tracks.Keys(),
		tables.ArtistTopTracks: cw.top.Keys(), tables.AudioFeatures: cw.features.Keys(),
	}
}
