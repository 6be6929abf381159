package activities

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/spotify"
)

// Spotify's errors become Temporal errors that retry when waiting can help,
// after the delay Spotify asked for, and fail at once when it cannot.
func TestSpotifyErrorClassification(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		wantType     string
		nonRetryable bool
		wantDelay    time.Duration
	}{
		{"rolling window 429", &spotify.APIError{Status: 429, RetryAfter: 7 * time.Second, Retryable: true}, contract.ErrRateLimited, false, 7 * time.Second},
		{"quota 429 waits hours", &spotify.APIError{Status: 429, RetryAfter: 3 * time.Hour, Quota: true, Retryable: true}, contract.ErrQuotaExceeded, false, 3 * time.Hour},
		{"5xx", &spotify.APIError{Status: 503, Retryable: true}, "SpotifyUnavailable", false, 0},
		{"timeout", &spotify.APIError{Status: 0, Retryable: true}, "SpotifyUnavailable", false, 0},
		{"bad credentials", &spotify.APIError{Status: 401}, contract.ErrBadCredentials, true, 0},
		{"unknown ID", &spotify.APIError{Status: 404}, contract.ErrNotFound, true, 0},
		{"bad request", &spotify.APIError{Status: 400}, contract.ErrBadInput, true, 0},
		{"forbidden", &spotify.APIError{Status: 403}, contract.ErrBadInput, true, 0},
		{"refused on every endpoint", &spotify.AppRefusedError{Err: &spotify.APIError{Endpoint: "artist", Status: 403}}, contract.ErrAppRefused, true, 0},
	}
	a := &Activities{Settings: Settings{QuotaWait: time.Hour}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.spotifyError("collect batch 3", fmt.Errorf("wrapped: %w", tt.err))
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "got %T %v", err, err)
			require.Equal(t, tt.wantType, appErr.Type())
			require.Equal(t, tt.nonRetryable, appErr.NonRetryable())
			require.Equal(t, tt.wantDelay, appErr.NextRetryDelay())
			require.Contains(t, err.Error(), "collect batch 3")
		})
	}

	// Errors without a Spotify answer stay plain errors, which retry.
	plain := a.spotifyError("probe", errors.New("connection reset"))
	var appErr *temporal.ApplicationError
	require.False(t, errors.As(plain, &appErr))
	require.ErrorIs(t, a.spotifyError("probe", context.Canceled), context.Canceled)
}

// A quota 429 carries what the worker knows of the wait to the workflow:
// Spotify's Retry-After, or none and the configured spotify.quota_wait.
func TestQuotaExceededCarriesTheWait(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		want       contract.QuotaWait
		first      time.Duration
	}{
		{"with Retry-After", 3 * time.Hour, contract.QuotaWait{RetryAfter: 3 * time.Hour, QuotaWait: 20 * time.Minute}, 3 * time.Hour},
		{"without Retry-After", 0, contract.QuotaWait{QuotaWait: 20 * time.Minute}, 20 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Activities{Settings: Settings{QuotaWait: 20 * time.Minute}}
			err := a.spotifyError("search artist \"x\"", &spotify.APIError{Status: 429, RetryAfter: tt.retryAfter, Quota: true, Retryable: true})
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr))
			require.Equal(t, contract.ErrQuotaExceeded, appErr.Type())
			require.False(t, appErr.NonRetryable(), "retryable for runs recorded before quota waits; new runs list the type as non-retryable")
			var got contract.QuotaWait
			require.NoError(t, appErr.Details(&got))
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.first, got.First())
			require.Contains(t, err.Error(), "quota")
		})
	}
}
