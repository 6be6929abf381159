package spotify

import "time"

// The Spotify rate limit is per app, and an app's requests may come from
// worker processes on different machines. The gate of one process cannot
// see the others' requests, so the worker gives it a share of
// spotify.requests_per_second (the cap divided by the workers polling the
// Spotify task queue; worker/app/share.go) and holds it closed until that
// share is known. The gate then never sends faster than its share: its
// requests are spaced by at least 1/share, a 429's lesson can only slow it
// further, and a pace probe never goes past the share. The cap is
// configuration, not something learned, so Reset keeps it.

// SetCap sets the most requests per second this process may send; 0 or
// less removes the cap.
func (g *Gate) SetCap(rps float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.capInterval
	g.capInterval = 0
	if rps > 0 {
		g.capInterval = time.Duration(float64(time.Second) / rps)
	}
	if g.capInterval > old && !g.next.IsZero() {
		// A smaller share applies to the slot already handed out as well:
		// the next request waits the new interval after the last one.
		g.next = g.next.Add(g.capInterval - old)
	}
}

// Cap returns the cap set by SetCap in requests per second, 0 if none.
func (g *Gate) Cap() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.capInterval == 0 {
		return 0
	}
	return float64(time.Second) / float64(g.capInterval)
}

// holdRecheck is how often a request waiting on a held gate looks at the
// hold again.
const holdRecheck = 100 * time.Millisecond

// Hold keeps every request from being sent before until (a zero time
// releases it), replacing the hold in force: a shorter hold releases the
// requests already waiting sooner. Requests wait; they do not fail.
func (g *Gate) Hold(until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.heldUntil = until
}

// Held reports whether the gate is held.
func (g *Gate) Held() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Now().Before(g.heldUntil)
}
