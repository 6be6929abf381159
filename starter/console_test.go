package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/console"
)

func getPage(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// `starter serve` serves the data console next to the bot routes, which
// answer as before; with Temporal down the console still renders the lake.
func TestServeConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts starter serve")
	}
	tests := []struct {
		name, token string
		line        string
		anonymous   int
	}{
		{"open on loopback", "", "(open: loopback and no api.token)", http.StatusOK},
		{"token on loopback", serveToken, "(needs api.token: Authorization: Bearer, or log in at", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateEnv(t)
			t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
			t.Setenv("METRONOME_API_TOKEN", tt.token)
			bot := startServe(t)

			code, body := getPage(t, bot.base+"/")
			require.Equal(t, tt.anonymous, code, body)
			code, body = getPage(t, bot.base+"/runs", "Authorization", "Bearer "+serveToken)
			require.Equal(t, http.StatusOK, code, body)
			require.Contains(t, body, `data-page="runs"`)
			require.Contains(t, body, "Temporal at 127.0.0.1:1 (namespace default) is not answering")
			require.Contains(t, body, `<section id="freshness">`)

			// The bot's routes are the bot's: JSON, not console pages.
			code, body = getPage(t, bot.base+"/healthz")
			require.Equal(t, http.StatusOK, code)
			require.JSONEq(t, `{"status":"ok"}`, body)
			code, body = getPage(t, bot.base+"/readyz")
			require.Equal(t, http.StatusServiceUnavailable, code)
			require.Contains(t, body, "temporal")
			code, body = getPage(t, bot.base+"/v1/artists/nobody", "Authorization", "Bearer "+serveToken)
			require.NotContains(t, body, "<main id=\"page\"")
			if tt.token == "" {
				require.Equal(t, http.StatusNotFound, code, "the JSON API is off without a token")
			}

			out := bot.stop()
			require.Contains(t, out, "Data console     "+bot.base+"/  "+tt.line)
		})
	}
}

// A taken serve.addr names the setting and its variable.
func TestServeAddrInUse(t *testing.T) {
	isolateEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, err = runServeCmd(context.Background(), "--addr", ln.Addr().String())
	require.Error(t, err)
	for _, want := range []string{"serve.addr " + ln.Addr().String(), "METRONOME_SERVE_ADDR", "address already in use"} {
		require.Contains(t, err.Error(), want)
	}

	_, err = listenServe(ln.Addr().String())
	require.ErrorContains(t, err, "METRONOME_SERVE_ADDR")
}

func TestPrintConsole(t *testing.T) {
	var out bytes.Buffer
	err := errors.Join(errors.New(`serve.addr "0.0.0.0:8088"`), console.ErrNeedsToken)
	printConsole(&out, "http://0.0.0.0:8088", nil, err)
	require.Equal(t, "Data console     off: "+err.Error()+"\n", out.String())
	require.True(t, strings.Contains(out.String(), "METRONOME_API_TOKEN"))
}
