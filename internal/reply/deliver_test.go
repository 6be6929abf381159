package reply

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/serving"
)

// Each way a post fails is classified for the caller: refusals fall back,
// rate limits keep their Retry-After, the rest may be retried; no message
// quotes the URL.
func TestClassify(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL + "/hook?k=secret"
	down.Close()
	_, transport := http.Get(downURL)
	tests := []struct {
		name         string
		err          error
		wantRejected bool
		wantAfter    time.Duration
		wantMsg      string
	}{
		{"rate limited", &slack.RateLimitedError{RetryAfter: 7 * time.Second}, false, 7 * time.Second, "rate limit"},
		{"gone", slack.StatusCodeError{Code: 410, Status: "410 Gone"}, true, 0, "410"},
		{"server error", slack.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}, false, 0, "503"},
		{"slack refuses", slack.SlackErrorResponse{Err: "channel_not_found"}, true, 0, "slack: channel_not_found"},
		{"transport", transport, false, 0, "post the answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.err)
			var pe *PostError
			require.True(t, errors.As(err, &pe), "%T", err)
			require.Equal(t, tt.wantRejected, pe.Rejected)
			require.Equal(t, tt.wantAfter, pe.RetryAfter)
			require.Contains(t, err.Error(), tt.wantMsg)
			require.NotContains(t, err.Error(), "secret")
		})
	}
	require.NoError(t, classify(nil))
}

// A callback the policy refuses is refused when the worker connects, for
// good, and the refusal never quotes the URL.
func TestCallbackRefusedAtConnect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("a refused callback reached the server")
	}))
	defer srv.Close()
	err := classify(Sender{}.postJSON(context.Background(), srv.URL+"/hook?k=secret", struct{}{}))
	require.True(t, isRejected(err), "%v", err)
	require.ErrorIs(t, err, ErrCallbackRefused)
	require.Contains(t, err.Error(), "api.callback_hosts")
	require.NotContains(t, err.Error(), "secret")
}

// An answer that cannot be posted is recorded in the target, and the URL,
// a capability, is gone from what gets stored.
func TestDeliverRecordsWhatItCannotPost(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r := serving.Request{ID: "r1", Artist: "radiohead", State: serving.RequestFailed, Detail: "clean failed"}
	tests := []struct {
		name   string
		target Target
		want   string
	}{
		{"slack, URL expired, no bot token", Target{Kind: KindSlack, URL: "https://hooks.slack.com/x", URLExpiresAt: now.Add(-time.Second), User: "U1"},
			"<@U1> asked for radiohead"},
		{"callback, URL expired", Target{Kind: KindCallback, URL: "https://hooks.example.com/x", URLExpiresAt: now.Add(-time.Second)},
			"radiohead: failed clean failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sender{}.Deliver(context.Background(), r, nil, tt.target, now, zap.NewNop())
			require.NoError(t, err)
			require.Equal(t, ViaRecorded, got.AnsweredVia)
			require.Equal(t, now, got.AnsweredAt)
			require.Empty(t, got.URL)
			require.Contains(t, got.Answer, tt.want)
		})
	}
}
