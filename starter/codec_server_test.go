package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/codec"
	"github.com/metronome-data/metronome/internal/devserver"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// isolateCodecEnv clears the codec server's variables, which config does
// not list (yet), so isolateEnv leaves them alone.
func isolateCodecEnv(t *testing.T) {
	t.Helper()
	for _, e := range []string{envCodecKeys, envCodecActiveKey, envCodecCORSOrigins} {
		t.Setenv(e, "")
	}
}

func testKey(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, codec.KeySize))
}

// runCodecServer runs `starter codec-server args…` until ctx is done and
// returns its output and error through the channel.
func runCodecServer(ctx context.Context, out *syncBuffer, args ...string) <-chan error {
	cmd := newCodecServerCommand(&globalFlags{output: "text"})
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	return done
}

// TestCodecServerServesTheWebUI runs the codec server with two keys and
// checks what the Temporal Web UI relies on: /decode opens payloads sealed
// with either key, /encode seals with the active key, CORS admits the UI's
// origin and no other.
func TestCodecServerServesTheWebUI(t *testing.T) {
	isolateEnv(t)
	isolateCodecEnv(t)
	port, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	endpoint := "http://" + addr
	// Keys from the environment, the active key from a flag.
	t.Setenv(envCodecKeys, "old="+testKey(1)+",new="+testKey(2))
	const uiOrigin = "http://localhost:8233"

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	serverCtx, stop := context.WithCancel(ctx)
	var out syncBuffer
	done := runCodecServer(serverCtx, &out, "--addr", addr, "--active-key", "new")
	require.Eventually(t, func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "codec server listens; output: %s", out.String())
	require.Contains(t, out.String(), "codec server  "+endpoint+"  (keys new, old; active new)")
	require.Contains(t, out.String(), "CORS origins  http://localhost:8233, http://127.0.0.1:8233")

	oldCodec, err := codec.FromConfig("old="+testKey(1), "")
	require.NoError(t, err)
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"date": "2026-11-01", "artist": "Daft Punk"})
	require.NoError(t, err)
	sealedOld, err := oldCodec.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)

	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: endpoint,
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Origin", uiOrigin)
			r.Header.Set("X-Namespace", "default")
			return nil
		},
	})
	// Decode: a payload sealed with the old key, and a plain one.
	opened, err := remote.Decode([]*commonpb.Payload{sealedOld[0], plain})
	require.NoError(t, err)
	require.True(t, proto.Equal(plain, opened[0]), "decrypted with the rotated-out key")
	require.True(t, proto.Equal(plain, opened[1]), "plain payloads pass through")

	// Encode uses the active key.
	sealed, err := remote.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	require.Equal(t, "new", string(sealed[0].Metadata[codec.MetadataKeyID]))
	both, err := codec.FromConfig("old="+testKey(1)+",new="+testKey(2), "new")
	require.NoError(t, err)
	local, err := both.Decode(sealed)
	require.NoError(t, err)
	require.True(t, proto.Equal(plain, local[0]))

	// A payload of a key the server does not have is refused.
	stranger, err := codec.FromConfig("gone="+testKey(9), "")
	require.NoError(t, err)
	sealedGone, err := stranger.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	_, err = remote.Decode(sealedGone)
	require.ErrorContains(t, err, `key "gone", which is not configured`)

	// CORS: the UI's preflight is answered, a stranger's refused.
	preflight := func(origin string) *http.Response {
		req, err := http.NewRequestWithContext(ctx, http.MethodOptions, endpoint+"/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp := preflight(uiOrigin)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace")
	resp = preflight("https://evil.example")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/decode", strings.NewReader(`{"payloads":[]}`))
	require.NoError(t, err)
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a page of another origin cannot decrypt")

	stop()
	select {
	case err := <-done:
		require.NoError(t, err, "stops cleanly")
	case <-ctx.Done():
		t.Fatal("codec server did not stop")
	}
}

// Bad settings are usage errors (exit code 2) naming the value.
func TestCodecServerBadSettings(t *testing.T) {
	isolateEnv(t)
	isolateCodecEnv(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no keys", nil, nil, "codec-server needs encryption keys: set --keys or METRONOME_CODEC_KEYS"},
		{"short key", []string{"--keys", "k1=" + base64.StdEncoding.EncodeToString([]byte("short"))}, nil, `key "k1" has 5 bytes: want 32`},
		{"no active among several", []string{"--keys", "a=" + testKey(1) + ",b=" + testKey(2)}, nil, "no active encryption key among a, b"},
		{"unknown active", nil, map[string]string{envCodecKeys: "a=" + testKey(1), envCodecActiveKey: "z"}, `active encryption key "z"`},
		{"bad origin", []string{"--keys", "a=" + testKey(1), "--cors-origins", "localhost:8233"}, nil, `--cors-origins "localhost:8233"`},
		{"origin with path", []string{"--keys", "a=" + testKey(1), "--cors-origins", "http://ui.example/app"}, nil, `--cors-origins "http://ui.example/app"`},
		{"bad addr", []string{"--keys", "a=" + testKey(1), "--addr", "8081"}, nil, `"8081"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out syncBuffer
			err := <-runCodecServer(context.Background(), &out, tt.args...)
			var uErr usageError
			var cfgErr *config.ValidationError
			require.True(t, errors.As(err, &uErr) || errors.As(err, &cfgErr), "want a usage or config error (exit code 2), got %v", err)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "\n")
			require.NotContains(t, err.Error(), testKey(1), "an error never shows a key")
		})
	}
}
