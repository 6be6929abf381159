package spotifyfake

import (
	"slices"
	"time"
)

// Arrivals returns the arrival times of the API requests (not the token
// endpoint), whatever their answer, since the server started or its stats
// were last reset, in order of arrival: a test can check a client's rate
// over any window, not only what the fake's limiter let through.
func (s *Server) Arrivals() []time.Time {
	s.mu.Lock()
	out := slices.Clone(s.arrivals)
	s.mu.Unlock()
	// Requests take their arrival time before the lock, so they may be
	// recorded out of order.
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// WorstWindow returns the most requests of times (sorted) that arrived in
// any window of length w — an interval [t, t+w) — and where that window
// starts.
func WorstWindow(times []time.Time, w time.Duration) (n int, from time.Time) {
	j := 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		if i-j+1 > n {
			n, from = i-j+1, times[j]
		}
	}
	return n, from
}
