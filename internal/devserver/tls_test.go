package devserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/internal/testpki"
)

// With TLS requiring client certificates the server runs workflows for a
// client presenting a certificate of the CA (its own system worker and Web
// UI connect too), and refuses a client without one and a plain client.
func TestServerWithMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server")
	}
	p := testpki.New(t, "127.0.0.1")
	srv := startServer(t, Options{UI: true, TLS: &TLS{CertFile: p.ServerCert, KeyFile: p.ServerKey, CAFile: p.CAFile, RequireClientCert: true}})

	caPEM, err := os.ReadFile(p.CAFile)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	clientCert, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
	require.NoError(t, err)
	dialTLS := func(cfg *tls.Config) (client.Client, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(),
			ConnectionOptions: client.ConnectionOptions{TLS: cfg}})
	}

	c, err := dialTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	defer c.Close()
	runGreeting(t, c, "greeting-over-mtls")

	_, err = dialTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	require.Error(t, err, "a client without a certificate connected")
	_, err = dialTLS(nil)
	require.Error(t, err, "a plain client connected")

	// What the server answers a client without a certificate: under TLS
	// 1.3 the alert comes after the client's side of the handshake, so it
	// is read, not returned by the dial.
	conn, err := tls.Dial("tcp", srv.FrontendAddress(), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}})
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = conn.Read(make([]byte, 1))
	require.ErrorContains(t, err, "certificate required")

	// The Web UI reaches the frontend over mTLS too.
	resp, err := http.Get(srv.UIURL() + "/api/v1/namespaces/" + srv.Namespace())
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, string(body), `"name": "`+srv.Namespace()+`"`)
}
