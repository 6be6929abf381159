package botapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
)

// Every /v1/ route wants the exact bearer token; nothing is stored or
// started otherwise.
func TestAPIAuth(t *testing.T) {
	tests := []struct {
		name   string
		header string // Authorization; "-" omits it
	}{
		{"missing", "-"},
		{"empty", ""},
		{"wrong token", "Bearer not-the-token"},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1]},
		{"token with suffix", "Bearer " + testToken + "x"},
		{"basic scheme", "Basic " + testToken},
		{"no scheme", testToken},
		{"lower-case scheme", "bearer " + testToken},
	}
	routes := []struct{ method, path, body string }{
		{http.MethodPost, "/v1/artist-requests", `{"artists":["Someone New"]}`},
		{http.MethodGet, "/v1/artists/Radiohead", ""},
		{http.MethodGet, "/v1/requests/api-0011223344556677", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, rt := range routes {
				r := httptest.NewRequest(rt.method, rt.path, strings.NewReader(rt.body))
				if tt.header != "-" {
					r.Header.Set("Authorization", tt.header)
				}
				w := serve(f.h, r)
				require.Equal(t, http.StatusUnauthorized, w.Code, rt.path)
				require.Equal(t, `Bearer realm="metronome"`, w.Header().Get("WWW-Authenticate"))
				require.NotContains(t, w.Body.String(), "Radiohead")
			}
			require.Zero(t, f.store.puts.Load())
			require.Empty(t, f.collect.started())
		})
	}
}

// Bad bodies are refused with a 400 naming the field (413 when too
// large), before anything is stored or started.
func TestAPIRejectsBadBodies(t *testing.T) {
	fifty := make([]string, 51)
	for i := range fifty {
		fifty[i] = fmt.Sprintf("%q", fmt.Sprintf("Artist %d", i))
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantMsg    string
	}{
		{"empty body", ``, 400, "body: want a JSON object"},
		{"malformed", `{"artists": [`, 400, "body: malformed JSON"},
		{"not an object", `["Radiohead"]`, 400, "body: want a JSON object"},
		{"artists not a list", `{"artists": "Radiohead"}`, 400, "artists: want an array of strings"},
		{"artist not a string", `{"artists": [42]}`, 400, "artists"},
		{"no artists field", `{}`, 400, "artists: want 1 to 50"},
		{"empty list", `{"artists": []}`, 400, "artists: want 1 to 50"},
		{"51 artists", `{"artists": [` + strings.Join(fifty, ",") + `]}`, 400, "artists: want at most 50, got 51"},
		{"blank artist", `{"artists": ["Radiohead", "  "]}`, 400, "artists[1]: blank"},
		{"long artist", `{"artists": ["` + strings.Repeat("a", 201) + `"]}`, 400, "artists[0]: 201 bytes, at most 200"},
		{"control character", `{"artists": ["Radio\u0000head"]}`, 400, "artists[0]: not printable"},
		{"unknown field", `{"artists": ["Radiohead"], "priority": "high"}`, 400, `"priority": unknown field`},
		{"callback not https", `{"artists": ["X"], "callback_url": "http://example.com/cb"}`, 400, "callback_url: URL of host example.com: http only to a loopback host"},
		{"callback of another scheme", `{"artists": ["X"], "callback_url": "file:///etc/passwd"}`, 400, "callback_url:"},
		{"callback not a URL", `{"artists": ["X"], "callback_url": "::"}`, 400, "callback_url:"},
		{"callback with user info", `{"artists": ["X"], "callback_url": "https://u:p@example.com/cb"}`, 400, "callback_url:"},
		{"two objects", `{"artists": ["X"]} {"artists": ["Y"]}`, 400, "body: want one JSON object"},
		{"over 64 KiB", `{"artists": ["` + strings.Repeat("a", MaxBody) + `"]}`, 413, "over 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := serve(f.h, apiRequest(http.MethodPost, "/v1/artist-requests", tt.body))
			require.Equal(t, tt.wantStatus, w.Code, w.Body.String())
			var e struct{ Error string }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
			require.Contains(t, e.Error, tt.wantMsg)
			require.Zero(t, f.store.puts.Load())
			require.Empty(t, f.collect.started())
		})
	}
}

// A request names its artists; the unknown ones are recorded (with the
// callback, never shown back) and collected, the known ones answered at
// once; /v1/requests/{id} follows each request's state.
func TestAPIRequestsAndTheirState(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Callbacks.Hosts = []string{"bot.example.com"} })
	body := `{"artists": ["Someone New", "radiohead", "spotify:artist:1vCWHaC5f2uS3yhpwWbIA6"],
		"callback_url": "https://bot.example.com/metronome/callback?k=CallbackSecret"}`
	w := serve(f.h, apiRequest(http.MethodPost, "/v1/artist-requests", body))
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	var acc Accepted
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &acc))
	require.Equal(t, testWorkflow, acc.WorkflowID)
	require.Len(t, acc.Requests, 3)
	require.NotContains(t, w.Body.String(), "CallbackSecret")

	newOne, known, byID := acc.Requests[0], acc.Requests[1], acc.Requests[2]
	require.Equal(t, "Someone New", newOne.Artist)
	require.Equal(t, "pending", newOne.State)
	require.Equal(t, "stored", known.State)
	require.Equal(t, extendedID, known.ArtistID)
	require.Equal(t, "1vCWHaC5f2uS3yhpwWbIA6", byID.Artist)
	require.Equal(t, "pending", byID.State)
	require.ElementsMatch(t, []collected{{newOne.ID, "Someone New"}, {byID.ID, "1vCWHaC5f2uS3yhpwWbIA6"}}, f.collect.started())

	// The unknown ones carry the callback, the known one none.
	ctx := context.Background()
	for _, rs := range []reply.RequestStatus{newOne, byID} {
		r, ok, err := f.raw.GetRequest(ctx, rs.ID)
		require.NoError(t, err)
		require.True(t, ok)
		target, err := reply.ParseTarget(r.ReplyTo)
		require.NoError(t, err)
		require.Equal(t, reply.KindCallback, target.Kind)
		require.Equal(t, "https://bot.example.com/metronome/callback?k=CallbackSecret", target.URL)
	}
	r, ok, err := f.raw.GetRequest(ctx, known.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.Empty(t, r.ReplyTo)

	get := func(id string) (int, reply.RequestStatus, string) {
		w := serve(f.h, apiRequest(http.MethodGet, "/v1/requests/"+id, ""))
		var st reply.RequestStatus
		if w.Code == http.StatusOK {
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &st))
		}
		return w.Code, st, w.Body.String()
	}
	code, st, raw := get(newOne.ID)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "pending", st.State)
	require.NotContains(t, raw, "CallbackSecret", "the reply target is never shown")

	// The workflow moves it on.
	for _, state := range []serving.RequestState{serving.RequestCollecting, serving.RequestStored} {
		require.NoError(t, f.raw.UpdateRequestState(ctx, newOne.ID, state, "2p8cEpyTlmHbBkd8uZ7hQx", ""))
		code, st, _ = get(newOne.ID)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, string(state), st.State)
	}
	require.Equal(t, "2p8cEpyTlmHbBkd8uZ7hQx", st.ArtistID)
	require.NoError(t, f.raw.UpdateRequestState(ctx, byID.ID, serving.RequestNotFound, "", "Spotify returned no artist"))
	code, st, _ = get(byID.ID)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "not_found", st.State)
	require.Equal(t, "Spotify returned no artist", st.Detail)

	for _, id := range []string{"api-0000000000000000", "..%2F..%2Fetc", strings.Repeat("a", 65)} {
		code, _, _ = get(id)
		require.Equal(t, http.StatusNotFound, code, id)
	}
}

// GET /v1/artists/{id-or-name} answers the store's view, by ID, URI or
// name in any case; 404 for an artist it does not know.
func TestAPIArtists(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		key      string
		wantCode int
		wantName string
	}{
		{extendedID, 200, "Radiohead"},
		{"spotify:artist:" + extendedID, 200, "Radiohead"},
		{"RadioHead", 200, "Radiohead"},
		{"Ada%20%26%20The%20%3CLoops%3E", 200, "Ada & The <Loops>"},
		{"AC%2FDC", 404, ""},
		{"Nobody", 404, ""},
		{"1vCWHaC5f2uS3yhpwWbIA6", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			w := serve(f.h, apiRequest(http.MethodGet, "/v1/artists/"+tt.key, ""))
			require.Equal(t, tt.wantCode, w.Code, w.Body.String())
			if tt.wantCode != 200 {
				require.Contains(t, w.Body.String(), "POST /v1/artist-requests")
				return
			}
			var a reply.ArtistJSON
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &a))
			require.Equal(t, tt.wantName, a.Name)
		})
	}
	w := serve(f.h, apiRequest(http.MethodGet, "/v1/artists/radiohead", ""))
	var a reply.ArtistJSON
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &a))
	require.Equal(t, reply.ArtistJSON{
		ID: extendedID, Name: "Radiohead", Genres: []string{"art rock", "alternative"},
		Popularity: ptr(79), Followers: ptr(int64(9876543)), DT: "2026-11-01",
		TopTracks: []reply.TrackJSON{
			{Rank: 1, ID: "t1", Name: "Creep", Album: "Pablo Honey", Popularity: ptr(85), DurationMS: 238_000},
			{Rank: 2, ID: "t2", Name: "Karma Police", Album: "OK Computer", DurationMS: 264_000},
		},
		Similar: []reply.SimilarJSON{{ArtistID: developmentID, Name: "Ada & The <Loops>", Score: 0.8}},
	}, a)
	require.Zero(t, f.store.puts.Load())
}

// A dependency that fails or hangs makes the API answer 503 with a message
// in time; a request accepted before Temporal failed is reported.
func TestAPIUnavailableDependencies(t *testing.T) {
	t.Run("store hangs", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.Deadline = 100 * time.Millisecond })
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		f.store.hang = release
		for _, r := range []*http.Request{
			apiRequest(http.MethodGet, "/v1/artists/Radiohead", ""),
			apiRequest(http.MethodGet, "/v1/requests/api-0011223344556677", ""),
			apiRequest(http.MethodPost, "/v1/artist-requests", `{"artists":["X"]}`),
			httptest.NewRequest(http.MethodGet, "/readyz", nil),
		} {
			w := serve(f.h, r)
			require.Equal(t, http.StatusServiceUnavailable, w.Code, r.URL.Path)
			require.Contains(t, w.Body.String(), "did not answer in time", r.URL.Path)
		}
	})
	t.Run("Temporal refuses", func(t *testing.T) {
		f := newFixture(t)
		f.collect.err = errors.New("connection refused")
		w := serve(f.h, apiRequest(http.MethodPost, "/v1/artist-requests", `{"artists":["Radiohead", "Someone New"]}`))
		require.Equal(t, http.StatusServiceUnavailable, w.Code)
		var out struct {
			Error    string
			Requests []reply.RequestStatus
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		require.Contains(t, out.Error, `Cannot collect right now: the workflow service is not answering, so "Someone New" was not requested`)
		require.Equal(t, "60", w.Header().Get("Retry-After"))
		require.Len(t, out.Requests, 2)
		require.Equal(t, "stored", out.Requests[0].State, "the known artist was answered before")
		require.Equal(t, "failed", out.Requests[1].State, "the unknown one is refused, not kept")
		require.Equal(t, CannotCollect, out.Requests[1].Detail)
		req, ok, err := f.raw.GetRequest(context.Background(), out.Requests[1].ID)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, serving.RequestFailed, req.State)
	})
}

// /healthz answers while the process is up; /readyz reads the store and
// runs the checks.
func TestHealthAndReadiness(t *testing.T) {
	tests := []struct {
		name      string
		temporal  error
		storeErr  error
		wantCode  int
		wantCheck map[string]string
	}{
		{"ready", nil, nil, 200, map[string]string{"serving": "ok", "temporal": "ok"}},
		{"Temporal down", errors.New("connection refused"), nil, 503, map[string]string{"serving": "ok", "temporal": "connection refused"}},
		{"store down", nil, errors.New("no such table"), 503, map[string]string{"serving": "no such table", "temporal": "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) {
				o.Checks = []Check{{Name: "temporal", Fn: func(context.Context) error { return tt.temporal }}}
			})
			f.store.failErr = tt.storeErr
			w := serve(f.h, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			require.Equal(t, tt.wantCode, w.Code)
			var out struct{ Checks map[string]string }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
			require.Equal(t, tt.wantCheck, out.Checks)
			h := serve(f.h, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			require.Equal(t, http.StatusOK, h.Code)
		})
	}
}
