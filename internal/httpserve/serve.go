// Package httpserve is the one serve loop of metronome's HTTP servers: the
// bot API and console (`starter serve`, `starter dev`), the payload codec
// server, the worker's metrics endpoint and the fake Spotify API. Each gets
// the same timeouts and the same graceful shutdown, changing only the values
// its traffic needs through options.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Defaults suit small JSON requests and answers; a server whose answers
// take longer (a streaming route, a fake that plays slow answers) raises or
// turns off WriteTimeout.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownGrace     = 5 * time.Second
)

type settings struct {
	name          string
	server        http.Server
	shutdownGrace time.Duration
}

// Option changes one setting of Serve.
type Option func(*settings)

// WithName names the server in errors, e.g. "metrics server" (default
// "HTTP server").
func WithName(name string) Option { return func(s *settings) { s.name = name } }

// WithReadHeaderTimeout bounds reading a request's headers.
func WithReadHeaderTimeout(d time.Duration) Option {
	return func(s *settings) { s.server.ReadHeaderTimeout = d }
}

// WithReadTimeout bounds reading a whole request, body included; 0 turns
// the bound off.
func WithReadTimeout(d time.Duration) Option {
	return func(s *settings) { s.server.ReadTimeout = d }
}

// WithWriteTimeout bounds the time from the end of a request's headers to
// the end of its answer; 0 turns the bound off.
func WithWriteTimeout(d time.Duration) Option {
	return func(s *settings) { s.server.WriteTimeout = d }
}

// WithIdleTimeout bounds how long a kept-alive connection waits for its
// next request.
func WithIdleTimeout(d time.Duration) Option {
	return func(s *settings) { s.server.IdleTimeout = d }
}

// WithMaxHeaderBytes bounds the size of a request's headers.
func WithMaxHeaderBytes(n int) Option {
	return func(s *settings) { s.server.MaxHeaderBytes = n }
}

// WithShutdownGrace is how long requests in flight may take to finish once
// the context is done, before their connections are closed.
func WithShutdownGrace(d time.Duration) Option {
	return func(s *settings) { s.shutdownGrace = d }
}

func newSettings(h http.Handler, opts []Option) *settings {
	s := &settings{
		name: "HTTP server",
		server: http.Server{
			Handler:           h,
			ReadHeaderTimeout: DefaultReadHeaderTimeout,
			ReadTimeout:       DefaultReadTimeout,
			WriteTimeout:      DefaultWriteTimeout,
			IdleTimeout:       DefaultIdleTimeout,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
		},
		shutdownGrace: DefaultShutdownGrace,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ListenAndServe listens on addr (host:port) and serves h there as Serve
// does. An address it cannot listen on (in use, not this host's) is an
// error naming the address.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, opts ...Option) error {
	s := newSettings(h, opts)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", s.name, addr, err)
	}
	return s.serve(ctx, ln)
}

// Serve serves h on ln until ctx is done, then stops taking requests and
// gives those in flight the shutdown grace to finish; connections still busy
// after it are closed. It returns nil after a shutdown through ctx and an
// error naming the address when the server fails. Serve closes ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opts ...Option) error {
	return newSettings(h, opts).serve(ctx, ln)
}

func (s *settings) serve(ctx context.Context, ln net.Listener) error {
	srv := &s.server
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s on %s: %w", s.name, ln.Addr(), err)
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), s.shutdownGrace)
	defer cancel()
	err := srv.Shutdown(grace)
	if errors.Is(err, context.DeadlineExceeded) {
		// The grace is over: requests still running are cut off, as a
		// process manager would after its own grace.
		err = srv.Close()
	}
	if err != nil {
		return fmt.Errorf("%s on %s: shut down: %w", s.name, ln.Addr(), err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s on %s: %w", s.name, ln.Addr(), err)
	}
	return nil
}
