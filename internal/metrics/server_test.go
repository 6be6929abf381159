package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get returns the status code and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestReadyzFollowsReadiness(t *testing.T) {
	var r Readiness
	srv := httptest.NewServer(Handler(prometheus.NewRegistry(), r.Check))
	defer srv.Close()

	steps := []struct {
		name       string
		set        func()
		wantStatus int
		wantBody   string
	}{
		{"zero value is starting", func() {}, http.StatusServiceUnavailable, "not ready: starting\n"},
		{"not ready with a reason", func() { r.SetNotReady("dial temporal:7233: connection refused") },
			http.StatusServiceUnavailable, "not ready: dial temporal:7233: connection refused\n"},
		{"ready", r.SetReady, http.StatusOK, "ready\n"},
		{"stopping", func() { r.SetNotReady("stopping") }, http.StatusServiceUnavailable, "not ready: stopping\n"},
	}
	for _, s := range steps {
		s.set()
		status, body := get(t, srv.URL+"/readyz")
		assert.Equal(t, s.wantStatus, status, s.name)
		assert.Equal(t, s.wantBody, body, s.name)

		// Liveness does not depend on readiness.
		status, body = get(t, srv.URL+"/healthz")
		assert.Equal(t, http.StatusOK, status, s.name)
		assert.Equal(t, "ok\n", body, s.name)
	}
}

func TestHandlerRoutes(t *testing.T) {
	tests := []struct {
		name       string
		ready      func() error
		method     string
		path       string
		wantStatus int
	}{
		{"nil ready is ready", nil, http.MethodGet, "/readyz", http.StatusOK},
		{"failing ready", func() error { return errors.New("no pollers") }, http.MethodGet, "/readyz", http.StatusServiceUnavailable},
		{"healthz while not ready", func() error { return errors.New("no pollers") }, http.MethodGet, "/healthz", http.StatusOK},
		{"head metrics", nil, http.MethodHead, "/metrics", http.StatusOK},
		{"post is refused", nil, http.MethodPost, "/metrics", http.StatusMethodNotAllowed},
		{"unknown path", nil, http.MethodGet, "/debug", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Handler(prometheus.NewRegistry(), tt.ready).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			assert.Equal(t, tt.wantStatus, rec.Code)
		})
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestServeUntilContextDone(t *testing.T) {
	addr := freeAddr(t)
	reg := NewRegistry()
	p, err := NewPipeline(reg)
	require.NoError(t, err)
	p.RecordCollect("artists", 1)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, addr, reg, nil) }()

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 20*time.Millisecond)
	status, body := get(t, "http://"+addr+"/metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `metronome_records_collected_total{entity="artists"} 1`)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context was done")
	}
	_, err = http.Get("http://" + addr + "/healthz")
	assert.Error(t, err, "the server still answers after shutdown")
}

func TestServeReportsAnAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()

	err = Serve(context.Background(), ln.Addr().String(), prometheus.NewRegistry(), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "metrics server: listen on "+ln.Addr().String())
}
