package spotifyfake

import (
	"fmt"
	"net/http"
	"time"
)

// QuotaOutage runs the app's quota out for a while, as the per-account
// quota of development mode does (since 2026-07 shared by every app of the
// developer's account, so another app can spend it): after After admitted
// API requests, every request is answered 429 with "reason":
// "QUOTA_EXCEEDED" for For, then the quota is back. It happens once.
type QuotaOutage struct {
	// After is how many API requests are admitted before the quota runs
	// out; 0 disables the outage.
	After int
	// For is how long the quota stays exhausted.
	For time.Duration
	// NoRetryAfter answers the quota 429s without a Retry-After header,
	// as Spotify may; otherwise Retry-After is the rest of the outage.
	NoRetryAfter bool
}

func (q QuotaOutage) validate() error {
	if q.After < 0 {
		return fmt.Errorf("quota outage after %d requests: must not be negative", q.After)
	}
	if q.After > 0 && q.For <= 0 {
		return fmt.Errorf("quota outage after %d requests for %v: give a positive duration", q.After, q.For)
	}
	return nil
}

// outage is the state of a QuotaOutage.
type outage struct {
	admitted int
	// from, until bound the outage once it has begun.
	from, until time.Time
}

// outageRefusesLocked reports whether the outage refuses a request arriving at
// now, and the Retry-After to answer with (0: none).
func (s *Server) outageRefusesLocked(now time.Time) (time.Duration, bool) {
	q := s.opts.QuotaOutage
	if q.After <= 0 {
		return 0, false
	}
	o := &s.outage
	if o.from.IsZero() {
		if o.admitted < q.After {
			return 0, false
		}
		o.from, o.until = now, now.Add(q.For)
	}
	if !now.Before(o.until) {
		return 0, false
	}
	if q.NoRetryAfter {
		return 0, true
	}
	return ceilSecond(o.until.Sub(now)), true
}

// quotaExceeded is Spotify's answer over a quota.
func quotaExceeded(retryAfter time.Duration) response {
	resp := jsonResponse(http.StatusTooManyRequests, errorObject{Error: errorBody{
		Status: http.StatusTooManyRequests, Message: "API rate limit exceeded", Reason: "QUOTA_EXCEEDED",
	}})
	resp.retryAfter = retryAfter
	return resp
}

// appRefusedMessage is what Spotify answers, as plain text rather than its
// JSON error object, on every endpoint to a development-mode app whose
// owner has no active Premium subscription.
const appRefusedMessage = "Active premium subscription required for the owner of the app. " +
	"When the subscription status changes, it can take a few hours before requests are allowed again."

func appRefused() response {
	return response{status: http.StatusForbidden, body: []byte(appRefusedMessage), contentType: "text/plain; charset=utf-8"}
}
