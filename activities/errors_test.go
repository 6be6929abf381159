package activities

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

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
		{"rolling window 429", &spotify.APIError{Status: 429, RetryAfter: 7 * time.Second, Retryable: true}, ErrRateLimited, false, 7 * time.Second},
		{"quota 429 waits hours", &spotify.APIError{Status: 429, RetryAfter: 3 * time.Hour, Quota: true, Retryable: true}, ErrQuotaExceeded, false, 3 * time.Hour},
		{"5xx", &spotify.APIError{Status: 503, Retryable: true}, "SpotifyUnavailable", false, 0},
		{"timeout", &spotify.APIError{Status: 0, Retryable: true}, "SpotifyUnavailable", false, 0},
		{"bad credentials", &spotify.APIError{Status: 401}, ErrBadCredentials, true, 0},
		{"unknown ID", &spotify.APIError{Status: 404}, ErrNotFound, true, 0},
		{"bad request", &spotify.APIError{Status: 400}, ErrBadInput, true, 0},
		{"forbidden", &spotify.APIError{Status: 403}, ErrBadInput, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := spotifyError("collect batch 3", fmt.Errorf("wrapped: %w", tt.err))
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "got %T %v", err, err)
			require.Equal(t, tt.wantType, appErr.Type())
			require.Equal(t, tt.nonRetryable, appErr.NonRetryable())
			require.Equal(t, tt.wantDelay, appErr.NextRetryDelay())
			require.Contains(t, err.Error(), "collect batch 3")
		})
	}

	// Errors without a Spotify answer stay plain errors, which retry.
	plain := spotifyError("probe", errors.New("connection reset"))
	var appErr *temporal.ApplicationError
	require.False(t, errors.As(plain, &appErr))
	require.ErrorIs(t, spotifyError("probe", context.Canceled), context.Canceled)
}
