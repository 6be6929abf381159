package reply

import (
	"time"

	"github.com/metronome-data/metronome/internal/serving"
)

// The JSON shapes of a request and an artist: the JSON API's answers and
// the body of a callback share them, so a client parses one format.

// RequestStatus is the JSON view of a request: GET /v1/requests/{id}, the
// 202 answer and callbacks. It never holds the reply target.
type RequestStatus struct {
	ID       string `json:"id"`
	Artist   string `json:"artist"`
	ArtistID string `json:"artist_id,omitempty"`
	// State is pending, collecting, stored, not_found or failed.
	State     string    `json:"state"`
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// StatusOf is the JSON view of r.
func StatusOf(r serving.Request) RequestStatus {
	return RequestStatus{
		ID: r.ID, Artist: r.Artist, ArtistID: r.ArtistID, State: string(r.State), Detail: r.Detail,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt,
	}
}

// Callback is what a callback_url receives once a request has settled.
type Callback struct {
	Request RequestStatus `json:"request"`
	// Artist is the stored artist, when the request is stored.
	Artist *ArtistJSON `json:"artist,omitempty"`
}

// ArtistJSON is the serving store's view of an artist as JSON.
type ArtistJSON struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Genres     []string      `json:"genres"`
	Popularity *int          `json:"popularity,omitempty"`
	Followers  *int64        `json:"followers,omitempty"`
	ImageURL   string        `json:"image_url,omitempty"`
	UpdatedAt  time.Time     `json:"updated_at,omitzero"`
	DT         string        `json:"dt"`
	TopTracks  []TrackJSON   `json:"top_tracks,omitempty"`
	Releases   []ReleaseJSON `json:"releases,omitempty"`
	Similar    []SimilarJSON `json:"similar,omitempty"`
}

// TrackJSON is one top track.
type TrackJSON struct {
	Rank       int    `json:"rank"`
	ID         string `json:"id"`
	Name       string `json:"name"`
	Album      string `json:"album,omitempty"`
	Popularity *int   `json:"popularity,omitempty"`
	DurationMS int    `json:"duration_ms,omitempty"`
}

// ReleaseJSON is one of the latest releases.
type ReleaseJSON struct {
	AlbumID     string `json:"album_id"`
	Name        string `json:"name"`
	Type        string `json:"type,omitempty"`
	ReleaseDate string `json:"release_date,omitempty"`
}

// SimilarJSON is one similar artist.
type SimilarJSON struct {
	ArtistID string  `json:"artist_id"`
	Name     string  `json:"name,omitempty"`
	Score    float64 `json:"score"`
}

// ArtistJSONOf is the JSON view of v.
func ArtistJSONOf(v serving.ArtistView) ArtistJSON {
	a := ArtistJSON{
		ID: v.ID, Name: v.Name, Genres: v.Genres, Popularity: v.Popularity, Followers: v.Followers,
		ImageURL: v.ImageURL, UpdatedAt: v.UpdatedAt, DT: v.DT,
	}
	if a.Genres == nil {
		a.Genres = []string{}
	}
	for i, t := range v.TopTracks {
		a.TopTracks = append(a.TopTracks, TrackJSON{Rank: i + 1, ID: t.ID, Name: t.Name, Album: t.Album,
			Popularity: t.Popularity, DurationMS: t.DurationMS})
	}
	for _, r := range v.Releases {
		a.Releases = append(a.Releases, ReleaseJSON{AlbumID: r.AlbumID, Name: r.Name, Type: r.Type, ReleaseDate: r.ReleaseDate})
	}
	for _, s := range v.Similar {
		a.Similar = append(a.Similar, SimilarJSON{ArtistID: s.ArtistID, Name: s.Name, Score: s.Score})
	}
	return a
}
