package spotify

import (
	"context"
	"fmt"
	"net/http"

	zspotify "github.com/zmb3/spotify/v2"
)

// servedInEveryMode are the endpoints Spotify serves extended-quota and
// development-mode apps alike. A 403 from one of them cannot mean "your
// mode lacks this": it means the app is refused (AppRefusedError).
var servedInEveryMode = map[string]bool{
	EndpointSearch:       true,
	EndpointArtist:       true,
	EndpointArtistAlbums: true,
	EndpointAlbum:        true,
	EndpointAlbumTracks:  true,
}

// refused turns a 403 of an endpoint every mode serves into an
// AppRefusedError; any other error is returned as it is.
func refused(endpoint string, e *APIError) error {
	if e.Status == http.StatusForbidden && servedInEveryMode[endpoint] {
		return &AppRefusedError{Err: e}
	}
	return e
}

// batchRefused explains a 403 of the ?ids= batch endpoint in extended mode.
// A development-mode app gets it, and so does an app Spotify refuses
// altogether; one call to the single-artist endpoint, which both modes
// serve, tells them apart instead of guessing.
func (b *batch) batchRefused(ctx context.Context, batchErr error) error {
	_, err := b.call(ctx, -1, EndpointArtist, func(ctx context.Context) error {
		_, err := b.c.api.GetArtist(ctx, zspotify.ID(b.ids[0]))
		return err
	})
	if IsAppRefused(err) {
		return err
	}
	return fmt.Errorf("extended mode, but the ?ids= batch endpoint is refused while single-artist calls are not: "+
		"a development-mode app; set spotify.api_mode to auto or development: %w", batchErr)
}
