package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Run counts answers and errors per status, and stops at its duration.
func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tests := []struct {
		name       string
		path       string
		wantErrors bool
	}{
		{"answers", "/ok", false},
		{"refusals are errors", "/fail", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Connections: 4, Duration: 200 * time.Millisecond,
				Request: func(_, _ int) (*http.Request, error) { return http.NewRequest(http.MethodGet, srv.URL+tt.path, nil) }})
			require.NoError(t, err)
			require.GreaterOrEqual(t, res.Elapsed, 190*time.Millisecond, "ran for its duration")
			require.Less(t, res.Elapsed, 10*time.Second, "stopped at its duration")
			if tt.wantErrors {
				require.Zero(t, res.Requests)
				require.Positive(t, res.Errors)
				require.ErrorContains(t, res.FirstError, "status 503")
				return
			}
			require.Positive(t, res.Requests)
			require.Zero(t, res.Errors, res.String())
			require.LessOrEqual(t, res.P50, res.P99)
			require.Positive(t, res.RPS())
		})
	}
	_, err := Run(context.Background(), Options{})
	require.Error(t, err)
}
