package spotify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// A quota 429 ("reason":"QUOTA_EXCEEDED") is classified as a quota, with
// Spotify's Retry-After or without one, and returned at once: no attempt in
// process, so the caller (the workflow) decides how long to wait.
func TestQuota429IsClassified(t *testing.T) {
	for _, tt := range []struct {
		name         string
		noRetryAfter bool
		wantAfter    time.Duration
	}{
		{"with Retry-After", false, time.Hour},
		{"without Retry-After", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, spotifyfake.Options{Artists: 10, QuotaOutage: spotifyfake.QuotaOutage{
				After: 1, For: time.Hour, NoRetryAfter: tt.noRetryAfter}})
			c := newTestClient(t, f.url, func(o *Options) { o.MaxAttempts = 5 })
			id := f.artistIDs(1)[0]
			_, err := c.GetArtistRaw(context.Background(), id)
			require.NoError(t, err)

			_, err = c.GetArtistRaw(context.Background(), id)
			e := asAPIError(err)
			require.NotNil(t, e, "%v", err)
			require.Equal(t, 429, e.Status)
			require.True(t, e.Quota, "a quota, not the rolling window")
			require.True(t, e.Retryable)
			require.Equal(t, tt.wantAfter, e.RetryAfter)
			require.Equal(t, 1, f.srv.Stats().QuotaExceeded, "no retry in process")
			require.Contains(t, err.Error(), "quota")
		})
	}
}
