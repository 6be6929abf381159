package spotifyfake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Faults makes a seeded fraction of API responses fail the ways real
// servers and networks do. Fractions are of /v1 requests that pass
// authentication and the rate limiter; together they are at most 1.
type Faults struct {
	ServerError float64 // answered 500, 502 or 503
	// RateLimited is answered 429 with a Retry-After of RetryAfter, as
	// Spotify answers over its limit, whatever the rolling window holds;
	// like a window 429 it is not counted in the window or the quota.
	RateLimited float64
	RetryAfter  time.Duration // default 1s; whole seconds, rounded up
	Slow        float64       // answered only after SlowDelay
	SlowDelay   time.Duration // default 30s: longer than any sane client timeout
	Truncated   float64       // a 200 whose JSON body is cut short
	Malformed   float64       // a 200 whose body is not JSON
	Seed        int64         // seeds the choice of requests; default the catalog seed
}

// DefaultSlowDelay is how long a slow fault holds its response.
const DefaultSlowDelay = 30 * time.Second

// DefaultRetryAfter is the Retry-After of a rate-limited fault: the least
// Spotify asks for.
const DefaultRetryAfter = time.Second

// Enabled reports whether any fault is injected.
func (f Faults) Enabled() bool {
	return f.ServerError+f.RateLimited+f.Slow+f.Truncated+f.Malformed > 0
}

func (f Faults) validate() error {
	for _, x := range []struct {
		name string
		v    float64
	}{{"5xx", f.ServerError}, {"429", f.RateLimited}, {"slow", f.Slow}, {"truncated", f.Truncated}, {"malformed", f.Malformed}} {
		if x.v < 0 || x.v > 1 {
			return fmt.Errorf("fault fraction %s=%v: must be between 0 and 1", x.name, x.v)
		}
	}
	if sum := f.ServerError + f.RateLimited + f.Slow + f.Truncated + f.Malformed; sum > 1 {
		return fmt.Errorf("fault fractions sum to %v: must be at most 1", sum)
	}
	if f.SlowDelay < 0 {
		return fmt.Errorf("fault slow_delay=%v: must not be negative", f.SlowDelay)
	}
	if f.RetryAfter < 0 {
		return fmt.Errorf("fault retry_after=%v: must not be negative", f.RetryAfter)
	}
	return nil
}

// ParseFaults parses a fault spec: comma-separated key=value pairs with
// keys 5xx, 429, slow, truncated, malformed (fractions of requests),
// slow_delay and retry_after (durations; retry_after, the Retry-After of
// the 429s, is whole seconds, rounded up, default 1s) and seed, e.g.
// "5xx=0.02,429=0.05,slow=0.01,truncated=0.01,malformed=0.01,slow_delay=5s,
// retry_after=2s". An empty spec or "none" injects nothing.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "none" {
		return f, nil
	}
	for _, part := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Faults{}, fmt.Errorf("fault spec %q: %q is not key=value", spec, part)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		var frac *float64
		switch key {
		case "5xx":
			frac = &f.ServerError
		case "429":
			frac = &f.RateLimited
		case "slow":
			frac = &f.Slow
		case "truncated", "truncate":
			frac = &f.Truncated
		case "malformed":
			frac = &f.Malformed
		case "slow_delay", "slow-delay":
			d, err := time.ParseDuration(val)
			if err != nil {
				return Faults{}, fmt.Errorf("fault spec %q: slow_delay %q: %w", spec, val, err)
			}
			f.SlowDelay = d
		case "retry_after", "retry-after":
			d, err := time.ParseDuration(val)
			if err != nil {
				return Faults{}, fmt.Errorf("fault spec %q: retry_after %q: %w", spec, val, err)
			}
			f.RetryAfter = d
		case "seed":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return Faults{}, fmt.Errorf("fault spec %q: seed %q: %w", spec, val, err)
			}
			f.Seed = n
		default:
			return Faults{}, fmt.Errorf("fault spec %q: unknown key %q (want 5xx, 429, slow, truncated, malformed, slow_delay, retry_after or seed)", spec, key)
		}
		if frac != nil {
			v, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return Faults{}, fmt.Errorf("fault spec %q: %s=%q is not a number: %w", spec, key, val, err)
			}
			*frac = v
		}
	}
	if err := f.validate(); err != nil {
		return Faults{}, fmt.Errorf("fault spec %q: %w", spec, err)
	}
	return f, nil
}

type faultKind int

const (
	faultNone faultKind = iota
	faultServerError
	faultRateLimited
	faultSlow
	faultTruncated
	faultMalformed
)

func (k faultKind) String() string {
	return [...]string{"none", "5xx", "429", "slow", "truncated", "malformed"}[k]
}

// choose picks the fault of one request from a uniform draw u in [0, 1).
func (f Faults) choose(u float64) faultKind {
	for _, x := range []struct {
		k faultKind
		p float64
	}{{faultServerError, f.ServerError}, {faultRateLimited, f.RateLimited}, {faultSlow, f.Slow}, {faultTruncated, f.Truncated}, {faultMalformed, f.Malformed}} {
		if u < x.p {
			return x.k
		}
		u -= x.p
	}
	return faultNone
}
