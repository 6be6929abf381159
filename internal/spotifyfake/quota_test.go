package spotifyfake

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// After N admitted requests the quota runs out for a while: 429 with
// Spotify's QUOTA_EXCEEDED body, with the rest of the outage as Retry-After
// or without one; then requests are answered again.
func TestQuotaOutage(t *testing.T) {
	for _, tt := range []struct {
		name         string
		noRetryAfter bool
		wantHeader   string
	}{
		{"with Retry-After", false, "1"},
		{"without Retry-After", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, Options{Artists: 10, QuotaOutage: QuotaOutage{
				After: 3, For: 300 * time.Millisecond, NoRetryAfter: tt.noRetryAfter}})
			id := f.srv.Catalog().Artists()[0].ID
			for i := 0; i < 3; i++ {
				require.Equal(t, http.StatusOK, f.get("artists/"+id).status)
			}
			a := f.get("artists/" + id)
			requireQuotaExceeded(t, a)
			require.Equal(t, tt.wantHeader, a.header.Get("Retry-After"))

			require.Eventually(t, func() bool { return f.get("artists/"+id).status == http.StatusOK },
				10*time.Second, 50*time.Millisecond, "the quota comes back after the outage")
			st := f.srv.Stats()
			require.Positive(t, st.QuotaExceeded)
			require.Equal(t, st.QuotaExceeded, st.Status(http.StatusTooManyRequests))
			// It happened once: the quota holds for more requests now.
			for i := 0; i < 5; i++ {
				require.Equal(t, http.StatusOK, f.get("artists/"+id).status)
			}
		})
	}
}

func TestQuotaOutageOptions(t *testing.T) {
	_, err := New(Options{QuotaOutage: QuotaOutage{After: 5}})
	require.ErrorContains(t, err, "give a positive duration")
	_, err = New(Options{QuotaOutage: QuotaOutage{After: -1, For: time.Second}})
	require.ErrorContains(t, err, "must not be negative")
}

// A refused app gets its token, then 403 with Spotify's plain-text body on
// every endpoint, of either mode.
func TestRefuseApp(t *testing.T) {
	for _, mode := range []string{ModeExtended, ModeDevelopment} {
		t.Run(mode, func(t *testing.T) {
			f := startFake(t, Options{Artists: 10, Mode: mode, RefuseApp: true})
			id := f.srv.Catalog().Artists()[0].ID
			for _, path := range []string{"artists/" + id, "artists?ids=" + id, "artists/" + id + "/albums",
				"artists/" + id + "/top-tracks?market=US", "search?q=a&type=artist"} {
				a := f.get(path)
				require.Equal(t, http.StatusForbidden, a.status, path)
				require.Contains(t, string(a.body), "Active premium subscription required for the owner of the app", path)
				require.False(t, json.Valid(a.body), "Spotify's body is not JSON")
				require.Contains(t, a.header.Get("Content-Type"), "text/plain")
			}
		})
	}
}

// requireQuotaExceeded requires Spotify's 429 of a spent quota: the rate
// limit's error object with "reason":"QUOTA_EXCEEDED".
func requireQuotaExceeded(t *testing.T, a answer) {
	t.Helper()
	requireError(t, a, http.StatusTooManyRequests, "API rate limit exceeded")
	var e struct {
		Error struct{ Reason string } `json:"error"`
	}
	require.NoError(t, json.Unmarshal(a.body, &e))
	require.Equal(t, "QUOTA_EXCEEDED", e.Error.Reason)
}
