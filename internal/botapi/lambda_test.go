package botapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"
)

// loadEvent reads a Function URL event (payload format 2.0) of testdata,
// as the runtime hands it over: JSON, here as a map so a test can change a
// header and pass on every other field untouched.
func loadEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "lambda", name))
	require.NoError(t, err)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(b, &ev))
	return ev
}

func headers(ev map[string]any) map[string]any { return ev["headers"].(map[string]any) }

// invoke runs ev through the Lambda handler as the runtime does: JSON in,
// JSON out.
func invoke(t *testing.T, f *fixture, ev map[string]any) events.LambdaFunctionURLResponse {
	t.Helper()
	payload, err := json.Marshal(ev)
	require.NoError(t, err)
	out, err := LambdaHandler(f.h).Invoke(context.Background(), payload)
	require.NoError(t, err)
	var resp events.LambdaFunctionURLResponse
	require.NoError(t, json.Unmarshal(out, &resp), string(out))
	return resp
}

// The same handler serves Function URL events: a slash command (its form
// body base64-encoded, as Lambda delivers it) verifies byte for byte once
// signed within the last 5 minutes, while the recorded event, signed long
// ago, is refused as a replay; health and the JSON API work the same.
func TestLambdaFunctionURLEvents(t *testing.T) {
	f := newFixture(t)

	t.Run("recorded slash command is a stale replay", func(t *testing.T) {
		ev := loadEvent(t, "function-url-slash-command.json")
		resp := invoke(t, f, ev)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, resp.Body)
		require.Zero(t, f.store.puts.Load())
	})

	t.Run("slash command signed now", func(t *testing.T) {
		ev := loadEvent(t, "function-url-slash-command.json")
		require.Equal(t, true, ev["isBase64Encoded"])
		body, err := base64.StdEncoding.DecodeString(ev["body"].(string))
		require.NoError(t, err)
		ts := time.Now().Unix()
		headers(ev)["x-slack-request-timestamp"] = strconv.FormatInt(ts, 10)
		headers(ev)["x-slack-signature"] = sign(testSecret, ts, string(body))
		resp := invoke(t, f, ev)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		require.Equal(t, "application/json; charset=utf-8", resp.Headers["Content-Type"])
		require.False(t, resp.IsBase64Encoded)
		var a slackAnswer
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &a))
		require.Equal(t, "in_channel", a.ResponseType)
		require.Contains(t, a.Text, "Radiohead — top tracks: Creep, Karma Police")
		require.Zero(t, f.store.puts.Load(), "a known artist starts nothing")
	})

	t.Run("healthz", func(t *testing.T) {
		resp := invoke(t, f, loadEvent(t, "function-url-healthz.json"))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.JSONEq(t, `{"status":"ok"}`, resp.Body)
	})

	t.Run("JSON API", func(t *testing.T) {
		resp := invoke(t, f, loadEvent(t, "function-url-artist-requests.json"))
		require.Equal(t, http.StatusAccepted, resp.StatusCode, resp.Body)
		var acc Accepted
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &acc))
		require.Len(t, acc.Requests, 2)
		require.Equal(t, "stored", acc.Requests[0].State)
		require.Equal(t, "pending", acc.Requests[1].State)
		require.Len(t, f.collect.started(), 1)
	})

	t.Run("JSON API without the token", func(t *testing.T) {
		ev := loadEvent(t, "function-url-artist-requests.json")
		delete(headers(ev), "authorization")
		resp := invoke(t, f, ev)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
}
