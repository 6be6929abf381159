package curate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/lake"
)

const testDT = "2026-11-01"

var t0 = time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)

// sid makes a valid Spotify ID from a tag and a number, e.g. sid("ar", 7).
func sid(tag string, n int) string {
	return fmt.Sprintf("%s%0*d", tag, 22-len(tag), n)
}

// obj is a JSON object under construction.
type obj map[string]any

func (o obj) with(kv ...any) obj {
	c := make(obj, len(o)+len(kv)/2)
	for k, v := range o {
		c[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
			continue
		}
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// API objects in the shape Spotify returns them (extended quota mode).

func apiArtistObj(id, name string) obj {
	return obj{
		"id": id, "name": name, "type": "artist", "uri": "spotify:artist:" + id,
		"genres":        []string{"Indie Rock"},
		"popularity":    50,
		"followers":     obj{"href": nil, "total": 1000},
		"images":        []obj{{"url": "https://i.scdn.co/image/" + id, "width": 640, "height": 640}},
		"external_urls": obj{"spotify": "https://open.spotify.com/artist/" + id},
	}
}

func apiSimpleAlbumObj(id, name, artistID string) obj {
	return obj{
		"id": id, "name": name, "album_type": "album", "total_tracks": 10,
		"release_date": "2020-03-15", "release_date_precision": "day",
		"available_markets": []string{"US", "DE"},
		"artists":           []obj{{"id": artistID, "name": "x"}},
	}
}

func apiAlbumObj(id, name, artistID string, tracks ...obj) obj {
	return apiSimpleAlbumObj(id, name, artistID).with(
		"label", "Label", "popularity", 40,
		"tracks", obj{"items": tracks, "total": len(tracks), "limit": 50, "offset": 0},
	)
}

func apiSimpleTrackObj(id, name, artistID string, number int) obj {
	return obj{
		"id": id, "name": name, "duration_ms": 200000, "explicit": false,
		"track_number": number, "disc_number": 1,
		"available_markets": []string{"US"},
		"artists":           []obj{{"id": artistID, "name": "x"}},
	}
}

func apiTrackObj(id, name, artistID, albumID string) obj {
	return apiSimpleTrackObj(id, name, artistID, 1).with(
		"popularity", 60,
		"album", obj{"id": albumID, "name": "Album " + albumID},
	)
}

func apiAudioFeaturesObj(trackID string) obj {
	return obj{
		"id": trackID, "danceability": 0.5, "energy": 0.6, "key": 5, "loudness": -7.5, "mode": 1,
		"speechiness": 0.05, "acousticness": 0.1, "instrumentalness": 0, "liveness": 0.2,
		"valence": 0.4, "tempo": 120.0, "duration_ms": 200000, "time_signature": 4,
	}
}

// rawLake collects raw records per object and writes them to a store.
type rawLake struct {
	objects map[string][]lake.RawRecord // by key
}

func newRawLake() *rawLake { return &rawLake{objects: map[string][]lake.RawRecord{}} }

// add appends a record to raw/spotify/<entity>/dt=testDT/batch=<batch>.
func (r *rawLake) add(entity string, batch int, at time.Time, endpoint, key string, data any) {
	var raw json.RawMessage
	switch d := data.(type) {
	case json.RawMessage:
		raw = d
	default:
		raw = mustJSON(d)
	}
	k := lake.RawKey(entity, testDT, batch)
	r.objects[k] = append(r.objects[k], lake.RawRecord{
		DT: testDT, Batch: batch, FetchedAt: at, Endpoint: endpoint, Key: key, Data: raw,
	})
}

func (r *rawLake) write(t testing.TB, s lake.Store) {
	t.Helper()
	keys := make([]string, 0, len(r.objects))
	for k := range r.objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, err := lake.WriteRaw(context.Background(), s, k, r.objects[k]); err != nil {
			t.Fatal(err)
		}
	}
}

func openFileLake(t testing.TB) lake.Store {
	t.Helper()
	s, err := lake.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readTable reads every part of a curated partition.
func readTable[T any](t testing.TB, s lake.Store, table string) []T {
	t.Helper()
	keys, err := s.List(context.Background(), lake.CuratedPrefix(table, testDT))
	if err != nil {
		t.Fatal(err)
	}
	var rows []T
	for _, k := range keys {
		err := lake.ReadParquet(context.Background(), s, k, func(r T) error {
			rows = append(rows, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return rows
}

// readQuarantine reads a quarantine object.
func readQuarantine(t testing.TB, s lake.Store, key string) []QuarantineRecord {
	t.Helper()
	var out []QuarantineRecord
	err := lake.ReadJSONL(context.Background(), s, key, func(q QuarantineRecord) error {
		out = append(out, q)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
