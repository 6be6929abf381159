package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/metronome-data/metronome/internal/httpserve"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves:
//
//   - /metrics: every metric of g in the Prometheus text format;
//   - /healthz: 200 while the process is up;
//   - /readyz: 200 when ready returns nil (e.g. connected to Temporal and
//     polling), else 503 with the reason. A nil ready is always ready.
func Handler(g prometheus.Gatherer, ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ready != nil {
			if err := ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "not ready: %v\n", err)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// Serve listens on addr (host:port) and serves Handler(g, ready) until ctx
// is done, then shuts down gracefully. It returns an error when it cannot
// listen or the server fails, and nil after a shutdown through ctx.
func Serve(ctx context.Context, addr string, g prometheus.Gatherer, ready func() error) error {
	return httpserve.ListenAndServe(ctx, addr, Handler(g, ready), httpserve.WithName("metrics server"))
}

// Readiness is a readiness state for Handler's ready function, safe for
// concurrent use. Its zero value is not ready, with the reason "starting".
type Readiness struct {
	mu     sync.Mutex
	ready  bool
	reason string
}

// SetReady marks the process ready.
func (r *Readiness) SetReady() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ready, r.reason = true, ""
}

// SetNotReady marks the process not ready because of reason.
func (r *Readiness) SetNotReady(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ready, r.reason = false, reason
}

// Check returns nil when ready, else an error carrying the reason.
func (r *Readiness) Check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.ready:
		return nil
	case r.reason == "":
		return errors.New("starting")
	default:
		return errors.New(r.reason)
	}
}
