package botapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/serving"
)

const (
	testSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	testToken    = "test-api-token-0123456789"
	testWorkflow = "artist-requests"
	// IDs of the seeded artists.
	extendedID    = "4Z8W4fKeB5YxbusRsdQVPb"
	developmentID = "0TnOYISbd1XYRBk9myaseg"
	responseURL   = "https://hooks.slack.com/commands/T000/1234/SecretCapabilityPart"
)

func ptr[T any](v T) *T { return &v }

// openStore is a fresh SQLite serving store holding two artists: one of
// extended mode (followers, popularity, top tracks, similar) and one of
// development mode (releases only).
func openStore(t testing.TB) *serving.Store {
	t.Helper()
	ctx := context.Background()
	s, err := serving.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "serving.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.PutArtists(ctx, "2026-11-01", []serving.ArtistSnapshot{
		{ID: extendedID, Name: "Radiohead", Genres: []string{"art rock", "alternative"},
			Popularity: ptr(79), Followers: ptr(int64(9876543))},
		{ID: developmentID, Name: "Ada & The <Loops>", Genres: []string{"electronica"}},
	}))
	require.NoError(t, s.PutTopTracks(ctx, "2026-11-01", extendedID, []serving.TopTrack{
		{ID: "t1", Name: "Creep", Album: "Pablo Honey", Popularity: ptr(85), DurationMS: 238_000},
		{ID: "t2", Name: "Karma Police", Album: "OK Computer", DurationMS: 264_000},
	}))
	require.NoError(t, s.PutSimilar(ctx, "2026-11-01", extendedID, []serving.Similar{
		{ArtistID: developmentID, Name: "Ada & The <Loops>", Score: 0.8},
	}))
	require.NoError(t, s.PutReleases(ctx, "2026-11-01", developmentID, []serving.Release{
		{AlbumID: "a1", Name: "Night Drive", Type: "single", ReleaseDate: "2026-10-01"},
	}))
	require.NoError(t, s.PutName(ctx, "Radiohead", extendedID, serving.NameExact))
	require.NoError(t, s.PutName(ctx, "Ada & The <Loops>", developmentID, serving.NameExact))
	return s
}

// spyStore counts writes and can hang every call (ignoring its context,
// like a backend that does not honour deadlines) or fail it.
type spyStore struct {
	Store
	puts    atomic.Int32
	hang    chan struct{} // closed by the test's cleanup
	failErr error
}

func (s *spyStore) wait() error {
	if s.hang != nil {
		<-s.hang
	}
	return s.failErr
}

func (s *spyStore) Artist(ctx context.Context, id string) (serving.ArtistView, bool, error) {
	if err := s.wait(); err != nil {
		return serving.ArtistView{}, false, err
	}
	return s.Store.Artist(ctx, id)
}

func (s *spyStore) ArtistByName(ctx context.Context, name string) (serving.ArtistView, bool, error) {
	if err := s.wait(); err != nil {
		return serving.ArtistView{}, false, err
	}
	return s.Store.ArtistByName(ctx, name)
}

func (s *spyStore) PutRequest(ctx context.Context, r serving.Request) error {
	if err := s.wait(); err != nil {
		return err
	}
	s.puts.Add(1)
	return s.Store.PutRequest(ctx, r)
}

func (s *spyStore) GetRequest(ctx context.Context, id string) (serving.Request, bool, error) {
	if err := s.wait(); err != nil {
		return serving.Request{}, false, err
	}
	return s.Store.GetRequest(ctx, id)
}

// collected is one call of the collect function.
type collected struct{ ID, Artist string }

// spyCollect records the collections started; it can hang or fail.
type spyCollect struct {
	mu    sync.Mutex
	calls []collected
	hang  chan struct{}
	err   error
}

func (c *spyCollect) collect(_ context.Context, id, artist string) error {
	if c.hang != nil {
		<-c.hang
	}
	if c.err != nil {
		return c.err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, collected{id, artist})
	return nil
}

func (c *spyCollect) started() []collected {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]collected(nil), c.calls...)
}

// fixture is a handler over a seeded store with spies.
type fixture struct {
	h       http.Handler
	store   *spyStore
	collect *spyCollect
	raw     *serving.Store
}

func newFixture(t testing.TB, mutate ...func(*Options)) *fixture {
	t.Helper()
	raw := openStore(t)
	f := &fixture{store: &spyStore{Store: raw}, collect: &spyCollect{}, raw: raw}
	o := Options{
		Store: f.store, Collect: f.collect.collect, WorkflowID: testWorkflow,
		SigningSecret: testSecret, APIToken: testToken,
	}
	for _, m := range mutate {
		m(&o)
	}
	h, err := New(o)
	require.NoError(t, err)
	f.h = h
	return f
}

// sign is Slack's v0 signature of body at ts with secret.
func sign(secret string, ts int64, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%d:%s", ts, body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// commandForm is a slash command as Slack posts it.
func commandForm(text string) url.Values {
	return url.Values{
		"token": {"deprecated"}, "team_id": {"T000"}, "team_domain": {"acme"},
		"channel_id": {"C123"}, "channel_name": {"music"}, "user_id": {"U456"}, "user_name": {"ana"},
		"command": {"/metronome"}, "text": {text}, "response_url": {responseURL},
		"trigger_id": {"13345224609.738474920.8088930838d88f008e0"}, "api_app_id": {"A000"},
	}
}

// slackRequest is a POST /slack/commands of body, signed now with secret.
func slackRequest(body, secret string) *http.Request {
	ts := time.Now().Unix()
	r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	r.Header.Set("X-Slack-Signature", sign(secret, ts, body))
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// slackAnswer decodes a slash command's response.
type slackAnswer struct {
	ResponseType string            `json:"response_type"`
	Text         string            `json:"text"`
	Blocks       []json.RawMessage `json:"blocks"`
}

func decodeAnswer(t *testing.T, w *httptest.ResponseRecorder) (slackAnswer, string) {
	t.Helper()
	var a slackAnswer
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &a), w.Body.String())
	return a, unescapedJSON(t, w.Body.Bytes())
}

// unescapedJSON re-encodes a JSON document without escaping <, > and &, so
// tests can look for the text a client sees.
func unescapedJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v), string(b))
	var out strings.Builder
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return out.String()
}

// apiRequest is a JSON API request with the bearer token.
func apiRequest(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}
