package spotifyfake

import (
	"slices"
	"sync"
	"time"
)

// arrivals records when every API request (not the token endpoint)
// arrived, whatever its answer, so a test can check a client's rate over
// any window, not only what the fake's limiter let through.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
}

func (a *arrivals) add(t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.times = append(a.times, t)
}

func (a *arrivals) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.times = nil
}

// Arrivals returns the arrival times of the API requests since the server
// started or its stats were last reset, in order of arrival.
func (s *Server) Arrivals() []time.Time {
	s.arrivals.mu.Lock()
	defer s.arrivals.mu.Unlock()
	out := slices.Clone(s.arrivals.times)
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
