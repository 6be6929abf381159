package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/converter"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/codec"
	"github.com/metronome-data/metronome/internal/httpserve"
)

// Environment variables of the codec server's settings, read when the
// corresponding flag is not given.
const (
	envCodecKeys        = "METRONOME_CODEC_KEYS"
	envCodecActiveKey   = "METRONOME_CODEC_ACTIVE_KEY"
	envCodecCORSOrigins = "METRONOME_CODEC_CORS_ORIGINS"
)

// maxCodecRequest bounds a codec request body: the Web UI sends the payloads
// of one history page at a time, each at most a few MB.
const maxCodecRequest = 64 << 20

func newCodecServerCommand(g *globalFlags) *cobra.Command {
	var (
		addr      string
		keys      string
		activeKey string
		origins   []string
	)
	cmd := &cobra.Command{
		Use:   "codec-server",
		Short: "Serve the payload codec over HTTP, so the Temporal Web UI can show encrypted payloads",
		Long: `codec-server decrypts and encrypts Temporal payloads over HTTP with the keys
workers use (AES-256-GCM, see docs/SECURITY.md). Point the Web UI's codec
endpoint at it: the UI then sends the encrypted payloads of a history to
POST /decode and shows them in clear, in the browser only; the Temporal
server never sees a key.

Keys are ID=BASE64KEY pairs, comma-separated (--keys or METRONOME_CODEC_KEYS);
--active-key (METRONOME_CODEC_ACTIVE_KEY) names the one /encode uses. Only the
origins of --cors-origins (METRONOME_CODEC_CORS_ORIGINS; default the Web UI
of temporal.ui_port on localhost and 127.0.0.1) may call it from a browser.
Anyone who can reach the server can decrypt payloads: keep it on loopback
or behind the same access control as the UI.`,
		Example: `  METRONOME_CODEC_KEYS="2026-q1=$(openssl rand -base64 32)" starter codec-server
  starter codec-server --addr 127.0.0.1:8081 --cors-origins https://temporal.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, g, map[string]string{
				"codec.keys": "keys", "codec.active_key": "active-key", "codec.addr": "addr", "codec.cors_origins": "cors-origins",
			})
			if err != nil {
				return err
			}
			keys, activeKey, addr, origins = cfg.Codec.Keys, cfg.Codec.ActiveKey, cfg.Codec.Addr, cfg.Codec.CORSOrigins
			if len(origins) == 0 {
				origins = defaultCORSOrigins(cfg)
			}
			if strings.TrimSpace(keys) == "" {
				return usagef("codec-server needs encryption keys: set --keys or %s to ID=BASE64KEY[,ID=BASE64KEY…]", envCodecKeys)
			}
			c, err := codec.FromConfig(keys, activeKey)
			if err != nil {
				return usagef("codec-server keys: %v", err)
			}
			allowed, err := corsOrigins(origins)
			if err != nil {
				return err
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usagef("--addr %q: want HOST:PORT such as 127.0.0.1:8081", addr)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("codec server: listen on %s: %w", addr, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "codec server  http://%s  (keys %s; active %s)\nCORS origins  %s\n",
				ln.Addr(), strings.Join(c.KeyIDs(), ", "), c.ActiveKeyID(), strings.Join(allowed, ", "))
			return httpserve.Serve(cmd.Context(), ln, codecHandler(c, allowed), httpserve.WithName("codec server"))
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8081", "address to listen on")
	cmd.Flags().StringVar(&keys, "keys", "", "encryption keys ID=BASE64KEY,… (default $"+envCodecKeys+")")
	cmd.Flags().StringVar(&activeKey, "active-key", "", "ID of the key /encode uses; may be empty with one key (default $"+envCodecActiveKey+")")
	cmd.Flags().StringSliceVar(&origins, "cors-origins", nil, "browser origins allowed to call the server, comma-separated (default $"+envCodecCORSOrigins+", else the Web UI on localhost and 127.0.0.1)")
	return cmd
}

// defaultCORSOrigins are the origins of the Web UI of temporal.ui_port.
func defaultCORSOrigins(cfg *config.Config) []string {
	return []string{
		fmt.Sprintf("http://localhost:%d", cfg.Temporal.UIPort),
		fmt.Sprintf("http://127.0.0.1:%d", cfg.Temporal.UIPort),
	}
}

// corsOrigins validates origins of the form scheme://host[:port].
func corsOrigins(origins []string) ([]string, error) {
	var out []string
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, usagef("--cors-origins %q: want an origin such as http://localhost:8233 (scheme, host and port only)", o)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	if len(out) == 0 {
		return nil, usagef("--cors-origins names no origin: want one such as http://localhost:8233")
	}
	return out, nil
}

// codecHandler serves POST …/encode and …/decode with c, answering CORS
// preflights for the allowed origins. The Web UI calls it with
// credentials, so the allowed origin is echoed, never "*".
func codecHandler(c *codec.Codec, origins []string) http.Handler {
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		allowed[o] = true
	}
	inner := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		if origin != "" && allowed[origin] {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			h.Set("Access-Control-Max-Age", "600")
		}
		if r.Method == http.MethodOptions {
			if origin == "" || !allowed[origin] {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if origin != "" && !allowed[origin] {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxCodecRequest)
		inner.ServeHTTP(w, r)
	})
}

// startDevCodec serves the payload codec on codec.addr for the Web UI of
// `starter dev` when codec.keys are configured. It returns the endpoint as
// the browser reaches it ("" when encryption is off) and a stop function.
func startDevCodec(ctx context.Context, cfg *config.Config) (endpoint string, stop func(), err error) {
	c, err := codec.FromConfig(cfg.Codec.Keys, cfg.Codec.ActiveKey)
	if err != nil || c == nil {
		return "", func() {}, err
	}
	origins := cfg.Codec.CORSOrigins
	if len(origins) == 0 {
		origins = defaultCORSOrigins(cfg)
	}
	allowed, err := corsOrigins(origins)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", cfg.Codec.Addr)
	if err != nil {
		return "", nil, fmt.Errorf("codec server: listen on codec.addr %s: %w", cfg.Codec.Addr, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = httpserve.Serve(ctx, ln, codecHandler(c, allowed), httpserve.WithName("codec server"))
	}()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done }, nil
}
