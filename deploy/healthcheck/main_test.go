package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(http.StatusOK)
		case "/starting":
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: dial temporal:7233: connection refused\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/readyz"
	require.NoError(t, ln.Close())

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"ready", []string{srv.URL + "/readyz"}, 0, ""},
		{"not ready shows the reason", []string{srv.URL + "/starting"}, 1,
			"healthcheck: get " + srv.URL + "/starting: 503 Service Unavailable: not ready: dial temporal:7233: connection refused\n"},
		{"not found", []string{srv.URL + "/nope"}, 1, "404 Not Found"},
		{"nothing listening", []string{closed}, 1, "connection refused"},
		{"bad URL", []string{"://x"}, 1, "healthcheck: request ://x"},
		{"too many arguments", []string{"a", "b"}, 2, "usage: healthcheck [URL]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			assert.Equal(t, tt.wantCode, run(tt.args, &stderr))
			if tt.wantStderr == "" {
				assert.Empty(t, stderr.String())
			} else {
				assert.Contains(t, stderr.String(), tt.wantStderr)
			}
		})
	}
}
