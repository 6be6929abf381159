package spotify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// scripted serves a token and answers every API request with answer.
func scripted(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (string, *atomic.Int32) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/token" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"tok","token_type":"Bearer","expires_in":3600}`))
			return
		}
		calls.Add(1)
		answer(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL, &calls
}

func TestTransportClassifiesAnswers(t *testing.T) {
	const id = "0TnOYISbd1XYRBk9myaseg"
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		sleep     time.Duration
		attempts  int32 // requests the call makes
		retryable bool
		quota     bool
		after     time.Duration
		message   string
	}{
		{name: "404", status: 404, body: `{"error":{"status":404,"message":"non existing id"}}`, attempts: 1, message: "non existing id"},
		{name: "400", status: 400, body: `{"error":{"status":400,"message":"invalid id"}}`, attempts: 1, message: "invalid id"},
		{name: "403", status: 403, body: `{"error":{"status":403,"message":"Forbidden"}}`, attempts: 1, message: "Forbidden"},
		{name: "503", status: 503, body: `{"error":{"status":503,"message":"Service unavailable"}}`, attempts: 3, retryable: true, message: "Service unavailable"},
		{name: "502 without JSON", status: 502, body: `<html>bad gateway</html>`, attempts: 3, retryable: true, message: "502 Bad Gateway"},
		{name: "200 of another shape", status: 200, body: `{"id":5}`, attempts: 1, message: "does not decode"},
		{name: "truncated 200", status: 200, body: `{"name":"Pitb`, attempts: 3, retryable: true, message: "malformed JSON"},
		{name: "timeout", status: 200, body: `{}`, sleep: 2 * time.Second, attempts: 3, retryable: true, message: "timeout"},
		{name: "429 longer than MaxWait", status: 429, header: map[string]string{"Retry-After": "7"},
			body: `{"error":{"status":429,"message":"API rate limit exceeded"}}`, attempts: 1, retryable: true, after: 7 * time.Second},
		{name: "429 quota", status: 429, header: map[string]string{"Retry-After": "3600"},
			body: `{"error":{"status":429,"message":"API rate limit exceeded","reason":"QUOTA_EXCEEDED"}}`, attempts: 1, retryable: true, quota: true, after: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, calls := scripted(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.sleep > 0 {
					select {
					case <-time.After(tt.sleep):
					case <-r.Context().Done():
						return
					}
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			c := newTestClient(t, url, func(o *Options) {
				o.MaxAttempts = 3
				o.Timeout = 200 * time.Millisecond
				o.Gate = NewGate(GateOptions{MaxWait: time.Second})
			})
			_, err := c.GetArtistRaw(context.Background(), id)
			e := asAPIError(err)
			require.NotNil(t, e, "%v", err)
			require.Equal(t, EndpointArtist, e.Endpoint)
			require.Equal(t, tt.retryable, e.Retryable)
			require.Equal(t, tt.quota, e.Quota)
			require.Equal(t, tt.after, e.RetryAfter)
			require.Contains(t, e.Error(), tt.message)
			require.Equal(t, tt.attempts, calls.Load())
			if tt.status == 429 {
				closed, quota := c.Gate().Closed()
				require.InDelta(t, tt.after.Seconds(), closed.Seconds(), 1)
				require.Equal(t, tt.quota, quota)
				// While the Retry-After is in force nothing is sent.
				_, err := c.GetArtistRaw(context.Background(), id)
				require.Equal(t, 429, asAPIError(err).Status)
				require.Equal(t, tt.attempts, calls.Load())
			}
		})
	}
}

func TestTransportWaitsOutShortRetryAfterWithinTheCall(t *testing.T) {
	var n atomic.Int32
	url, calls := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			w.Write([]byte(`{"error":{"status":429,"message":"API rate limit exceeded"}}`))
			return
		}
		w.Write([]byte(`{"id":"0TnOYISbd1XYRBk9myaseg","name":"Pitbull"}`))
	})
	c := newTestClient(t, url)
	start := time.Now()
	body, err := c.GetArtistRaw(context.Background(), "0TnOYISbd1XYRBk9myaseg")
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"0TnOYISbd1XYRBk9myaseg","name":"Pitbull"}`, string(body))
	require.GreaterOrEqual(t, time.Since(start), time.Second, "the second attempt waited for the Retry-After")
	require.EqualValues(t, 2, calls.Load())
}

func TestTransportRefreshesAnExpiredTokenOnce(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 10})
	c := newTestClient(t, f.url)
	id := f.artistIDs(1)[0]
	_, err := c.GetArtistRaw(context.Background(), id)
	require.NoError(t, err)
	f.srv.ExpireTokens()
	_, err = c.GetArtistRaw(context.Background(), id)
	require.NoError(t, err)
	st := f.srv.Stats()
	require.Equal(t, 2, st.Requests["token"][200], "a new token after the 401")
	require.Equal(t, 1, st.Requests["artist"][401])
	require.Equal(t, 2, st.Requests["artist"][200])

	// A 401 that a fresh token does not cure is final.
	url, calls := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		w.Write([]byte(`{"error":{"status":401,"message":"Invalid access token"}}`))
	})
	c = newTestClient(t, url)
	_, err = c.GetArtistRaw(context.Background(), id)
	e := asAPIError(err)
	require.NotNil(t, e)
	require.Equal(t, 401, e.Status)
	require.False(t, e.Retryable)
	require.EqualValues(t, 2, calls.Load())
}

func TestBadCredentialsAreFinal(t *testing.T) {
	f := startFake(t, spotifyfake.Options{Artists: 10})
	c := newTestClient(t, f.url, func(o *Options) { o.ClientSecret = "wrong" })
	_, err := c.GetArtistRaw(context.Background(), f.artistIDs(1)[0])
	e := asAPIError(err)
	require.NotNil(t, e, "%v", err)
	require.Equal(t, EndpointToken, e.Endpoint)
	require.Equal(t, 400, e.Status)
	require.False(t, e.Retryable)
	require.Contains(t, e.Message, "invalid_client")
	require.Zero(t, f.srv.Stats().APICalls(), "nothing reached the API")
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{ClientSecret: "s"}, "client ID and secret are required"},
		{Options{ClientID: "i", ClientSecret: "s", BaseURL: "api.spotify.com"}, "base URL"},
		{Options{ClientID: "i", ClientSecret: "s", TokenURL: "ftp://x/token"}, "token URL"},
	}
	for _, tt := range tests {
		_, err := New(context.Background(), tt.opts)
		require.ErrorContains(t, err, tt.want)
	}
	c, err := New(context.Background(), Options{ClientID: "i", ClientSecret: "s", BaseURL: "http://127.0.0.1:1/v1"})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:1/v1/", c.baseURL)
	require.Equal(t, DefaultGate(), c.Gate())
	require.Equal(t, DefaultMarket, c.opts.Market)
}
