// Package devservertest starts the embedded Temporal server of
// internal/devserver for a test, with a client when the test wants one, and
// stops both when the test ends. It is its own package so that only the
// tests that need a Temporal server link one.
package devservertest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/devserver"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
)

// startTimeout bounds starting the server (and its UI) on a loaded machine.
const startTimeout = 2 * time.Minute

type settings struct {
	server devserver.Options
	client []func(*client.Options)
}

// Option changes how the server is started or the client dialled.
type Option func(*settings)

// WithServer starts the server with o: a SQLite file, a fixed port, the Web
// UI, TLS, a namespace. The zero value (the default) is an in-memory server
// on free loopback ports.
func WithServer(o devserver.Options) Option { return func(s *settings) { s.server = o } }

// WithClient changes the client's options before it is dialled, e.g. to
// add a metrics handler. HostPort and Namespace are the server's and the
// logger discards the SDK's logs unless changed here.
func WithClient(change func(*client.Options)) Option {
	return func(s *settings) { s.client = append(s.client, change) }
}

// StartServer starts the server. It is stopped when the test ends; a test
// may stop it earlier (to restart it), Stop is safe to call twice.
func StartServer(t testing.TB, opts ...Option) *devserver.Server {
	t.Helper()
	return start(t, opts).srv
}

// Start starts the server and dials a client to its namespace. Both are
// closed when the test ends.
func Start(t testing.TB, opts ...Option) (*devserver.Server, client.Client) {
	t.Helper()
	s := start(t, opts)
	co := client.Options{
		HostPort:  s.srv.FrontendAddress(),
		Namespace: s.srv.Namespace(),
		Logger:    log.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	}
	for _, change := range s.settings.client {
		change(&co)
	}
	c, err := client.Dial(co)
	if err != nil {
		t.Fatalf("dial the embedded Temporal server at %s (namespace %s): %v", co.HostPort, co.Namespace, err)
	}
	t.Cleanup(c.Close) // runs before the server stops: cleanups run last first
	return s.srv, c
}

type started struct {
	settings *settings
	srv      *devserver.Server
}

func start(t testing.TB, opts []Option) started {
	t.Helper()
	s := &settings{}
	for _, o := range opts {
		o(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := devserver.Start(ctx, s.server)
	if err != nil {
		t.Fatalf("start the embedded Temporal server (database file %q, port %d, UI %t, TLS %t): %v",
			s.server.DatabaseFile, s.server.Port, s.server.UI, s.server.TLS != nil, err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop the embedded Temporal server at %s: %v", srv.FrontendAddress(), err)
		}
	})
	return started{settings: s, srv: srv}
}
