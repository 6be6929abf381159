package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/botapi"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// apiDo sends a JSON API request with the bearer token and returns the
// status, headers and body.
func apiDo(t *testing.T, method, url, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+serveToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, raw
}

// readiness is the body of /readyz.
type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func readyz(t *testing.T, base string) (int, readiness) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(base + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var r readiness
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	return resp.StatusCode, r
}

// The front door keeps answering: with Temporal down (TEMPORAL_ADDRESS on
// a port nobody listens on) serve starts, /healthz is ok, /readyz is 503
// naming temporal, a stored artist is answered from the serving store on
// the JSON API and as a slash command, and an unknown artist is refused
// "cannot collect right now" on both (recorded as failed, not kept). Once
// the embedded server is started on that port, with a worker, serve turns
// ready by itself and the same unknown artist, asked again, is collected.
func TestServeWhileTemporalIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server")
	}
	dir := isolateEnv(t)
	t.Setenv("METRONOME_LOG_LEVEL", "warn")
	t.Setenv("METRONOME_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("SLACK_SIGNING_SECRET", serveSecret)
	t.Setenv("METRONOME_API_TOKEN", serveToken)
	port, err := devserver.FreePort("127.0.0.1") // free a moment ago: nobody listens
	require.NoError(t, err)
	address := "127.0.0.1:" + strconv.Itoa(port)
	t.Setenv("TEMPORAL_ADDRESS", address)

	// A stored artist, written as the worker would.
	ctx := context.Background()
	cfg, err := config.NewLoader().Load()
	require.NoError(t, err)
	store, err := serving.Open(ctx, cfg.Serving.URL)
	require.NoError(t, err)
	const knownID = "4Z8W4fKeB5YxbusRsdQVPb"
	require.NoError(t, store.PutArtists(ctx, "2026-11-01", []serving.ArtistSnapshot{{ID: knownID, Name: "Stored Before The Outage"}}))
	require.NoError(t, store.Close())

	bot := startServe(t) // waits for /healthz
	code, ready := readyz(t, bot.base)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "ok", ready.Checks["serving"])
	require.NotEqual(t, "ok", ready.Checks["temporal"], "readyz names the dependency that is down: %v", ready.Checks)
	require.Contains(t, ready.Checks["temporal"], "Temporal at "+address)
	t.Logf("/readyz while Temporal is down: %v", ready.Checks)

	status, _, raw := apiDo(t, http.MethodGet, bot.base+"/v1/artists/"+knownID, "")
	require.Equal(t, http.StatusOK, status, string(raw))
	var a reply.ArtistJSON
	require.NoError(t, json.Unmarshal(raw, &a))
	require.Equal(t, "Stored Before The Outage", a.Name)
	known, _ := slashCommand(t, bot.base, knownID, "https://hooks.slack.com/commands/T0/known")
	require.Equal(t, "in_channel", known.ResponseType)
	require.Contains(t, known.Text, "Stored Before The Outage")

	const catalogSize = 10
	unknown := spotifyfake.NewCatalog(catalogSize, 1).Artists()[0]
	refused, _ := slashCommand(t, bot.base, unknown.Name, "https://hooks.slack.com/commands/T0/refused")
	require.Equal(t, "ephemeral", refused.ResponseType)
	require.Contains(t, refused.Text, "Cannot collect right now")
	status, header, raw := apiDo(t, http.MethodPost, bot.base+"/v1/artist-requests", `{"artists": [`+strconv.Quote(unknown.Name)+`]}`)
	require.Equal(t, http.StatusServiceUnavailable, status, string(raw))
	require.Contains(t, string(raw), "Cannot collect right now")
	require.Equal(t, strconv.Itoa(botapi.RetryAfter), header.Get("Retry-After"))
	var refusedAPI struct {
		Requests []reply.RequestStatus `json:"requests"`
	}
	require.NoError(t, json.Unmarshal(raw, &refusedAPI))
	require.Len(t, refusedAPI.Requests, 1)
	require.Equal(t, "failed", refusedAPI.Requests[0].State, "refused, not kept")

	// Temporal comes back on the same port; serve was not restarted.
	_, c := devservertest.Start(t, devservertest.WithServer(devserver.Options{Port: port}))
	startRealWorker(t, c, catalogSize)
	require.Eventually(t, func() bool {
		code, _ := readyz(t, bot.base)
		return code == http.StatusOK
	}, time.Minute, 200*time.Millisecond, "serve turns ready once Temporal is back") // a safety net

	// The refused request stays refused; asked again, the artist is collected.
	status, _, raw = apiDo(t, http.MethodGet, bot.base+"/v1/requests/"+refusedAPI.Requests[0].ID, "")
	require.Equal(t, http.StatusOK, status, string(raw))
	require.Contains(t, string(raw), `"state":"failed"`)
	status, _, raw = apiDo(t, http.MethodPost, bot.base+"/v1/artist-requests", `{"artists": [`+strconv.Quote(unknown.Name)+`]}`)
	require.Equal(t, http.StatusAccepted, status, string(raw))
	var acc botapi.Accepted
	require.NoError(t, json.Unmarshal(raw, &acc))
	require.Len(t, acc.Requests, 1)
	require.Eventually(t, func() bool {
		status, _, raw := apiDo(t, http.MethodGet, bot.base+"/v1/requests/"+acc.Requests[0].ID, "")
		var st reply.RequestStatus
		return status == http.StatusOK && json.Unmarshal(raw, &st) == nil && st.State == "stored" && st.ArtistID == unknown.ID
	}, 2*time.Minute, 100*time.Millisecond, "collected once Temporal is back") // a safety net
	status, _, raw = apiDo(t, http.MethodGet, bot.base+"/v1/artists/"+unknown.ID, "")
	require.Equal(t, http.StatusOK, status, string(raw))
	bot.stop()
}
