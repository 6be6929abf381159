package botapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
)

// Verification comes first: a request that is not signed by Slack with
// our secret, or signed too long ago or in the future, or too large, is
// refused with nothing stored and nothing started. The valid case asks for
// an unknown artist, so it does store and start: the table is not vacuous.
func TestSlackVerification(t *testing.T) {
	body := commandForm("Nobody Tracks Them Yet").Encode()
	now := time.Now().Unix()
	big := commandForm(strings.Repeat("x", MaxBody)).Encode()
	tests := []struct {
		name       string
		body       string
		ts         string // X-Slack-Request-Timestamp; "-" omits it
		sig        string // X-Slack-Signature; "-" omits it
		wantStatus int
	}{
		{"valid", body, strconv.FormatInt(now, 10), sign(testSecret, now, body), http.StatusOK},
		{"wrong secret", body, strconv.FormatInt(now, 10), sign("another-secret", now, body), http.StatusUnauthorized},
		{"body altered by one byte", body[:len(body)-1] + "X", strconv.FormatInt(now, 10), sign(testSecret, now, body), http.StatusUnauthorized},
		{"signature of another timestamp", body, strconv.FormatInt(now, 10), sign(testSecret, now-1, body), http.StatusUnauthorized},
		{"stale timestamp", body, strconv.FormatInt(now-6*60, 10), sign(testSecret, now-6*60, body), http.StatusUnauthorized},
		{"future timestamp", body, strconv.FormatInt(now+6*60, 10), sign(testSecret, now+6*60, body), http.StatusUnauthorized},
		{"timestamp not a number", body, "yesterday", sign(testSecret, now, body), http.StatusUnauthorized},
		{"missing signature", body, strconv.FormatInt(now, 10), "-", http.StatusUnauthorized},
		{"missing timestamp", body, "-", sign(testSecret, now, body), http.StatusUnauthorized},
		{"missing both headers", body, "-", "-", http.StatusUnauthorized},
		{"v1= scheme", body, strconv.FormatInt(now, 10), "v1=" + strings.TrimPrefix(sign(testSecret, now, body), "v0="), http.StatusUnauthorized},
		{"signature not hex", body, strconv.FormatInt(now, 10), "v0=not-hex", http.StatusUnauthorized},
		{"truncated signature", body, strconv.FormatInt(now, 10), sign(testSecret, now, body)[:40], http.StatusUnauthorized},
		{"oversized body, validly signed", big, strconv.FormatInt(now, 10), sign(testSecret, now, big), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.ts != "-" {
				r.Header.Set("X-Slack-Request-Timestamp", tt.ts)
			}
			if tt.sig != "-" {
				r.Header.Set("X-Slack-Signature", tt.sig)
			}
			w := serve(f.h, r)
			require.Equal(t, tt.wantStatus, w.Code, w.Body.String())
			if tt.wantStatus != http.StatusOK {
				require.Zero(t, f.store.puts.Load(), "nothing stored")
				require.Empty(t, f.collect.started(), "nothing started")
				require.NotContains(t, w.Body.String(), "Nobody Tracks")
				return
			}
			require.EqualValues(t, 1, f.store.puts.Load())
			require.Len(t, f.collect.started(), 1)
		})
	}
}

// Without a signing secret the Slack route is not there at all; without
// an API token neither is the JSON API.
func TestOptionalRoutesAreNotMounted(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.SigningSecret, o.APIToken = "", "" })
	body := commandForm("Radiohead").Encode()
	w := serve(f.h, slackRequest(body, ""))
	require.Equal(t, http.StatusNotFound, w.Code)
	for _, r := range []*http.Request{
		apiRequest(http.MethodPost, "/v1/artist-requests", `{"artists":["Radiohead"]}`),
		apiRequest(http.MethodGet, "/v1/artists/Radiohead", ""),
		apiRequest(http.MethodGet, "/v1/requests/slack-0123", ""),
	} {
		require.Equal(t, http.StatusNotFound, serve(f.h, r).Code, r.URL.Path)
	}
	require.Zero(t, f.store.puts.Load())
	require.Empty(t, f.collect.started())
	require.Equal(t, http.StatusOK, serve(f.h, httptest.NewRequest(http.MethodGet, "/healthz", nil)).Code)
}

// A known artist is answered at once from the store, in the channel, with
// what the API mode has; help and an empty command explain the command;
// nothing is stored or started. Markup in stored names (& < >) is escaped
// in mrkdwn text, so a name cannot mention @channel or forge a link.
func TestSlackAnswersKnownArtistsFromTheStore(t *testing.T) {
	tests := []struct {
		text     string
		wantType string
		want     []string
		notWant  []string
	}{
		{"help", "ephemeral", []string{"/metronome Daft Punk"}, nil},
		{"   ", "ephemeral", []string{"Ask me about an artist"}, nil},
		{"radiohead", "in_channel", []string{"Radiohead", "art rock, alternative", "9,876,543", "79/100", "1. Creep",
			"Pablo Honey", "(3:58)", "Karma Police", "Similar artists", "Ada &amp; The &lt;Loops&gt;", "2026-11-01",
			"https://open.spotify.com/artist/" + extendedID}, []string{"Latest releases"}},
		{"  RADIOHEAD  ", "in_channel", []string{"1. Creep"}, nil},
		{extendedID, "in_channel", []string{"Radiohead", "Karma Police"}, nil},
		{"spotify:artist:" + extendedID, "in_channel", []string{"Radiohead"}, nil},
		{"<https://open.spotify.com/intl-de/artist/" + extendedID + "?si=abc|open.spotify.com/artist/…>", "in_channel", []string{"Radiohead"}, nil},
		{"Ada & The <Loops>", "in_channel", []string{"Latest releases", "Night Drive (single, 2026-10-01)", "electronica"},
			[]string{"Followers", "Popularity", "Top tracks"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			f := newFixture(t)
			w := serve(f.h, slackRequest(commandForm(tt.text).Encode(), testSecret))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			a, raw := decodeAnswer(t, w)
			require.Equal(t, tt.wantType, a.ResponseType)
			for _, s := range tt.want {
				require.Contains(t, raw, s)
			}
			for _, s := range tt.notWant {
				require.NotContains(t, raw, s)
			}
			// Markup in stored names is escaped wherever Slack parses it.
			require.NotContains(t, a.Text, "<Loops>")
			require.Zero(t, f.store.puts.Load(), "nothing stored")
			require.Empty(t, f.collect.started(), "nothing started")
		})
	}
}

// An unknown artist is acknowledged at once; the request, with where to
// answer, is stored before collection starts, and collection gets only the
// request ID and the artist.
func TestSlackStartsCollectionForUnknownArtists(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, func(o *Options) { o.Now = func() time.Time { return now } })
	w := serve(f.h, slackRequest(commandForm("  Boards   of Canada ").Encode(), testSecret))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	a, _ := decodeAnswer(t, w)
	require.Equal(t, "ephemeral", a.ResponseType)
	require.Contains(t, a.Text, "Collecting *Boards of Canada*")

	started := f.collect.started()
	require.Len(t, started, 1)
	require.Equal(t, "Boards of Canada", started[0].Artist)
	require.True(t, strings.HasPrefix(started[0].ID, "slack-"), started[0].ID)
	require.NotContains(t, started[0].ID+started[0].Artist, "hooks.slack.com")

	// Read the item raw: the store's clock is not the handler's.
	items, err := f.raw.Items(context.Background(), "REQUEST#"+started[0].ID)
	require.NoError(t, err)
	require.Len(t, items, 1)
	replyTo, _ := items[0].Attrs["reply_to"].(string)
	target, err := reply.ParseTarget(replyTo)
	require.NoError(t, err)
	require.Equal(t, reply.Target{Kind: reply.KindSlack, URL: responseURL, URLExpiresAt: now.Add(30 * time.Minute),
		Channel: "C123", User: "U456"}, target)
	require.Equal(t, "Boards of Canada", items[0].Attrs["artist"])
	require.Equal(t, string(serving.RequestPending), items[0].Attrs["state"])
	require.EqualValues(t, now.Add(24*time.Hour).Unix(), items[0].Attrs["expires_at"])
}

// A command for an ID the store does not know is collected by that ID,
// whatever form it was given in.
func TestSlackCollectsUnknownIDsByID(t *testing.T) {
	const id = "1vCWHaC5f2uS3yhpwWbIA6"
	for _, text := range []string{id, "spotify:artist:" + id, "https://open.spotify.com/artist/" + id + "?si=x"} {
		f := newFixture(t)
		w := serve(f.h, slackRequest(commandForm(text).Encode(), testSecret))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		started := f.collect.started()
		require.Len(t, started, 1, text)
		require.Equal(t, id, started[0].Artist, text)
	}
}

// A slow or failing store or Temporal gives a 503 with a message within
// the deadline, not a hang, even when the dependency ignores its context.
func TestSlackUnavailableDependencies(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		setup   func(f *fixture, release chan struct{})
		wantMsg string
		puts    int32
	}{
		{"store hangs", "Radiohead", func(f *fixture, release chan struct{}) { f.store.hang = release },
			"the serving store did not answer in time", 0},
		{"store fails", "Radiohead", func(f *fixture, _ chan struct{}) { f.store.failErr = errors.New("disk I/O error") },
			"the serving store is not answering", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.Deadline = 100 * time.Millisecond })
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			tt.setup(f, release)
			w := serveWithin(t, f.h, slackRequest(commandForm(tt.text).Encode(), testSecret), "no response while a dependency hangs")
			require.Equal(t, http.StatusServiceUnavailable, w.Code)
			a, _ := decodeAnswer(t, w)
			require.Contains(t, a.Text, tt.wantMsg)
			require.Equal(t, tt.puts, f.store.puts.Load())
		})
	}
}

// While Temporal hangs or refuses, an unknown artist is answered "cannot
// collect right now" within the deadline, with a 200 (Slack shows the
// asker nothing else), and its request is recorded as failed, not kept.
func TestSlackCannotCollectWhileTemporalIsDown(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture, release chan struct{})
	}{
		{"Temporal hangs", func(f *fixture, release chan struct{}) { f.collect.hang = release }},
		{"Temporal refuses", func(f *fixture, _ chan struct{}) { f.collect.err = errors.New("connection refused") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.Deadline = 200 * time.Millisecond })
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			tt.setup(f, release)
			w := serveWithin(t, f.h, slackRequest(commandForm("Someone New").Encode(), testSecret), "no response while Temporal is down")
			require.Equal(t, http.StatusOK, w.Code)
			a, _ := decodeAnswer(t, w)
			require.Equal(t, "ephemeral", a.ResponseType)
			require.Contains(t, a.Text, `Cannot collect right now: the workflow service is not answering, so "Someone New" was not requested`)
			require.Contains(t, a.Text, "ask again in a minute")
			require.GreaterOrEqual(t, f.store.puts.Load(), int32(1), "the request was recorded before collecting")
			require.Empty(t, f.collect.started())
		})
	}
	t.Run("the refused request is marked failed", func(t *testing.T) {
		f := newFixture(t)
		f.collect.err = errors.New("connection refused")
		w := serve(f.h, slackRequest(commandForm("Someone New").Encode(), testSecret))
		require.Equal(t, http.StatusOK, w.Code)
		require.Equal(t, int32(2), f.store.puts.Load(), "recorded pending, then failed")
		items, err := f.raw.Items(context.Background(), "REQUEST#")
		require.NoError(t, err)
		require.Len(t, items, 1)
		req, ok, err := f.raw.GetRequest(context.Background(), strings.TrimPrefix(items[0].PK, "REQUEST#"))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, serving.RequestFailed, req.State)
		require.Equal(t, CannotCollect, req.Detail, "the detail the JSON API answers too")
	})
}

// serveWithin is serve with a safety net: a handler that hangs fails the
// test with msg after 10 s instead of hanging it.
func serveWithin(t *testing.T, h http.Handler, r *http.Request, msg string) *httptest.ResponseRecorder {
	t.Helper()
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- serve(h, r) }()
	select {
	case w := <-done:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
		return nil
	}
}
