package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/metronome-data/metronome/internal/codec"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
)

// TestDevWithPayloadEncryption runs `starter dev --exit` with codec.keys:
// the run completes, every payload of its history is AES-GCM ciphertext
// under the active key, the keys decrypt it, and the embedded Web UI is
// told where the codec server is.
func TestDevWithPayloadEncryption(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server, worker and pipeline")
	}
	dir := isolateEnv(t)
	data := filepath.Join(dir, "data")
	keys := "k1=" + testKey(1) + ",k2=" + testKey(2)
	t.Setenv("METRONOME_CODEC_KEYS", keys)
	t.Setenv("METRONOME_CODEC_ACTIVE_KEY", "k2")
	t.Setenv("METRONOME_CODEC_ADDR", "127.0.0.1:0")
	t.Setenv("METRONOME_SPOTIFY_FAKE_ARTISTS", strconv.Itoa(e2eArtists))
	t.Setenv("METRONOME_LOG_LEVEL", "warn")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	port, uiPort := freePorts(t)
	out, err := runStarter(t, ctx, "dev", "--exit", "--data", data, "--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort))
	require.NoError(t, err, out)
	require.Regexp(t, regexp.MustCompile(`Codec server     http://127\.0\.0\.1:\d+  \(payloads encrypted`), out)
	today := time.Now().UTC().Format("2006-01-02")
	require.Contains(t, out, "run of "+today+" finished")

	srv, c := devservertest.Start(t, devservertest.WithServer(devserver.Options{
		DatabaseFile: filepath.Join(data, "temporal.db"), UI: true, CodecEndpoint: "http://127.0.0.1:8081",
	}))
	cdc, err := codec.FromConfig(keys, "k2")
	require.NoError(t, err)

	payloads := 0
	it := c.GetWorkflowHistory(ctx, "pipeline-"+today, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		// Search attributes stay in clear: the server indexes them.
		var ps []*commonpb.Payload
		ps = append(ps, e.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()...)
		ps = append(ps, e.GetActivityTaskScheduledEventAttributes().GetInput().GetPayloads()...)
		ps = append(ps, e.GetActivityTaskCompletedEventAttributes().GetResult().GetPayloads()...)
		ps = append(ps, e.GetWorkflowExecutionCompletedEventAttributes().GetResult().GetPayloads()...)
		for _, p := range ps {
			payloads++
			require.Equal(t, codec.EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]), "event %d", e.GetEventId())
			require.Equal(t, "k2", string(p.Metadata[codec.MetadataKeyID]))
			plain, err := cdc.Decode([]*commonpb.Payload{p})
			require.NoError(t, err)
			require.Equal(t, "json/plain", string(plain[0].Metadata[converter.MetadataEncoding]))
		}
	}
	require.Greater(t, payloads, 10, "inputs and results of every stage")

	resp, err := http.Get(srv.UIURL() + "/api/v1/settings")
	require.NoError(t, err)
	defer resp.Body.Close()
	var settings struct{ Codec struct{ Endpoint string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
	require.Equal(t, "http://127.0.0.1:8081", settings.Codec.Endpoint)
}
