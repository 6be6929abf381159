package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
)

const notifyArtistID = "4Z8W4fKeB5YxbusRsdQVPb"

// posted is one request a fake reply endpoint received.
type posted struct {
	Path, Auth string
	Body       []byte
	Form       url.Values
}

// replyServer stands in for a response_url, a callback_url or Slack's Web
// API: it records what it receives and answers with status and body.
type replyServer struct {
	*httptest.Server
	mu    sync.Mutex
	got   []posted
	reply func(w http.ResponseWriter, p posted)
}

func newReplyServer(t *testing.T, reply func(w http.ResponseWriter, p posted)) *replyServer {
	t.Helper()
	s := &replyServer{reply: reply}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p := posted{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			p.Form, _ = url.ParseQuery(string(body))
		}
		s.mu.Lock()
		s.got = append(s.got, p)
		s.mu.Unlock()
		s.reply(w, p)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *replyServer) received() []posted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]posted(nil), s.got...)
}

func answerOK(w http.ResponseWriter, _ posted) { _, _ = io.WriteString(w, "ok") }

func slackAPIOK(w http.ResponseWriter, _ posted) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true,"channel":"C123","ts":"1764018200.000100"}`)
}

func answerStatus(code int) func(http.ResponseWriter, posted) {
	return func(w http.ResponseWriter, _ posted) { http.Error(w, http.StatusText(code), code) }
}

// notifyStore is a serving store holding one stored artist.
func notifyStore(t *testing.T) *serving.Store {
	t.Helper()
	ctx := context.Background()
	s, err := serving.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "serving.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	pop := 71
	require.NoError(t, s.PutArtists(ctx, "2026-11-24", []serving.ArtistSnapshot{
		{ID: notifyArtistID, Name: "Radiohead", Genres: []string{"art rock"}, Popularity: &pop},
	}))
	require.NoError(t, s.PutTopTracks(ctx, "2026-11-24", notifyArtistID, []serving.TopTrack{
		{ID: "t1", Name: "Creep", Album: "Pablo Honey", DurationMS: 238_000},
		{ID: "t2", Name: "Karma Police", Album: "OK Computer", DurationMS: 264_000},
	}))
	return s
}

// putRequest stores a settled request with target as its reply target.
func putRequest(t *testing.T, s *serving.Store, id string, state serving.RequestState, target *reply.Target) {
	t.Helper()
	r := serving.Request{ID: id, Artist: "radiohead", State: state, ExpiresAt: time.Now().Add(time.Hour)}
	switch state {
	case serving.RequestStored:
		r.ArtistID = notifyArtistID
	case serving.RequestNotFound:
		r.Detail = `Spotify knows no single artist "radiohead"`
	case serving.RequestFailed:
		r.Detail = "clean failed: lake unavailable"
	}
	if target != nil {
		enc, err := target.Encode()
		require.NoError(t, err)
		r.ReplyTo = enc
	}
	require.NoError(t, s.PutRequest(context.Background(), r))
}

func storedTarget(t *testing.T, s *serving.Store, id string) reply.Target {
	t.Helper()
	r, ok, err := s.GetRequest(context.Background(), id)
	require.NoError(t, err)
	require.True(t, ok)
	target, err := reply.ParseTarget(r.ReplyTo)
	require.NoError(t, err)
	return target
}

// A settled Slack request is answered where it can be: its response_url
// while valid and accepting, else chat.postMessage with the bot token,
// else the answer is recorded. Each answer says what happened to the
// artist; the URL is gone from the store once answered.
func TestNotifySlack(t *testing.T) {
	valid, expired := time.Now().Add(30*time.Minute), time.Now().Add(-time.Minute)
	tests := []struct {
		name        string
		state       serving.RequestState
		urlExpires  time.Time
		responseURL func(http.ResponseWriter, posted)
		botToken    string
		slackAPI    func(http.ResponseWriter, posted)
		wantVia     string
		wantText    []string
		wantType    string
	}{
		{"stored, at the response_url", serving.RequestStored, valid, answerOK, "", nil,
			reply.ViaResponseURL, []string{"Radiohead", "Creep", "Karma Police"}, "in_channel"},
		{"not found", serving.RequestNotFound, valid, answerOK, "", nil,
			reply.ViaResponseURL, []string{"Spotify knows no artist *radiohead*"}, "ephemeral"},
		{"failed", serving.RequestFailed, valid, answerOK, "", nil,
			reply.ViaResponseURL, []string{"Could not collect *radiohead*: clean failed"}, "ephemeral"},
		{"expired URL, bot token", serving.RequestStored, expired, answerOK, "xoxb-test", slackAPIOK,
			reply.ViaChat, []string{"<@U456> asked for radiohead", "Creep"}, ""},
		{"expired URL, no bot token", serving.RequestStored, expired, answerOK, "", nil,
			reply.ViaRecorded, []string{"Radiohead", "Creep"}, ""},
		{"response_url refuses, bot token", serving.RequestStored, valid, answerStatus(404), "xoxb-test", slackAPIOK,
			reply.ViaChat, []string{"Creep"}, ""},
		{"response_url refuses, no bot token", serving.RequestStored, valid, answerStatus(410), "", nil,
			reply.ViaRecorded, []string{"Creep"}, ""},
		{"chat.postMessage refuses", serving.RequestStored, expired, answerOK, "xoxb-test",
			func(w http.ResponseWriter, _ posted) {
				_, _ = io.WriteString(w, `{"ok":false,"error":"not_in_channel"}`)
			},
			reply.ViaRecorded, []string{"Creep"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := notifyStore(t)
			hook := newReplyServer(t, tt.responseURL)
			a := &Activities{Serving: store, Replies: reply.Sender{SlackBotToken: tt.botToken}}
			var api *replyServer
			if tt.slackAPI != nil {
				api = newReplyServer(t, tt.slackAPI)
				a.Replies.SlackAPIURL = api.URL + "/api/"
			}
			putRequest(t, store, "slack-1", tt.state, &reply.Target{
				Kind: reply.KindSlack, URL: hook.URL + "/commands/T1/42/Capability", URLExpiresAt: tt.urlExpires,
				Channel: "C123", User: "U456",
			})
			res, err := a.Notify(context.Background(), contract.NotifyInput{RequestID: "slack-1"})
			require.NoError(t, err)
			require.Equal(t, tt.wantVia, res.Delivery)

			var text string
			switch tt.wantVia {
			case reply.ViaResponseURL:
				got := hook.received()
				require.Len(t, got, 1)
				require.Equal(t, "/commands/T1/42/Capability", got[0].Path)
				var m struct {
					ResponseType string `json:"response_type"`
				}
				require.NoError(t, json.Unmarshal(got[0].Body, &m))
				require.Equal(t, tt.wantType, m.ResponseType)
				text = string(got[0].Body)
			case reply.ViaChat:
				got := api.received()
				require.Len(t, got, 1)
				require.Equal(t, "/api/chat.postMessage", got[0].Path)
				require.True(t, got[0].Auth == "Bearer xoxb-test" || got[0].Form.Get("token") == "xoxb-test", "the bot token is sent")
				require.Equal(t, "C123", got[0].Form.Get("channel"))
				require.Contains(t, got[0].Form.Get("blocks"), "Karma Police")
				text = got[0].Form.Get("text")
			case reply.ViaRecorded:
				text = storedTarget(t, store, "slack-1").Answer
			}
			for _, s := range tt.wantText {
				require.Contains(t, text, s)
			}
			target := storedTarget(t, store, "slack-1")
			require.Empty(t, target.URL, "the capability is dropped once answered")
			require.Equal(t, tt.wantVia, target.AnsweredVia)
			require.False(t, target.AnsweredAt.IsZero())

			// A retried Notify does not answer twice.
			before := len(hook.received())
			res, err = a.Notify(context.Background(), contract.NotifyInput{RequestID: "slack-1"})
			require.NoError(t, err)
			require.Equal(t, tt.wantVia, res.Delivery)
			require.Len(t, hook.received(), before)
		})
	}
}

// A JSON API request with a callback_url gets the request's state and the
// stored artist as JSON.
func TestNotifyCallback(t *testing.T) {
	store := notifyStore(t)
	cb := newReplyServer(t, answerOK)
	// The test's server is on 127.0.0.1: on the list, loopback allowed.
	a := &Activities{Serving: store, Replies: reply.Sender{Callbacks: reply.CallbackPolicy{Hosts: []string{"127.0.0.1"}, AllowLoopback: true}}}
	putRequest(t, store, "api-1", serving.RequestStored, &reply.Target{
		Kind: reply.KindCallback, URL: cb.URL + "/hook?k=secret", URLExpiresAt: time.Now().Add(time.Minute),
	})
	res, err := a.Notify(context.Background(), contract.NotifyInput{RequestID: "api-1"})
	require.NoError(t, err)
	require.Equal(t, reply.ViaCallback, res.Delivery)
	got := cb.received()
	require.Len(t, got, 1)
	var body reply.Callback
	require.NoError(t, json.Unmarshal(got[0].Body, &body))
	require.Equal(t, "api-1", body.Request.ID)
	require.Equal(t, "stored", body.Request.State)
	require.NotNil(t, body.Artist)
	require.Equal(t, "Radiohead", body.Artist.Name)
	require.Len(t, body.Artist.TopTracks, 2)
	require.NotContains(t, string(got[0].Body), "secret", "the callback never echoes its URL")
}

// A callback the policy refuses when the worker connects (callbacks off,
// the host taken off api.callback_hosts, loopback without the development
// switch) is never posted: the answer is recorded, without a retry.
func TestNotifyCallbackRefused(t *testing.T) {
	cb := newReplyServer(t, answerOK)
	tests := []struct {
		name   string
		policy reply.CallbackPolicy
	}{
		{"callbacks off", reply.CallbackPolicy{}},
		{"host off the list", reply.CallbackPolicy{Hosts: []string{"hooks.example.com"}, AllowLoopback: true}},
		{"loopback not allowed", reply.CallbackPolicy{Hosts: []string{"127.0.0.1"}}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := notifyStore(t)
			a := &Activities{Serving: store, Replies: reply.Sender{Callbacks: tt.policy}}
			id := fmt.Sprintf("api-refused-%d", i)
			putRequest(t, store, id, serving.RequestStored, &reply.Target{
				Kind: reply.KindCallback, URL: cb.URL + "/hook?k=secret", URLExpiresAt: time.Now().Add(time.Minute),
			})
			res, err := a.Notify(context.Background(), contract.NotifyInput{RequestID: id})
			require.NoError(t, err)
			require.Equal(t, reply.ViaRecorded, res.Delivery)
			require.Empty(t, cb.received(), "nothing is posted")
		})
	}
}

// Requests that need no answer are left alone; one that has not settled
// or carries a foreign reply target is a non-retryable error.
func TestNotifyWithoutAnswer(t *testing.T) {
	store := notifyStore(t)
	a := &Activities{Serving: store}
	putRequest(t, store, "cli-1", serving.RequestStored, nil)
	putRequest(t, store, "slack-pending", serving.RequestPending, &reply.Target{Kind: reply.KindSlack, Channel: "C1"})
	require.NoError(t, store.PutRequest(context.Background(), serving.Request{
		ID: "foreign", Artist: "x", State: serving.RequestStored, ReplyTo: "mailto:ops@example.com", ExpiresAt: time.Now().Add(time.Hour),
	}))
	tests := []struct {
		id      string
		wantVia string
		wantErr string
	}{
		{"cli-1", reply.ViaNone, ""},
		{"never-existed", reply.ViaNone, ""},
		{"slack-pending", "", "it is pending, not settled"},
		{"foreign", "", "reply target is not what `starter serve` stores"},
		{"", "", "empty request ID"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			res, err := a.Notify(context.Background(), contract.NotifyInput{RequestID: tt.id})
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, tt.wantVia, res.Delivery)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app))
			require.True(t, app.NonRetryable())
		})
	}
}

// An answer that may succeed later (a 5xx, a rate limit, an unreachable
// host) is a retryable error that never carries the URL, a capability
// that must not reach workflow history; nothing is marked answered.
func TestNotifyRetryableFailures(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name      string
		url       func(t *testing.T) string
		wantType  string
		wantDelay time.Duration
	}{
		{"server error", func(t *testing.T) string { return newReplyServer(t, answerStatus(503)).URL }, "ReplyUnavailable", 0},
		{"rate limited", func(t *testing.T) string {
			return newReplyServer(t, func(w http.ResponseWriter, _ posted) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
			}).URL
		}, contract.ErrRateLimited, 7 * time.Second},
		{"unreachable", func(*testing.T) string { return closedURL }, "ReplyUnavailable", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := notifyStore(t)
			a := &Activities{Serving: store, Replies: reply.Sender{SlackBotToken: "xoxb-test"}}
			target := &reply.Target{Kind: reply.KindSlack, URL: tt.url(t) + "/commands/T1/42/Capability",
				URLExpiresAt: time.Now().Add(time.Minute), Channel: "C123"}
			putRequest(t, store, "slack-2", serving.RequestStored, target)
			_, err := a.Notify(context.Background(), contract.NotifyInput{RequestID: "slack-2"})
			require.Error(t, err)
			require.NotContains(t, err.Error(), "Capability")
			// The server reads the type, retryability and delay of the
			// top error only, not of an error it wraps.
			app, top := err.(*temporal.ApplicationError)
			require.True(t, top, "%T: %v", err, err)
			require.Equal(t, tt.wantType, app.Type())
			require.False(t, app.NonRetryable())
			require.Equal(t, tt.wantDelay, app.NextRetryDelay())
			require.Equal(t, target.URL, storedTarget(t, store, "slack-2").URL, "not answered yet")
		})
	}
}
