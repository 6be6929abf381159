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
	// After quietWindows windows without a lesson (a 429 that set the
	// pace; see learnLocked) the pace rises by probeStep, so a pace
	// learned while other processes shared the budget does not stay low
	// forever.
	quietWindows = 10
	probeStep    = 1.05
	// persistentShare of a window's answers being 429s makes them a
	// lesson however few requests drew them (see learnLocked).
	persistentShare = 0.2
	// inFlightEvidence requests in flight with a 429, answered the same
	// way, tell a full window from a sparse 429 (see learnLocked).
	inFlightEvidence = 2
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
// request passes it before it is sent. Every 429 closes it for the
// Retry-After, so no request is sent while one is in force; a 429 of the
// rolling window also sets its pace just under the rate the app had
// reached, so the 429 does not recur (see learnLocked).
type Gate struct {
	mu       sync.Mutex
	opts     GateOptions
	until    time.Time // closed until
	quota    bool      // the closing 429 was a quota
	interval time.Duration
	// budget is the number of requests answered in the window before the
	// 429 the pace was last learned from; 0 before the first lesson.
	budget   int
	next     time.Time   // earliest start of the next paced request
	answered []time.Time // send times of requests answered other than 429
	limited  []time.Time // arrival times of 429s other than quotas
	quiet    time.Time   // last lesson or pace probe
	// learnAt is when the first 429 of the current closure arrived; the
	// pace is learned once the gate reopens, when the requests that were
	// in flight then have been answered and counted. Of those, served
	// were answered otherwise and refused were answered 429 too.
	learnAt         time.Time
	served, refused int
	// inFlight is the number of requests sent and not yet answered;
	// busyAt is the last time more than inFlightEvidence were.
	inFlight int
	busyAt   time.Time
	// capInterval is the least time between two requests that the
	// process's share of spotify.requests_per_second allows (0: no cap),
	// and heldUntil the moment before which no request may be sent while
	// the share is not yet known; see gate_share.go. The learned interval
	// never goes below capInterval.
	capInterval time.Duration
	heldUntil   time.Time
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
	g.until, g.quota, g.next, g.answered, g.limited = time.Time{}, false, time.Time{}, nil, nil
	g.learnAt, g.served, g.refused = time.Time{}, 0, 0
	g.busyAt = time.Time{}
	g.interval, g.budget = 0, 0
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
	iv := g.paceLocked()
	if iv == 0 {
		return 0
	}
	return float64(time.Second) / float64(iv)
}

// paceLocked is the time between two requests: the learned pace or the
// cap, whichever is slower.
func (g *Gate) paceLocked() time.Duration {
	return max(g.interval, g.capInterval)
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
		if now.Before(g.heldUntil) {
			// Hold may move heldUntil earlier at any time (a worker holds
			// its gate "until further notice", then for a few seconds), so
			// a held request looks again every holdRecheck.
			d := min(g.heldUntil.Sub(now), holdRecheck)
			g.mu.Unlock()
			if err := sleepCtx(ctx, d); err != nil {
				return time.Time{}, err
			}
			continue
		}
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
		g.learnLocked(now)
		g.probeLocked(now)
		slot := now
		if iv := g.paceLocked(); iv > 0 {
			if g.next.After(slot) {
				slot = g.next
			}
			g.next = slot.Add(iv)
		}
		g.mu.Unlock()
		if d := slot.Sub(now); d > 0 {
			if err := sleepCtx(ctx, d); err != nil {
				return time.Time{}, err
			}
			// A 429 may have closed the gate meanwhile.
			g.mu.Lock()
			closed := time.Now().Before(g.until) || time.Now().Before(g.heldUntil)
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
	if g.interval <= g.capInterval || now.Sub(g.quiet) < quietWindows*g.opts.Window {
		// No learned pace, or the cap is slower anyway: nothing to probe.
		return
	}
	g.interval = time.Duration(float64(g.interval) / probeStep)
	g.quiet = now
}

// sending records that a request that passed the gate is on its way; sent,
// that it came back, however it ended. Together they tell whether the app
// sends enough requests at once that a 429 comes with others in flight.
func (g *Gate) sending() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight++
	if g.inFlight > inFlightEvidence {
		g.busyAt = time.Now()
	}
}

func (g *Gate) sent() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
}

// answer records that a request sent at sentAt was answered by anything
// but a 429: the server counted it in its window.
func (g *Gate) answer(sentAt time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answered = append(g.answered, sentAt)
	if !g.learnAt.IsZero() && !sentAt.After(g.learnAt) {
		g.served++
	}
	g.pruneLocked(time.Now())
}

func (g *Gate) pruneLocked(now time.Time) {
	cut := now.Add(-g.opts.Window)
	if !g.learnAt.IsZero() {
		cut = g.learnAt.Add(-g.opts.Window)
	}
	g.answered = pruneTimes(g.answered, cut)
	g.limited = pruneTimes(g.limited, cut)
}

// pruneTimes drops the leading times not after cut.
func pruneTimes(times []time.Time, cut time.Time) []time.Time {
	drop := 0
	for drop < len(times) && !times[drop].After(cut) {
		drop++
	}
	return times[drop:]
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
	if quota {
		return
	}
	g.limited = append(g.limited, now)
	if g.learnAt.IsZero() {
		g.learnAt = now
	} else {
		g.refused++
	}
	g.pruneLocked(now)
}

// learnLocked sets the pace just under the rate answered in the window
// before a 429 of the rolling window: that many requests per window (the
// budget) is what the app may send. A quota says nothing about the window,
// so only other 429s teach, and not all of them.
//
// A server may also answer 429 now and then whatever the window holds
// (Spotify documents a rolling 30 s window, not how exactly it counts; the
// fake's 429 fault does it on purpose). Learning from such a sparse 429 would set the pace
// under the rate the app happened to reach, which the learned pace itself
// holds down: every sparse 429 would cut the pace by paceMargin again and
// a steady trickle of them would slow the app to a crawl. So a 429 teaches
// only when the window can explain it:
//
//   - before the first lesson (budget 0), unless inFlightEvidence or more
//     of the requests that were in flight with it were answered, more than
//     were refused: a full window refuses them all, so a 429 among answers
//     is sparse. With fewer answered there is too little to tell by: the
//     429 teaches if the app never had more than inFlightEvidence requests
//     in flight in the window (it sends one or two at a time, so its 429s
//     never come with evidence), and does not if it had (it is winding
//     down, at the end of a batch, and the 429 is most likely sparse: a
//     lesson then would pin the pace to the few requests of the window);
//   - when the app had more answered in the window than its learned pace
//     sends in one (paceMargin × budget, +1 for where the window's edges
//     fall), or the whole budget: it went faster than the pace (a probe)
//     and filled the window. Such a lesson cannot lower the pace below
//     paceMargin × the budget it reached, so it does not compound;
//   - when inFlightEvidence or more of the requests in flight with it were
//     refused too, more than were answered: the window is full at fewer
//     requests than the budget, so the budget shrank (another process now
//     shares the app's limit);
//   - when 429s are persistent: more than persistentShare of the answers
//     in the window were 429s, whatever the count.
//
// Any other 429 still closed the gate for its Retry-After; it only leaves
// the pace alone, and does not reset the quiet spell after which the pace
// is probed upwards.
func (g *Gate) learnLocked(now time.Time) {
	if g.learnAt.IsZero() {
		return
	}
	// Answers complete out of send order, so count rather than trust the
	// pruned length.
	n, answered, limited, from := 0, 0, 0, g.learnAt.Add(-g.opts.Window)
	for _, at := range g.answered {
		if at.After(from) {
			answered++
			if !at.After(g.learnAt) {
				n++
			}
		}
	}
	for _, at := range g.limited {
		if at.After(from) {
			limited++
		}
	}
	served, refused := g.served, g.refused
	g.learnAt, g.served, g.refused = time.Time{}, 0, 0
	if n == 0 {
		return
	}
	b := float64(g.budget)
	var teaches bool
	switch {
	case g.budget == 0 && served < inFlightEvidence && refused < inFlightEvidence:
		teaches = !g.busyAt.After(from)
	case g.budget == 0:
		teaches = served <= refused
	case float64(n) > min(b-1, paceMargin*b+1):
		teaches = true
	case refused >= inFlightEvidence && refused > served:
		teaches = true
	}
	if !teaches && float64(limited) <= persistentShare*float64(answered+limited) {
		return
	}
	g.budget = n
	g.quiet = now
	iv := time.Duration(float64(g.opts.Window) / (paceMargin * float64(n)))
	if iv > g.interval {
		g.interval = iv
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
