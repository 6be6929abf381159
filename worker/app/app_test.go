package app

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/testpki"
)

// tlsConfig is the TLS configuration of the connection c describes; nil
// is plain gRPC.
func tlsConfig(c config.TLSConfig) (*tls.Config, error) {
	opts, err := connectionOptions(config.TemporalConfig{Address: "127.0.0.1:7233", TLS: c}, false)
	return opts.ConnectionOptions.TLS, err
}

func read(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return string(b)
}

func TestTLSConfigFromConfig(t *testing.T) {
	p := testpki.New(t, "temporal.internal")
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	missing := filepath.Join(t.TempDir(), "missing.pem")

	tests := []struct {
		name    string
		in      config.TLSConfig
		wantNil bool
		wantErr string
		check   func(t *testing.T, c *tls.Config)
	}{
		{name: "off", in: config.TLSConfig{}, wantNil: true},
		{name: "enabled: system roots", in: config.TLSConfig{Enabled: true}, check: func(t *testing.T, c *tls.Config) {
			require.Nil(t, c.RootCAs, "nil RootCAs means the system pool")
			require.Empty(t, c.Certificates)
			require.Equal(t, uint16(tls.VersionTLS12), c.MinVersion)
		}},
		{name: "CA file turns TLS on", in: config.TLSConfig{CAFile: p.CAFile, ServerName: "temporal.internal"}, check: func(t *testing.T, c *tls.Config) {
			require.NotNil(t, c.RootCAs)
			require.Equal(t, "temporal.internal", c.ServerName)
		}},
		{name: "mTLS", in: config.TLSConfig{CertFile: p.ClientCert, KeyFile: p.ClientKey, CAFile: p.CAFile}, check: func(t *testing.T, c *tls.Config) {
			require.Len(t, c.Certificates, 1)
			require.NotNil(t, c.RootCAs)
		}},
		{name: "mTLS from PEM data", in: config.TLSConfig{CertData: read(t, p.ClientCert), KeyData: read(t, p.ClientKey), CAData: read(t, p.CAFile)}, check: func(t *testing.T, c *tls.Config) {
			require.Len(t, c.Certificates, 1)
			require.NotNil(t, c.RootCAs)
		}},
		{name: "disabled wins over files", in: config.TLSConfig{Disabled: true, CAFile: p.CAFile}, wantNil: true},
		{name: "cert without key", in: config.TLSConfig{CertFile: p.ClientCert}, wantErr: `temporal.tls (cert "` + p.ClientCert + `", key none, CA none)`},
		{name: "key of another cert", in: config.TLSConfig{CertFile: p.ClientCert, KeyFile: p.ServerKey}, wantErr: `key "` + p.ServerKey + `"`},
		{name: "missing CA file", in: config.TLSConfig{CAFile: missing}, wantErr: missing + ": no such file"},
		{name: "CA file without PEM", in: config.TLSConfig{CAFile: notPEM}, wantErr: `CA "` + notPEM + `"): invalid TLS config: failed adding server CA`},
		{name: "cert data that is not PEM", in: config.TLSConfig{CertData: "hello", KeyData: "hello"}, wantErr: "cert PEM data, key PEM data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tlsConfig(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.wantNil {
				require.Nil(t, c)
				return
			}
			require.NotNil(t, c)
			tt.check(t, c)
		})
	}
}

// The config's files make a working mTLS connection: the client verifies
// the server against ca_file under server_name, and the server accepts the
// client's certificate. With another CA or without a client certificate
// the handshake fails.
func TestTLSConfigHandshakes(t *testing.T) {
	p := testpki.New(t, "temporal.internal")
	serverCert, err := tls.LoadX509KeyPair(p.ServerCert, p.ServerKey)
	require.NoError(t, err)
	caPEM, err := os.ReadFile(p.CAFile)
	require.NoError(t, err)
	clients := x509.NewCertPool()
	require.True(t, clients.AppendCertsFromPEM(caPEM))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clients,
		MinVersion:   tls.VersionTLS12,
	})
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				if tc, ok := conn.(*tls.Conn); ok && tc.Handshake() == nil {
					_, _ = tc.Write([]byte("ok"))
				}
			}()
		}
	}()

	tests := []struct {
		name string
		in   config.TLSConfig
		ok   bool
	}{
		{"mTLS with the right CA and server name", config.TLSConfig{CertFile: p.ClientCert, KeyFile: p.ClientKey, CAFile: p.CAFile, ServerName: "temporal.internal"}, true},
		{"wrong server name", config.TLSConfig{CertFile: p.ClientCert, KeyFile: p.ClientKey, CAFile: p.CAFile, ServerName: "evil.example"}, false},
		{"server signed by an unknown CA", config.TLSConfig{CertFile: p.ClientCert, KeyFile: p.ClientKey, CAFile: p.OtherCAFile, ServerName: "temporal.internal"}, false},
		{"no client certificate", config.TLSConfig{CAFile: p.CAFile, ServerName: "temporal.internal"}, false},
		{"mTLS from PEM data", config.TLSConfig{CertData: read(t, p.ClientCert), KeyData: read(t, p.ClientKey), CAData: read(t, p.CAFile), ServerName: "temporal.internal"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tlsConfig(tt.in)
			require.NoError(t, err)
			dialer := &net.Dialer{Timeout: 10 * time.Second}
			conn, err := tls.DialWithDialer(dialer, "tcp", ln.Addr().String(), c)
			if err == nil {
				// TLS 1.3 reports a refused client certificate on the first read.
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 2)
				_, err = conn.Read(buf)
				conn.Close()
				if err == nil && string(buf) != "ok" {
					err = net.ErrClosed
				}
			}
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}
