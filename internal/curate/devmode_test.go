package curate

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/metronome-data/metronome/internal/tables"
)

// curatedDay is what Run published of one raw record, read back from the
// Parquet files.
type curatedDay struct {
	artists  []tables.Artist
	albums   []tables.Album
	tracks   []tables.Track
	rejected int
}

// cleanRecord runs the clean stage over a day holding one raw record.
func cleanRecord(t *testing.T, entity, endpoint, key string, data obj) curatedDay {
	t.Helper()
	s := openFileLake(t)
	r := newRawLake()
	r.add(entity, 0, t0, endpoint, key, data)
	r.write(t, s)
	rep, err := Run(context.Background(), s, testDT, Options{Market: "US"})
	if err != nil {
		t.Fatal(err)
	}
	return curatedDay{
		artists:  readTable[tables.Artist](t, s, tables.Artists),
		albums:   readTable[tables.Album](t, s, tables.Albums),
		tracks:   readTable[tables.Track](t, s, tables.Tracks),
		rejected: rep.RejectedTotal(),
	}
}

// jsonNull is a field served as null (obj.with deletes a field given nil).
var jsonNull = json.RawMessage("null")

// TestRemovedFieldsAreNull cleans, for each field development mode removes
// (Spotify's February 2026 migration guide), an extended-mode object and
// the same object without the field: the record is kept, and the curated
// value is NULL — not 0, not an empty list — where extended mode has one.
// album_group and linked_from have no column: without them the release or
// track is kept unchanged.
func TestRemovedFieldsAreNull(t *testing.T) {
	artist := apiArtistObj(a1, "Artist")
	albumListing := obj{"items": []obj{apiSimpleAlbumObj(al1, "First", a1).with("album_group", "album")}}
	album := apiAlbumObj(al1, "First", a1, apiSimpleTrackObj(tr(1), "One", a1, 1))
	topTracks := func(track obj) obj { return obj{"tracks": []obj{track}} }
	fullTrack := apiTrackObj(tr(2), "Two", a1, al1)

	type source struct {
		entity, endpoint, key string
		ext, dev              obj
	}
	artists := func(dev obj) source {
		return source{EntityArtists, "/v1/artists/" + a1, a1, artist, dev}
	}
	albums := func(dev obj) source {
		return source{EntityAlbums, "/v1/albums/" + al1, al1, album, dev}
	}
	tops := func(ext, dev obj) source {
		return source{EntityTopTracks, "/v1/artists/" + a1 + "/top-tracks?market=US", a1, topTracks(ext), topTracks(dev)}
	}
	linked := fullTrack.with("linked_from", obj{"id": tr(99), "type": "track", "uri": "spotify:track:" + tr(99)})

	tests := []struct {
		name string
		src  source
		// null says whether a day's value is NULL; nil compares the
		// whole rows instead (no column holds the field).
		null func(curatedDay) bool
	}{
		{"album_group", source{EntityArtistAlbums, "/v1/artists/" + a1 + "/albums", a1,
			albumListing, obj{"items": []obj{apiSimpleAlbumObj(al1, "First", a1)}}}, nil},
		{"album label", albums(album.with("label", nil)),
			func(d curatedDay) bool { return d.albums[0].Label == nil }},
		{"album popularity", albums(album.with("popularity", nil)),
			func(d curatedDay) bool { return d.albums[0].Popularity == nil }},
		{"album available_markets", albums(album.with("available_markets", nil)),
			func(d curatedDay) bool { return d.albums[0].AvailableMarkets == nil }},
		{"track popularity", tops(fullTrack, fullTrack.with("popularity", nil)),
			func(d curatedDay) bool { return d.tracks[0].Popularity == nil }},
		{"track available_markets", tops(fullTrack, fullTrack.with("available_markets", nil)),
			func(d curatedDay) bool { return d.tracks[0].AvailableMarkets == nil }},
		{"track linked_from", tops(linked, fullTrack), nil},
		{"artist followers", artists(artist.with("followers", nil)),
			func(d curatedDay) bool { return d.artists[0].Followers == nil }},
		{"artist popularity", artists(artist.with("popularity", nil)),
			func(d curatedDay) bool { return d.artists[0].Popularity == nil }},
		{"genres absent", artists(artist.with("genres", nil)),
			func(d curatedDay) bool { return d.artists[0].Genres == nil }},
		{"genres null", artists(artist.with("genres", jsonNull)),
			func(d curatedDay) bool { return d.artists[0].Genres == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext := cleanRecord(t, tt.src.entity, tt.src.endpoint, tt.src.key, tt.src.ext)
			dev := cleanRecord(t, tt.src.entity, tt.src.endpoint, tt.src.key, tt.src.dev)
			if ext.rejected != 0 || dev.rejected != 0 {
				t.Fatalf("rejected: extended %d, development %d; want none", ext.rejected, dev.rejected)
			}
			if len(dev.artists) != len(ext.artists) || len(dev.albums) != len(ext.albums) || len(dev.tracks) != len(ext.tracks) {
				t.Fatalf("development rows %d/%d/%d, extended %d/%d/%d (artists/albums/tracks)",
					len(dev.artists), len(dev.albums), len(dev.tracks), len(ext.artists), len(ext.albums), len(ext.tracks))
			}
			if tt.null == nil {
				if !reflect.DeepEqual(dev, ext) {
					t.Errorf("without %s\n got %+v\nwant %+v", tt.name, dev, ext)
				}
				return
			}
			if tt.null(ext) {
				t.Errorf("extended mode's %s is NULL", tt.name)
			}
			if !tt.null(dev) {
				t.Errorf("development mode's %s is not NULL: %+v", tt.name, dev)
			}
		})
	}
}

// TestEmptyGenresStayEmpty: a list Spotify served empty is an artist known
// to have no genre, which is not the same as genres unknown.
func TestEmptyGenresStayEmpty(t *testing.T) {
	d := cleanRecord(t, EntityArtists, "/v1/artists/"+a1, a1, apiArtistObj(a1, "Artist").with("genres", []string{}))
	if len(d.artists) != 1 || d.artists[0].Genres == nil || len(d.artists[0].Genres) != 0 {
		t.Errorf("artists %+v; want one with genres []", d.artists)
	}
}
