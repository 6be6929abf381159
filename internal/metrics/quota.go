package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// quotaWait is the end of the latest Spotify quota wait this worker saw
// begin, exported as the seconds left of it.
type quotaWait struct {
	mu    sync.Mutex
	until time.Time
	now   func() time.Time
}

func (q *quotaWait) gauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: spotifyQuotaWaitName,
		Help: "Seconds left of the current wait for the Spotify quota, as this worker last saw it begin " +
			"(Spotify's Retry-After, or spotify.quota_wait when the 429 came without one); 0 when no wait is on.",
	}, q.seconds)
}

func (q *quotaWait) seconds() float64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return max(0, q.until.Sub(q.now()).Seconds())
}

// RecordQuotaWait records that a Spotify call hit the quota and a wait
// until then began. The latest wait wins: a quota 429 replaces an earlier
// wait that was longer, since it is the newer word on the quota. The run
// may wait longer than the worker knows (the workflow doubles waits without
// Retry-After); its progress query has the exact end.
func (p *Pipeline) RecordQuotaWait(until time.Time) {
	if p == nil {
		return
	}
	p.quotaWait.mu.Lock()
	defer p.quotaWait.mu.Unlock()
	p.quotaWait.until = until
}
