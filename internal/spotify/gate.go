package spotify

import (
	"context"
	"sync"
	"time"
)

// Defaults of a Gate.
const (
	// DefaultRateWindow is the rolling window over which Spotify counts an
	// app's requests.
	DefaultRateWindow = 30 * time.Second
	// DefaultMaxWait is the longest Retry-After a call waits out in
	// process; a longer one (a quota) is returned to the caller at once.
	DefaultMaxWait = time.Minute
)

const (
	// paceMargin keeps the learned pace this far below the rate that
	// drew the 429, for latency jitter between our clock and Spotify's.
	paceMargin = 0.97
	// After quietWindows windows without a 429 the pace rises by
	// probeStep, so a pace learned while other processes shared the
	// budget does not stay low forever.
	quietWindows = 10
	probeStep    = 1.05
)

// GateOptions configure a Gate.
type GateOptions struct {
	// Window is the server's rolling rate-limit window; default 30s.
	Window time.Duration
	// Rate is the initial pace in requests per second; 0 sends unpaced
	// until the first 429 teaches the gate the app's rate.
	Rate float64
	// MaxWait is the longest Retry-After waited out in process; default
	// one minute.
	MaxWait time.Duration
}

// Gate is the rate-limit state every goroutine of a process shares: each
// request passes it before it is sent. A 429 closes it for the Retry-After,
// so no request is sent while one is in force, and sets its pace just
// under the rate the app had reached, so the 429 does not recur.
type Gate struct {
	mu       sync.Mutex
	opts     GateOptions
	until    time.Time // closed until
	quota    bool      // the closing 429 was a quota
	interval time.Duration
	next     time.Time   // earliest start of the next paced request
	answered []time.Time // send times of requests answered other than 429
	quiet    time.Time   // last 429 or pace probe
	// learnAt is when the first 429 of the current closure arrived; the
	// pace is learned once the gate reopens, when the requests that were
	// in flight then have been answered and counted.
	learnAt time.Time
}

// NewGate returns a gate.
func NewGate(opts GateOptions) *Gate {
	if opts.Window <= 0 {
		opts.Window = DefaultRateWindow
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	g := &Gate{opts: opts}
	g.resetLocked()
	return g
}

var (
	defaultGateOnce sync.Once
	defaultGate     *Gate
)

// DefaultGate is the process-wide gate clients use unless given another:
// Spotify's rate limit is per app, so every client of the process shares it.
func DefaultGate() *Gate {
	defaultGateOnce.Do(func() { defaultGate = NewGate(GateOptions{}) })
	return defaultGate
}

// Reset opens the gate and forgets its pace.
func (g *Gate) Reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.resetLocked()
}

func (g *Gate) resetLocked() {
	g.until, g.quota, g.next, g.answered, g.learnAt = time.Time{}, false, time.Time{}, nil, time.Time{}
	g.interval = 0
	if g.opts.Rate > 0 {
		g.interval = time.Duration(float64(time.Second) / g.opts.Rate)
	}
	g.quiet = time.Now()
}

// Pace returns the requests per second the gate lets through, 0 if
// unpaced.
func (g *Gate) Pace() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.interval == 0 {
		return 0
	}
	return float64(time.Second) / float64(g.interval)
}

// Closed returns how long the gate stays closed and whether a quota closed
// it; 0 when open.
func (g *Gate) Closed() (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if d := time.Until(g.until); d > 0 {
		return d, g.quota
	}
	return 0, false
}

// Wait blocks until a request may be sent and returns the moment it may
// go. When the gate is closed for longer than MaxWait, or than ctx allows,
// it returns at once a retryable *APIError with Status 429 and the
// remaining delay, without waiting.
func (g *Gate) Wait(ctx context.Context) (time.Time, error) {
	for {
		g.mu.Lock()
		now := time.Now()
		if now.Before(g.until) {
			d, quota := g.until.Sub(now), g.quota
			g.mu.Unlock()
			if err := g.tooLong(ctx, now, d, quota); err != nil {
				return time.Time{}, err
			}
			if err := sleepCtx(ctx, d); err != nil {
				return time.Time{}, err
			}
			continue
		}
		g.learnLocked()
		g.probeLocked(now)
		slot := now
		if g.interval > 0 {
			if g.next.After(slot) {
				slot = g.next
			}
			g.next = slot.Add(g.interval)
		}
		g.mu.Unlock()
		if d := slot.Sub(now); d > 0 {
			if err := sleepCtx(ctx, d); err != nil {
				return time.Time{}, err
			}
			// A 429 may have closed the gate meanwhile.
			g.mu.Lock()
			closed := time.Now().Before(g.until)
			g.mu.Unlock()
			if closed {
				continue
			}
		}
		return slot, nil
	}
}

func (g *Gate) tooLong(ctx context.Context, now time.Time, d time.Duration, quota bool) error {
	deadline, has := ctx.Deadline()
	if quota || d > g.opts.MaxWait || (has && deadline.Before(now.Add(d))) {
		return &APIError{
			Status: 429, Message: "not sent: a Retry-After is in force",
			RetryAfter: d, Quota: quota, Retryable: true,
		}
	}
	return nil
}

// probeLocked raises the pace a little after a long quiet spell.
func (g *Gate) probeLocked(now time.Time) {
	if g.interval == 0 || now.Sub(g.quiet) < quietWindows*g.opts.Window {
		return
	}
	g.interval = time.Duration(float64(g.interval) / probeStep)
	g.quiet = now
}

// answer records that a request sent at sentAt was answered by anything
// but a 429: the server counted it in its window.
func (g *Gate) answer(sentAt time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answered = append(g.answered, sentAt)
	g.pruneLocked(time.Now())
}

func (g *Gate) pruneLocked(now time.Time) {
	cut := now.Add(-g.opts.Window)
	if !g.learnAt.IsZero() {
		cut = g.learnAt.Add(-g.opts.Window)
	}
	drop := 0
	for drop < len(g.answered) && !g.answered[drop].After(cut) {
		drop++
	}
	g.answered = g.answered[drop:]
}

// block closes the gate for a 429's Retry-After.
func (g *Gate) block(retryAfter time.Duration, quota bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if until := now.Add(retryAfter); until.After(g.until) {
		g.until = until
		g.quota = quota
	}
	g.next = g.until
	g.quiet = now
	if !quota && g.learnAt.IsZero() {
		g.learnAt = now
	}
}

// learnLocked sets the pace just under the rate answered in the window
// before the 429: that many requests per window is what the app may send.
// A quota says nothing about the window, so only window 429s teach.
func (g *Gate) learnLocked() {
	if g.learnAt.IsZero() {
		return
	}
	// Answers complete out of send order, so count rather than trust the
	// pruned length.
	n, from := 0, g.learnAt.Add(-g.opts.Window)
	for _, at := range g.answered {
		if at.After(from) && !at.After(g.learnAt) {
			n++
		}
	}
	g.learnAt = time.Time{}
	if n > 0 {
		iv := time.Duration(float64(g.opts.Window) / (paceMargin * float64(n)))
		if iv > g.interval {
			g.interval = iv
		}
	}
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
