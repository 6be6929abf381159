package curate

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

func ptr[T any](v T) *T { return &v }

func record(key, endpoint string, data any) lake.RawRecord {
	raw, ok := data.(json.RawMessage)
	if !ok {
		raw = mustJSON(data)
	}
	return lake.RawRecord{DT: testDT, Batch: 0, FetchedAt: t0, Endpoint: endpoint, Key: key, Data: raw}
}

// cleanOne cleans a single record of entity.
func cleanOne(entity string, rec lake.RawRecord) objectOutput {
	c := &cleaner{dt: testDT, market: "US", entity: entity, source: lake.RawKey(entity, testDT, 0)}
	_ = c.record(rec)
	return c.out
}

func reasons(out objectOutput) []string {
	var r []string
	for _, q := range out.rejects {
		r = append(r, q.Reason)
	}
	return r
}

func TestArtistRules(t *testing.T) {
	id := sid("ar", 1)
	base := apiArtistObj(id, "Radiohead")
	fetched := t0
	tests := []struct {
		name   string
		data   any
		want   *tables.Artist // nil when rejected
		reason string
	}{
		{"extended mode keeps zero as zero", base.with("popularity", 0, "followers", obj{"total": 0}),
			&tables.Artist{ArtistID: id, Name: "Radiohead", Genres: []string{"indie rock"}, Popularity: ptr[int32](0),
				Followers: ptr[int64](0), ImageURL: ptr("https://i.scdn.co/image/" + id),
				SpotifyURL: ptr("https://open.spotify.com/artist/" + id), FetchedAt: fetched}, ""},
		{"development mode: no followers, no popularity → NULL", base.with("popularity", nil, "followers", nil),
			&tables.Artist{ArtistID: id, Name: "Radiohead", Genres: []string{"indie rock"},
				ImageURL: ptr("https://i.scdn.co/image/" + id), SpotifyURL: ptr("https://open.spotify.com/artist/" + id),
				FetchedAt: fetched}, ""},
		{"null followers total → NULL", base.with("followers", obj{"href": nil, "total": nil}),
			&tables.Artist{ArtistID: id, Name: "Radiohead", Genres: []string{"indie rock"}, Popularity: ptr[int32](50),
				ImageURL: ptr("https://i.scdn.co/image/" + id), SpotifyURL: ptr("https://open.spotify.com/artist/" + id),
				FetchedAt: fetched}, ""},
		{"name NFC and trimmed, genres lower-cased and de-duplicated, widest image",
			base.with("name", "  Beyonce\u0301 \t", "genres", []string{"K-Pop", " k-pop ", "", "Dance Pop", "CAFE\u0301"},
				"images", []obj{{"url": "https://small", "width": 64}, {"url": "https://big", "width": 640}, {"url": ""}},
				"external_urls", obj{}),
			&tables.Artist{ArtistID: id, Name: "Beyonc\u00e9", Genres: []string{"k-pop", "dance pop", "caf\u00e9"},
				Popularity: ptr[int32](50), Followers: ptr[int64](1000), ImageURL: ptr("https://big"), FetchedAt: fetched}, ""},
		{"absent genres are NULL", base.with("genres", nil, "images", []obj{}),
			&tables.Artist{ArtistID: id, Name: "Radiohead", Popularity: ptr[int32](50),
				Followers: ptr[int64](1000), SpotifyURL: ptr("https://open.spotify.com/artist/" + id), FetchedAt: fetched}, ""},
		{"no genres is an empty list", base.with("genres", []string{}, "images", []obj{}),
			&tables.Artist{ArtistID: id, Name: "Radiohead", Genres: []string{}, Popularity: ptr[int32](50),
				Followers: ptr[int64](1000), SpotifyURL: ptr("https://open.spotify.com/artist/" + id), FetchedAt: fetched}, ""},
		{"short id", base.with("id", "abc"), nil, ReasonInvalidID},
		{"non base-62 id", base.with("id", "4Z8W4fKeB5YxbusRsdQVP-"), nil, ReasonInvalidID},
		{"missing id", base.with("id", nil), nil, ReasonMissingField},
		{"blank name", base.with("name", "  "), nil, ReasonMissingField},
		{"missing name", base.with("name", nil), nil, ReasonMissingField},
		{"popularity above 100", base.with("popularity", 101), nil, ReasonPopularityOutOfRange},
		{"negative popularity", base.with("popularity", -1), nil, ReasonPopularityOutOfRange},
		{"negative followers", base.with("followers", obj{"total": -5}), nil, ReasonNegativeValue},
		{"popularity of the wrong type", base.with("popularity", "high"), nil, ReasonMalformedJSON},
		{"data is not an object", "just a string", nil, ReasonMalformedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := cleanOne(EntityArtists, record(id, "/v1/artists/"+id, tt.data))
			if out.in != 1 {
				t.Errorf("units checked = %d, want 1", out.in)
			}
			if tt.want == nil {
				if len(out.artists) != 0 || !reflect.DeepEqual(reasons(out), []string{tt.reason}) {
					t.Fatalf("rows %v, rejects %v; want one rejection %s", out.artists, reasons(out), tt.reason)
				}
				return
			}
			if len(out.rejects) != 0 || len(out.artists) != 1 {
				t.Fatalf("rows %v, rejects %+v; want one row", out.artists, out.rejects)
			}
			if got := out.artists[0].Row; !reflect.DeepEqual(got, *tt.want) {
				t.Errorf("row\n got %+v\nwant %+v", got, *tt.want)
			}
		})
	}
}

func TestAlbumRules(t *testing.T) {
	id, artist := sid("al", 1), sid("ar", 1)
	base := apiAlbumObj(id, "OK Computer", artist)
	tests := []struct {
		name   string
		data   obj
		check  func(t *testing.T, a tables.Album)
		reason string
	}{
		{"day precision", base, func(t *testing.T, a tables.Album) {
			if a.ReleaseDate.String() != "2020-03-15" || a.ReleaseDatePrecision != "day" {
				t.Errorf("release %s/%s", a.ReleaseDate, a.ReleaseDatePrecision)
			}
		}, ""},
		{"year precision → first day of the year", base.with("release_date", "1997", "release_date_precision", "year"),
			func(t *testing.T, a tables.Album) {
				if a.ReleaseDate.String() != "1997-01-01" || a.ReleaseDatePrecision != "year" {
					t.Errorf("release %s/%s", a.ReleaseDate, a.ReleaseDatePrecision)
				}
			}, ""},
		{"month precision → first day of the month", base.with("release_date", "1997-05", "release_date_precision", "month"),
			func(t *testing.T, a tables.Album) {
				if a.ReleaseDate.String() != "1997-05-01" || a.ReleaseDatePrecision != "month" {
					t.Errorf("release %s/%s", a.ReleaseDate, a.ReleaseDatePrecision)
				}
			}, ""},
		{"missing precision is inferred", base.with("release_date", "1997-05", "release_date_precision", nil),
			func(t *testing.T, a tables.Album) {
				if a.ReleaseDate.String() != "1997-05-01" || a.ReleaseDatePrecision != "month" {
					t.Errorf("release %s/%s", a.ReleaseDate, a.ReleaseDatePrecision)
				}
			}, ""},
		{"markets upper-cased, de-duplicated, sorted; type lower-cased; blank label is NULL",
			base.with("available_markets", []string{"us", "DE", "US", " fr"}, "album_type", "ALBUM", "label", " "),
			func(t *testing.T, a tables.Album) {
				if !reflect.DeepEqual(a.AvailableMarkets, []string{"DE", "FR", "US"}) || a.AlbumType != "album" || a.Label != nil {
					t.Errorf("markets %q, type %q, label %v", a.AvailableMarkets, a.AlbumType, a.Label)
				}
			}, ""},
		{"development mode: no popularity, no markets → NULL", base.with("popularity", nil, "available_markets", nil),
			func(t *testing.T, a tables.Album) {
				if a.Popularity != nil || a.AvailableMarkets != nil {
					t.Errorf("popularity %v, markets %q; want NULL", a.Popularity, a.AvailableMarkets)
				}
			}, ""},
		{"extended mode: popularity 0 and no markets stay 0 and empty", base.with("popularity", 0, "available_markets", []string{}),
			func(t *testing.T, a tables.Album) {
				if a.Popularity == nil || *a.Popularity != 0 || a.AvailableMarkets == nil || len(a.AvailableMarkets) != 0 {
					t.Errorf("popularity %v, markets %#v; want 0 and []", a.Popularity, a.AvailableMarkets)
				}
			}, ""},
		{"impossible day", base.with("release_date", "1997-02-30"), nil, ReasonBadDate},
		{"year 0000", base.with("release_date", "0000", "release_date_precision", "year"), nil, ReasonBadDate},
		{"date finer than its precision", base.with("release_date", "1997-05-21", "release_date_precision", "year"), nil, ReasonBadDate},
		{"unknown precision", base.with("release_date_precision", "week"), nil, ReasonBadDate},
		{"missing date", base.with("release_date", nil), nil, ReasonMissingField},
		{"invalid market", base.with("available_markets", []string{"US", "ZZ"}), nil, ReasonInvalidMarket},
		{"negative total tracks", base.with("total_tracks", -1), nil, ReasonNegativeValue},
		{"popularity out of range", base.with("popularity", 200), nil, ReasonPopularityOutOfRange},
		{"no artists", base.with("artists", []obj{}), nil, ReasonMissingField},
		{"bad id", base.with("id", "x"), nil, ReasonInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := cleanOne(EntityAlbums, record(id, "/v1/albums/"+id, tt.data))
			if tt.check == nil {
				if len(out.albums) != 0 || !reflect.DeepEqual(reasons(out), []string{tt.reason}) {
					t.Fatalf("rows %v, rejects %v; want one rejection %s", out.albums, reasons(out), tt.reason)
				}
				return
			}
			if len(out.rejects) != 0 || len(out.albums) != 1 {
				t.Fatalf("rows %v, rejects %+v; want one album", out.albums, out.rejects)
			}
			if out.albums[0].Rank != rankFull || out.albums[0].Row.ArtistID != artist {
				t.Errorf("rank %d, artist %q", out.albums[0].Rank, out.albums[0].Row.ArtistID)
			}
			tt.check(t, out.albums[0].Row)
		})
	}
}

func TestTopTracksRules(t *testing.T) {
	artist, album := sid("ar", 1), sid("al", 1)
	good := apiTrackObj(sid("tr", 1), "Airbag", artist, album)
	tests := []struct {
		name     string
		endpoint string
		key      string
		tracks   any
		want     []tables.Track // kept tracks in order
		ranks    []int32
		market   string
		reasons  []string
	}{
		{"full track, market from the endpoint", "/v1/artists/" + artist + "/top-tracks?market=de", artist, []obj{good},
			[]tables.Track{{TrackID: sid("tr", 1), Name: "Airbag", ArtistID: artist, AlbumID: album, AlbumName: ptr("Album " + album),
				DurationMS: 200000, TrackNumber: 1, DiscNumber: 1, Popularity: ptr[int32](60), AvailableMarkets: []string{"US"},
				FetchedAt: t0}}, []int32{1}, "DE", nil},
		{"no popularity, no markets → NULL; market from options", "/v1/artists/" + artist + "/top-tracks", artist,
			[]obj{good.with("popularity", nil, "available_markets", nil, "explicit", true)},
			[]tables.Track{{TrackID: sid("tr", 1), Name: "Airbag", ArtistID: artist, AlbumID: album, AlbumName: ptr("Album " + album),
				DurationMS: 200000, Explicit: true, TrackNumber: 1, DiscNumber: 1, FetchedAt: t0}},
			[]int32{1}, "US", nil},
		{"a bad track is rejected alone and keeps its rank slot", "/v1/artists/" + artist + "/top-tracks?market=US", artist,
			[]obj{good.with("duration_ms", -1), good.with("id", sid("tr", 2)), good.with("id", sid("tr", 3), "explicit", nil)},
			[]tables.Track{{TrackID: sid("tr", 2), Name: "Airbag", ArtistID: artist, AlbumID: album, AlbumName: ptr("Album " + album),
				DurationMS: 200000, TrackNumber: 1, DiscNumber: 1, Popularity: ptr[int32](60), AvailableMarkets: []string{"US"},
				FetchedAt: t0}}, []int32{2}, "US", []string{ReasonNegativeValue, ReasonMissingField}},
		{"track without album", "/v1/x?market=US", artist, []obj{good.with("album", nil)}, nil, nil, "", []string{ReasonMissingField}},
		{"huge duration", "/v1/x?market=US", artist, []obj{good.with("duration_ms", int64(1)<<40)}, nil, nil, "", []string{ReasonValueOutOfRange}},
		{"bad market in the endpoint", "/v1/x?market=XX", artist, []obj{good}, nil, nil, "", []string{ReasonInvalidMarket}},
		{"bad artist key", "/v1/x?market=US", "nope", []obj{good}, nil, nil, "", []string{ReasonInvalidID}},
		{"no tracks field", "/v1/x?market=US", artist, nil, nil, nil, "", []string{ReasonMissingField}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := obj{"tracks": tt.tracks}
			if tt.tracks == nil {
				data = obj{}
			}
			out := cleanOne(EntityTopTracks, record(tt.key, tt.endpoint, data))
			if !reflect.DeepEqual(reasons(out), tt.reasons) {
				t.Errorf("rejections %v, want %v", reasons(out), tt.reasons)
			}
			var rows []tables.Track
			for _, s := range out.tracks {
				rows = append(rows, s.Row)
			}
			if !reflect.DeepEqual(rows, tt.want) {
				t.Errorf("tracks\n got %+v\nwant %+v", rows, tt.want)
			}
			if len(out.topTracks) != len(tt.ranks) {
				t.Fatalf("top tracks %+v, want ranks %v", out.topTracks, tt.ranks)
			}
			for i, tt2 := range out.topTracks {
				if tt2.Row.Rank != tt.ranks[i] || tt2.Row.Market != tt.market || tt2.Row.ArtistID != artist || tt2.Row.TrackID != rows[i].TrackID ||
					!tt2.Row.FetchedAt.Equal(t0) {
					t.Errorf("top track %d = %+v, want rank %d market %s", i, tt2.Row, tt.ranks[i], tt.market)
				}
			}
		})
	}
}

func TestAudioFeatureRules(t *testing.T) {
	id := sid("tr", 1)
	base := apiAudioFeaturesObj(id)
	tests := []struct {
		name   string
		data   obj
		reason string
	}{
		{"valid", base, ""},
		{"no key detected (-1) is valid", base.with("key", -1), ""},
		{"danceability above 1", base.with("danceability", 1.5), ReasonValueOutOfRange},
		{"negative valence", base.with("valence", -0.1), ReasonValueOutOfRange},
		{"key 12", base.with("key", 12), ReasonValueOutOfRange},
		{"mode 2", base.with("mode", 2), ReasonValueOutOfRange},
		{"negative tempo", base.with("tempo", -1), ReasonNegativeValue},
		{"negative duration", base.with("duration_ms", -1), ReasonNegativeValue},
		{"missing energy", base.with("energy", nil), ReasonMissingField},
		{"missing loudness", base.with("loudness", nil), ReasonMissingField},
		{"bad id", base.with("id", "x"), ReasonInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := cleanOne(EntityAudioFeatures, record(id, "/v1/audio-features", tt.data))
			if tt.reason == "" {
				want := tables.AudioFeature{TrackID: id, Danceability: 0.5, Energy: 0.6, Key: 5, Loudness: -7.5, Mode: 1,
					Speechiness: 0.05, Acousticness: 0.1, Liveness: 0.2, Valence: 0.4, Tempo: 120, DurationMS: 200000, TimeSignature: 4, FetchedAt: t0}
				if k, ok := tt.data["key"].(int); ok {
					want.Key = int32(k)
				}
				if len(out.features) != 1 || !reflect.DeepEqual(out.features[0].Row, want) {
					t.Fatalf("features %+v, rejects %+v; want %+v", out.features, out.rejects, want)
				}
				return
			}
			if len(out.features) != 0 || !reflect.DeepEqual(reasons(out), []string{tt.reason}) {
				t.Fatalf("rows %v, rejects %v; want one rejection %s", out.features, reasons(out), tt.reason)
			}
		})
	}
}

func TestAlbumListingsAndTracks(t *testing.T) {
	artist, album := sid("ar", 1), sid("al", 1)
	page := obj{"items": []obj{
		apiSimpleAlbumObj(album, "A", artist),
		apiSimpleAlbumObj(sid("al", 2), "B", sid("ar", 9)).with("release_date", "bad"),
	}}
	out := cleanOne(EntityArtistAlbums, record(artist, "/v1/artists/"+artist+"/albums?limit=10", page))
	if out.in != 3 || !reflect.DeepEqual(reasons(out), []string{ReasonBadDate}) {
		t.Fatalf("units %d, rejections %v; want 3 units (record + 2 items), one bad_date", out.in, reasons(out))
	}
	if *out.rejects[0].Item != 1 || out.rejects[0].Key != artist || len(out.rejects[0].Data) == 0 {
		t.Errorf("item rejection %+v lacks its position, key or item", out.rejects[0])
	}
	if len(out.albums) != 1 || out.albums[0].Rank != rankSimplified || out.albums[0].Row.Label != nil {
		t.Fatalf("albums %+v; want one simplified album", out.albums)
	}
	if !reflect.DeepEqual(out.listings, []albumListing{{AlbumID: album, ArtistID: artist}}) {
		t.Errorf("listings %+v", out.listings)
	}

	full := apiAlbumObj(album, "A", artist,
		apiSimpleTrackObj(sid("tr", 1), "One", sid("ar", 5), 1),
		apiSimpleTrackObj(sid("tr", 2), "Two", sid("ar", 5), 2).with("artists", []obj{}))
	out = cleanOne(EntityAlbums, record(album, "/v1/albums/"+album, full))
	if out.in != 3 || !reflect.DeepEqual(reasons(out), []string{ReasonMissingField}) {
		t.Fatalf("units %d, rejections %v", out.in, reasons(out))
	}
	tr := out.tracks[0]
	if tr.Rank != rankSimplified || tr.Row.AlbumID != album || *tr.Row.AlbumName != "A" || tr.Row.ArtistID != sid("ar", 5) {
		t.Errorf("album track %+v", tr.Row)
	}

	more := obj{"items": []obj{apiSimpleTrackObj(sid("tr", 3), "Three", sid("ar", 5), 3)}}
	out = cleanOne(EntityAlbumTracks, record(album, "/v1/albums/"+album+"/tracks?offset=50", more))
	if len(out.tracks) != 1 || out.tracks[0].Row.AlbumID != album || out.tracks[0].Row.AlbumName != nil {
		t.Errorf("album_tracks rows %+v; want the album id from the key and no album name yet", out.tracks)
	}
	out = cleanOne(EntityAlbumTracks, record("bad", "/v1/albums/bad/tracks", more))
	if !reflect.DeepEqual(reasons(out), []string{ReasonInvalidID}) {
		t.Errorf("album_tracks with a bad key: rejections %v", reasons(out))
	}
}

func TestEnvelopeRules(t *testing.T) {
	id := sid("ar", 1)
	good := record(id, "/v1/artists/"+id, apiArtistObj(id, "X"))
	tests := []struct {
		name   string
		mutate func(*lake.RawRecord)
		reason string
	}{
		{"record of another date", func(r *lake.RawRecord) { r.DT = "2026-10-31" }, ReasonWrongPartition},
		{"no fetched_at", func(r *lake.RawRecord) { r.FetchedAt = time.Time{} }, ReasonMissingField},
		{"null data", func(r *lake.RawRecord) { r.Data = json.RawMessage("null") }, ReasonMissingField},
		{"no data", func(r *lake.RawRecord) { r.Data = nil }, ReasonMissingField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.mutate(&r)
			out := cleanOne(EntityArtists, r)
			if !reflect.DeepEqual(reasons(out), []string{tt.reason}) {
				t.Fatalf("rejections %v, want %s", reasons(out), tt.reason)
			}
			if q := out.rejects[0]; q.Item != nil || q.Key != id || q.Source == "" || q.Record != 1 {
				t.Errorf("record rejection %+v lacks key, source or record position", q)
			}
		})
	}

	c := &cleaner{dt: testDT, entity: EntityArtists, source: "raw/x"}
	_ = c.malformed(lake.MalformedLine{Line: 1, Text: []byte(`{"trunc`), Err: json.Unmarshal([]byte(`{"trunc`), &struct{}{})})
	if q := c.out.rejects[0]; q.Reason != ReasonMalformedJSON || q.Line != `{"trunc` || c.out.in != 1 {
		t.Errorf("malformed line → %+v (units %d)", q, c.out.in)
	}
}
