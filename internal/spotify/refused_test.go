package spotify

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// An app Spotify refuses on every endpoint (a development-mode app whose
// owner's Premium lapsed) is reported as that, in either configured mode,
// by the first call an endpoint of both modes answers: never as a
// development-mode app, never as bad input.
func TestAppRefusedOnEveryEndpoint(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 10, Mode: spotifyfake.ModeDevelopment, RefuseApp: true})
	c := newTestClient(t, f.url)
	ctx := context.Background()
	ids := f.artistIDs(3)
	calls := func(do func() error) (int, error) {
		before := f.srv.Stats().APICalls()
		err := do()
		return f.srv.Stats().APICalls() - before, err
	}

	tests := []struct {
		name      string
		do        func() error
		wantCalls int
	}{
		{"search", func() error { _, err := c.ResolveArtist(ctx, ModeDevelopment, "Some Name"); return err }, 1},
		{"one artist", func() error { _, err := c.GetArtistRaw(ctx, ids[0]); return err }, 1},
		{"development batch", func() error {
			_, err := c.CollectBatch(ctx, BatchRequest{Mode: ModeDevelopment, ArtistIDs: ids})
			return err
		}, 3},
		// The ?ids= endpoint refuses development-mode apps too: one
		// single-artist call tells the two apart.
		{"extended batch", func() error {
			_, err := c.CollectBatch(ctx, BatchRequest{Mode: ModeExtended, ArtistIDs: ids})
			return err
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := calls(tt.do)
			require.True(t, IsAppRefused(err), "%v", err)
			require.ErrorContains(t, err, "refuses this app on every endpoint")
			require.ErrorContains(t, err, "Premium")
			e := asAPIError(err)
			require.NotNil(t, e)
			require.Equal(t, http.StatusForbidden, e.Status)
			require.False(t, IsRetryable(err))
			require.LessOrEqual(t, n, tt.wantCalls)
		})
	}
}

// A development-mode app asked for extended mode is told so, not refused.
func TestDevelopmentAppIsNotRefused(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 10, Mode: spotifyfake.ModeDevelopment})
	c := newTestClient(t, f.url)
	_, err := c.CollectBatch(context.Background(), BatchRequest{Mode: ModeExtended, ArtistIDs: f.artistIDs(3)})
	require.Error(t, err)
	require.False(t, IsAppRefused(err), "%v", err)
	require.ErrorContains(t, err, "development-mode app; set spotify.api_mode")
	mode, err := c.ProbeMode(context.Background())
	require.NoError(t, err)
	require.Equal(t, ModeDevelopment, mode)
}
