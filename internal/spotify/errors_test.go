package spotify

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAPIErrorMessage(t *testing.T) {
	tests := []struct {
		err  *APIError
		want string
	}{
		{&APIError{Endpoint: "artist", Status: 404, Message: "non existing id"}, "spotify artist: HTTP 404: non existing id"},
		{&APIError{Endpoint: "artists", Status: 429, Message: "API rate limit exceeded", RetryAfter: 3 * time.Second, Retryable: true},
			"spotify artists: HTTP 429: API rate limit exceeded (rate limit, retry after 3s)"},
		{&APIError{Endpoint: "album", Status: 429, Message: "API rate limit exceeded", RetryAfter: 5 * time.Hour, Quota: true},
			"spotify album: HTTP 429: API rate limit exceeded (quota, retry after 5h0m0s)"},
		{&APIError{Endpoint: "search", Status: 429, Message: "API rate limit exceeded", Quota: true},
			"spotify search: HTTP 429: API rate limit exceeded (quota, no Retry-After)"},
		{&APIError{Endpoint: "top_tracks", Message: "no answer within 1s (timeout)", Retryable: true},
			"spotify top_tracks: no answer within 1s (timeout)"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.err.Error())
	}
}

func TestErrorHelpersSeeThroughWrapping(t *testing.T) {
	rate := &APIError{Status: 429, RetryAfter: 2 * time.Second, Retryable: true}
	wrapped := fmt.Errorf("collect batch 3: %w", &url.Error{Op: "Get", URL: "http://x", Err: rate})
	tests := []struct {
		name      string
		err       error
		retryable bool
		after     time.Duration
	}{
		{"429 wrapped twice", wrapped, true, 2 * time.Second},
		{"5xx", &APIError{Status: 503, Retryable: true}, true, 0},
		{"404", &APIError{Status: 404}, false, 0},
		{"plain error", errors.New("boom"), false, 0},
		{"nil", nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.retryable, IsRetryable(tt.err))
			d, ok := RetryAfter(tt.err)
			require.Equal(t, tt.after, d)
			require.Equal(t, tt.after > 0, ok)
		})
	}
}
