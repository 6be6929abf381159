package spotify

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIError is a failed Spotify call, classified for retries: 429s, 5xx,
// timeouts, dropped connections and malformed bodies are Retryable; 400,
// 401 (after one token refresh), 403 and 404 are not.
type APIError struct {
	// Endpoint is the call that failed, e.g. "artists", "top_tracks",
	// "token".
	Endpoint string
	// Status is the HTTP status; 0 when no answer came (timeout,
	// connection error).
	Status int
	// Message is Spotify's error message or what went wrong.
	Message string
	// RetryAfter is the delay a 429 asked for; 0 otherwise.
	RetryAfter time.Duration
	// Quota marks a 429 of a quota ("reason":"QUOTA_EXCEEDED"), whose
	// Retry-After is hours or absent, as opposed to the rolling window.
	Quota bool
	// Retryable says whether the same call may succeed later.
	Retryable bool
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("spotify ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d: ", e.Status)
	}
	b.WriteString(e.Message)
	if e.Status == 429 {
		kind := "rate limit"
		if e.Quota {
			kind = "quota"
		}
		if e.RetryAfter > 0 {
			fmt.Fprintf(&b, " (%s, retry after %v)", kind, e.RetryAfter)
		} else {
			fmt.Fprintf(&b, " (%s, no Retry-After)", kind)
		}
	}
	return b.String()
}

// IsRetryable reports whether err is an *APIError worth retrying.
func IsRetryable(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Retryable
}

// RetryAfter returns the delay a 429 asked for, if err carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var e *APIError
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

func asAPIError(err error) *APIError {
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// badRequest is an error for input refused before any request is sent.
func badRequest(endpoint, format string, args ...any) *APIError {
	return &APIError{Endpoint: endpoint, Status: 400, Message: fmt.Sprintf(format, args...)}
}

// AppRefusedError is a 403 from an endpoint that Spotify serves in both API
// modes (search, a single artist, its albums, an album): Spotify refuses the
// app itself, not an endpoint its mode lacks. That is what a development-mode
// app gets once its owner's Premium subscription lapses, on every endpoint,
// with a plain-text body. No retry and no API mode helps.
type AppRefusedError struct {
	Err *APIError
}

// Error implements error. The message says what to do, since a user sees it.
func (e *AppRefusedError) Error() string {
	return fmt.Sprintf("Spotify refuses this app on every endpoint (%v): a development-mode app is served "+
		"only while its owner has an active Spotify Premium subscription; renew it (Spotify may take a few "+
		"hours to let requests through again) or use an app with extended quota", e.Err)
}

// Unwrap returns the 403 itself.
func (e *AppRefusedError) Unwrap() error { return e.Err }

// IsAppRefused reports whether err says Spotify refuses the app on every
// endpoint.
func IsAppRefused(err error) bool {
	var e *AppRefusedError
	return errors.As(err, &e)
}
