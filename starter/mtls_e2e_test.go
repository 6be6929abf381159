package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
	"github.com/metronome-data/metronome/internal/testpki"
	"github.com/metronome-data/metronome/worker/app"
)

// A worker and `starter run` that know Temporal only through a profile of
// a temporal.toml file (TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE) run a
// pipeline on the embedded server serving mutual TLS; a profile without
// the client certificate is refused.
func TestProfileWithMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server")
	}
	dir := isolateEnv(t)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "no-default-temporal-toml"))
	t.Setenv("METRONOME_LOG_LEVEL", "warn")
	t.Setenv("METRONOME_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("METRONOME_WORKER_METRICS_ADDR", "127.0.0.1:0")
	t.Setenv("METRONOME_SPOTIFY_FAKE_ARTISTS", "10")

	p := testpki.New(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := devservertest.StartServer(t, devservertest.WithServer(devserver.Options{
		TLS: &devserver.TLS{CertFile: p.ServerCert, KeyFile: p.ServerKey, CAFile: p.CAFile, RequireClientCert: true},
	}))

	// The default profile points nowhere: only TEMPORAL_PROFILE leads to
	// the server.
	profiles := filepath.Join(dir, "temporal.toml")
	require.NoError(t, os.WriteFile(profiles, fmt.Appendf(nil, `
[profile.default]
address = "127.0.0.1:1"

[profile.mtls]
address = %[1]q
namespace = %[2]q
[profile.mtls.tls]
client_cert_path = %[3]q
client_key_path = %[4]q
server_ca_cert_path = %[5]q

[profile.no-cert]
address = %[1]q
namespace = %[2]q
[profile.no-cert.tls]
server_ca_cert_path = %[5]q
`, srv.FrontendAddress(), srv.Namespace(), p.ClientCert, p.ClientKey, p.CAFile), 0o600))
	t.Setenv("TEMPORAL_CONFIG_FILE", profiles)
	t.Setenv("TEMPORAL_PROFILE", "mtls")

	// The worker, as the worker binary runs it.
	cfg, err := config.NewLoader().Load()
	require.NoError(t, err)
	require.Equal(t, srv.FrontendAddress(), cfg.Temporal.Address)
	workerCtx, stopWorker := context.WithCancel(ctx)
	_, stopFake, err := app.StartFakeServer(workerCtx, cfg)
	require.NoError(t, err)
	cfg.Spotify.RequestsPerSecond = 1000
	done := make(chan error, 1)
	go func() { done <- app.Serve(workerCtx, cfg, zap.NewNop()) }()
	t.Cleanup(func() {
		stopWorker()
		require.NoError(t, <-done)
		stopFake()
	})

	r := starter("run", "--wait")
	require.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "run of "+daysAgo(0)+" finished")

	t.Setenv("TEMPORAL_PROFILE", "no-cert")
	r = starter("run")
	require.Equal(t, 1, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "connect to Temporal at "+srv.FrontendAddress())
	// Under TLS 1.3 the client finishes its handshake before the server
	// checks the client certificate, so the refusal reaches it either as
	// the server's alert or, when the client writes first, as the closed
	// connection. internal/devserver's TestServerWithMutualTLS reads the
	// alert itself.
	require.Regexp(t, "certificate required|broken pipe|connection reset by peer", r.stderr)
}
