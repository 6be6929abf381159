package botapi

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"github.com/metronome-data/metronome/internal/serving"
)

var spotifyIDPattern = regexp.MustCompile(`^[0-9A-Za-z]{22}$`)

// ParseArtist reads what someone asked for: a Spotify artist ID, URI
// (spotify:artist:ID) or link (https://open.spotify.com/artist/ID, also
// as Slack escapes it, <https://…|label>), or else an artist name. It
// returns the ID and true, or the trimmed name and false.
func ParseArtist(text string) (string, bool) {
	s := strings.TrimSpace(text)
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		inner := s[1 : len(s)-1]
		if i := strings.IndexByte(inner, '|'); i >= 0 {
			inner = inner[:i]
		}
		if id, ok := spotifyLinkID(inner); ok {
			return id, true
		}
	}
	if id, ok := strings.CutPrefix(s, "spotify:artist:"); ok && spotifyIDPattern.MatchString(id) {
		return id, true
	}
	if id, ok := spotifyLinkID(s); ok {
		return id, true
	}
	if spotifyIDPattern.MatchString(s) {
		return s, true
	}
	return strings.Join(strings.Fields(s), " "), false
}

// spotifyLinkID returns the artist ID of an open.spotify.com artist link,
// with or without a locale segment (/intl-de/artist/ID) and query.
func spotifyLinkID(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host != "open.spotify.com" {
		return "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "intl-") {
		parts = parts[1:]
	}
	if len(parts) != 2 || parts[0] != "artist" || !spotifyIDPattern.MatchString(parts[1]) {
		return "", false
	}
	return parts[1], true
}

// lookup finds what the store knows of an artist: by ID when artist is
// one, else (or when the ID is not stored) through the name cache.
// findArtist is lookup in h's store, bounded by ctx's deadline even when
// the store ignores ctx.
func (h *handler) findArtist(ctx context.Context, artist string, isID bool) (serving.ArtistView, bool, error) {
	var view serving.ArtistView
	var found bool
	err := call(ctx, func(ctx context.Context) (err error) {
		view, found, err = lookup(ctx, h.o.Store, artist, isID)
		return err
	})
	if err != nil {
		// The lookup may still be running: its results are not read.
		return serving.ArtistView{}, false, err
	}
	return view, found, nil
}

func lookup(ctx context.Context, s Store, artist string, isID bool) (serving.ArtistView, bool, error) {
	if isID {
		v, ok, err := s.Artist(ctx, artist)
		if err != nil || ok {
			return v, ok, err
		}
	}
	return s.ArtistByName(ctx, artist)
}
