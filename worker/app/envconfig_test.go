package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/codec"
)

func TestConnectionOptions(t *testing.T) {
	tests := []struct {
		name  string
		in    config.TemporalConfig
		check func(t *testing.T, o client.Options)
	}{
		{"plain gRPC by default", config.TemporalConfig{Address: "127.0.0.1:7233", Namespace: "default"}, func(t *testing.T, o client.Options) {
			require.Equal(t, "127.0.0.1:7233", o.HostPort)
			require.Equal(t, "default", o.Namespace)
			require.Nil(t, o.ConnectionOptions.TLS)
			require.False(t, o.ConnectionOptions.TLSDisabled)
			require.Nil(t, o.Credentials)
			require.Nil(t, o.HeadersProvider)
		}},
		{"an API key turns TLS on", config.TemporalConfig{APIKey: "secret"}, func(t *testing.T, o client.Options) {
			require.NotNil(t, o.Credentials)
			require.NotNil(t, o.ConnectionOptions.TLS)
			require.Equal(t, uint16(0x0303), o.ConnectionOptions.TLS.MinVersion, "TLS 1.2")
		}},
		{"disabled TLS with an API key: plain gRPC", config.TemporalConfig{APIKey: "secret", TLS: config.TLSConfig{Disabled: true}}, func(t *testing.T, o client.Options) {
			require.NotNil(t, o.Credentials)
			require.Nil(t, o.ConnectionOptions.TLS)
			require.True(t, o.ConnectionOptions.TLSDisabled)
		}},
		{"server name and host verification", config.TemporalConfig{TLS: config.TLSConfig{ServerName: "temporal.internal", DisableHostVerification: true}}, func(t *testing.T, o client.Options) {
			require.Equal(t, "temporal.internal", o.ConnectionOptions.TLS.ServerName)
			require.True(t, o.ConnectionOptions.TLS.InsecureSkipVerify)
		}},
		{"headers and authority", config.TemporalConfig{GRPCMeta: map[string]string{"x-tenant": "music"}, Authority: "temporal.example"}, func(t *testing.T, o client.Options) {
			require.Equal(t, "temporal.example", o.ConnectionOptions.Authority)
			h, err := o.HeadersProvider.GetHeaders(context.Background())
			require.NoError(t, err)
			require.Equal(t, map[string]string{"x-tenant": "music"}, h)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := connectionOptions(tt.in, false)
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
}

// A `starter` client without codec.keys encodes through the codec server
// of temporal.codec.endpoint, sending its auth; with codec.keys, or in a
// worker, the endpoint is never called.
func TestRemoteCodecOnlyForStarterWithoutKeys(t *testing.T) {
	key, err := codec.GenerateKey()
	require.NoError(t, err)
	keys := "k1=" + key
	cdc, err := codec.FromConfig(keys, "")
	require.NoError(t, err)
	var calls atomic.Int32
	codecHandler := converter.NewPayloadCodecHTTPHandler(cdc)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer codec-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		codecHandler.ServeHTTP(w, r)
	}))
	defer srv.Close()

	tests := []struct {
		name        string
		keys        string
		remoteCodec bool
		wantCalls   int32
	}{
		{"starter without keys", "", true, 1},
		{"starter with keys", keys, true, 0},
		{"worker without keys", "", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			cfg := &config.Config{}
			cfg.Temporal.Address = "127.0.0.1:7233"
			cfg.Temporal.Codec = config.RemoteCodecConfig{Endpoint: srv.URL, Auth: "Bearer codec-token"}
			cfg.Codec.Keys = tt.keys
			opts, err := clientOptions(cfg, zap.NewNop(), nil, tt.remoteCodec)
			require.NoError(t, err)
			dc := opts.DataConverter
			if dc == nil {
				dc = converter.GetDefaultDataConverter()
			}
			p, err := dc.ToPayload("hello")
			require.NoError(t, err)
			require.Equal(t, tt.wantCalls, calls.Load())
			if tt.keys != "" || tt.wantCalls > 0 {
				require.Equal(t, codec.EncodingEncrypted, string(p.GetMetadata()[converter.MetadataEncoding]), "payload left unencrypted")
			}
		})
	}
}

func TestDeprecationNoticesAreLoggedOncePerProcess(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	logger := zap.New(core)
	notice := "TEMPORAL_TLS_TEST is deprecated: use TEMPORAL_TLS_TEST_PATH"
	cfg := &config.Config{}
	cfg.Temporal.Address = "127.0.0.1:7233"
	cfg.Temporal.Deprecated = []string{notice}
	for range 3 {
		_, err := clientOptions(cfg, logger, nil, false)
		require.NoError(t, err)
	}
	require.Equal(t, 1, logs.FilterMessage(notice).Len())
}
