package app

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/metronome-data/metronome/internal/metrics"
)

// meteredTransport counts every Spotify response by endpoint and status,
// and the back-off a 429 asks for.
type meteredTransport struct {
	next    http.RoundTripper
	metrics *metrics.Pipeline
}

func (t meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	endpoint := spotifyEndpoint(req)
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.metrics.RecordSpotifyCall(endpoint, 0)
		return nil, err
	}
	t.metrics.RecordSpotifyCall(endpoint, resp.StatusCode)
	if resp.StatusCode == http.StatusTooManyRequests {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			t.metrics.RecordBackoff(time.Duration(s) * time.Second)
		}
	}
	return resp, nil
}

// spotifyEndpoint names the Web API endpoint of a request with the names
// the collector uses (artists, artist, top_tracks, …), so metric labels stay
// few whatever the IDs.
func spotifyEndpoint(req *http.Request) string {
	path := strings.Trim(req.URL.Path, "/")
	if i := strings.Index(path, "v1/"); i >= 0 {
		path = path[i+3:]
	}
	parts := strings.Split(path, "/")
	switch {
	case strings.HasSuffix(path, "api/token"):
		return "token"
	case len(parts) == 1 && parts[0] == "audio-features":
		return "audio_features"
	case len(parts) == 1:
		return parts[0] // search, artists, albums, tracks
	case len(parts) == 2:
		return strings.TrimSuffix(parts[0], "s") // artist, album, track
	case parts[0] == "artists" && parts[2] == "top-tracks":
		return "top_tracks"
	case parts[0] == "artists" && parts[2] == "albums":
		return "artist_albums"
	case parts[0] == "artists" && parts[2] == "related-artists":
		return "related_artists"
	case parts[0] == "albums" && parts[2] == "tracks":
		return "album_tracks"
	}
	return "other"
}
