package contract

import "time"

// Error types of the activities' application errors, named in retry
// policies and visible in the Web UI.
const (
	ErrBadInput       = "BadInput"
	ErrBadCredentials = "BadCredentials"
	ErrNotFound       = "NotFound"
	ErrDataQuality    = "DataQualityError"
	// ErrRateLimited is retryable; its NextRetryDelay is Spotify's
	// Retry-After.
	ErrRateLimited = "RateLimited"
	// ErrQuotaExceeded is a quota 429: the run waits durably (Spotify's
	// Retry-After, or spotify.quota_wait), outside the retry budget; its
	// details are a QuotaWait.
	ErrQuotaExceeded = "QuotaExceeded"
	// ErrAppRefused: Spotify refuses the app on every endpoint, as it does
	// a development-mode app whose owner's Premium subscription lapsed.
	ErrAppRefused = "SpotifyAppRefused"
	// ErrSpotifyUnavailable is a 5xx or other retryable Spotify failure.
	ErrSpotifyUnavailable = "SpotifyUnavailable"
	// ErrPipelineFailed is the error type of a RunPipeline whose pipeline-D
	// failed, was cancelled or was terminated. It does not retry: a retry
	// would start pipeline-D again.
	ErrPipelineFailed = "PipelineFailed"
)

// QuotaWait is the detail of a QuotaExceeded error: what the worker knows
// of how long the quota is gone.
type QuotaWait struct {
	// RetryAfter is Spotify's Retry-After; 0 when the 429 had none.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// QuotaWait is the worker's spotify.quota_wait, the first wait when
	// there is no Retry-After; 0 from a worker that does not know it.
	QuotaWait time.Duration `json:"quota_wait,omitempty"`
}

// First is the wait the worker expects: the Retry-After when Spotify gave
// one, else the configured quota wait (0 when neither is known).
func (w QuotaWait) First() time.Duration {
	if w.RetryAfter > 0 {
		return w.RetryAfter
	}
	return w.QuotaWait
}
