package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/metronome-data/metronome/internal/codec"
)

// ValidationError is a configuration value that metronome refuses. Commands
// exit with code 2 on it.
type ValidationError struct {
	Key     string
	Value   string
	Allowed string
	Err     error
}

func (e *ValidationError) Error() string {
	msg := fmt.Sprintf("config %s = %q is invalid: want %s", e.Key, e.Value, e.Allowed)
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(key string, value any, allowed string) error {
	return &ValidationError{Key: key, Value: fmt.Sprint(value), Allowed: allowed}
}

// Validate checks every key whose value can be judged without I/O.
func (c *Config) Validate() error {
	checks := []func() error{
		func() error { return oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error") },
		func() error { return oneOf("log.format", c.Log.Format, "", "console", "json") },
		func() error { return hostPort("temporal.address", c.Temporal.Address) },
		func() error { return nonEmpty("temporal.namespace", c.Temporal.Namespace) },
		func() error { return port("temporal.ui_port", c.Temporal.UIPort) },
		func() error {
			if c.Temporal.UIURL == "" {
				return nil
			}
			return httpURL("temporal.ui_url", c.Temporal.UIURL)
		},
		func() error { return nonEmpty("temporal.task_queue", c.Temporal.TaskQueue) },
		func() error { return nonEmpty("temporal.spotify_task_queue", c.Temporal.SpotifyTaskQueue) },
		func() error {
			if c.Lineage.URL == "" {
				return nil // lineage off
			}
			// A stage waits for its events, without heartbeating at its
			// start and end; its heartbeat timeout is 20s.
			if c.Lineage.Timeout <= 0 || c.Lineage.Timeout > 10*time.Second {
				return invalid("lineage.timeout", c.Lineage.Timeout, "a duration from 1ms to 10s")
			}
			return httpURL("lineage.url", c.Lineage.URL)
		},
		func() error { return httpURL("spotify.base_url", c.Spotify.BaseURL) },
		func() error { return httpURL("spotify.token_url", c.Spotify.TokenURL) },
		func() error { return market("spotify.market", c.Spotify.Market) },
		func() error { return oneOf("spotify.api_mode", c.Spotify.APIMode, "auto", "extended", "development") },
		func() error {
			if c.Spotify.RequestsPerSecond <= 0 {
				return invalid("spotify.requests_per_second", c.Spotify.RequestsPerSecond, "a number of requests per second > 0")
			}
			return nil
		},
		func() error {
			if c.Spotify.Timeout <= 0 {
				return invalid("spotify.timeout", c.Spotify.Timeout, "a positive duration such as 10s")
			}
			return nil
		},
		func() error {
			// The wait doubles up to 6h, so a longer first wait makes no sense.
			if c.Spotify.QuotaWait <= 0 || c.Spotify.QuotaWait > 6*time.Hour {
				return invalid("spotify.quota_wait", c.Spotify.QuotaWait, "a duration > 0 and at most 6h, such as 1h")
			}
			return nil
		},
		func() error {
			if c.Spotify.Fake.Artists < 10 || c.Spotify.Fake.Artists > 200000 {
				return invalid("spotify.fake.artists", c.Spotify.Fake.Artists, "a number of artists from 10 to 200000")
			}
			return nil
		},
		func() error { return oneOf("spotify.fake.mode", c.Spotify.Fake.Mode, "extended", "development") },
		func() error {
			if c.Spotify.Fake.Latency < 0 {
				return invalid("spotify.fake.latency", c.Spotify.Fake.Latency, "a duration >= 0")
			}
			return nil
		},
		func() error {
			if c.Pipeline.BatchSize < 1 || c.Pipeline.BatchSize > 50 {
				return invalid("pipeline.batch_size", c.Pipeline.BatchSize, "1 to 50 artists (Spotify's batch limit)")
			}
			return nil
		},
		func() error {
			if c.Pipeline.Parallelism < 1 || c.Pipeline.Parallelism > 256 {
				return invalid("pipeline.parallelism", c.Pipeline.Parallelism, "1 to 256 batches at once")
			}
			return nil
		},
		func() error {
			if c.Pipeline.MaxRejectRate < 0 || c.Pipeline.MaxRejectRate > 1 {
				return invalid("pipeline.max_reject_rate", c.Pipeline.MaxRejectRate, "a fraction from 0 to 1")
			}
			return nil
		},
		func() error {
			if c.Pipeline.CaptureGrace < 0 || c.Pipeline.CaptureGrace > 7*24*time.Hour {
				return invalid("pipeline.capture_grace", c.Pipeline.CaptureGrace, "a duration from 0s to 168h after the end of a date")
			}
			return nil
		},
		func() error { return scheme("lake.url", c.Lake.URL, "file", "s3") },
		func() error { return scheme("serving.url", c.Serving.URL, "sqlite", "dynamodb") },
		func() error { return oneOf("analytics.engine", c.Analytics.Engine, "duckdb", "athena") },
		func() error {
			if c.Analytics.Engine != "athena" {
				return nil
			}
			if !strings.HasPrefix(c.Lake.URL, "s3://") {
				return invalid("lake.url", c.Lake.URL, "an s3:// lake when analytics.engine is athena")
			}
			return nonEmpty("analytics.athena.database", c.Analytics.Athena.Database)
		},
		func() error { return hostPort("worker.metrics_addr", c.Worker.MetricsAddr) },
		func() error {
			if c.Worker.MaxConcurrentActivities < 1 {
				return invalid("worker.max_concurrent_activities", c.Worker.MaxConcurrentActivities, "a number >= 1")
			}
			return nil
		},
		func() error {
			if _, err := c.Worker.GoMemoryLimitBytes(); err != nil {
				return &ValidationError{Key: "worker.go_memory_limit", Value: c.Worker.GoMemoryLimit,
					Allowed: "a size such as 256MiB, 512MB or 1GiB, or empty for Go's default", Err: err}
			}
			return nil
		},
		func() error { return hostPort("serve.addr", c.Serve.Addr) },
		func() error { return hostPort("codec.addr", c.Codec.Addr) },
		func() error {
			for _, h := range c.API.CallbackHosts {
				// A host name or IP literal only: a scheme, port or path
				// would never match a callback_url's host.
				if strings.ContainsAny(h, "/@ ") || (strings.Contains(h, ":") && net.ParseIP(strings.Trim(h, "[]")) == nil) {
					return invalid("api.callback_hosts", h, "host names such as hooks.example.com, without scheme, port or path")
				}
			}
			return nil
		},
		func() error {
			if _, err := codec.FromConfig(c.Codec.Keys, c.Codec.ActiveKey); err != nil {
				// Never echo key material: the value shown is the key IDs' form.
				return &ValidationError{Key: "codec.keys", Value: "(hidden)",
					Allowed: "ID=BASE64KEY pairs of 32-byte AES-256 keys, and codec.active_key naming one of them", Err: err}
			}
			return nil
		},
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func oneOf(key, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	var shown []string
	for _, a := range allowed {
		if a != "" {
			shown = append(shown, a)
		}
	}
	return invalid(key, value, "one of "+strings.Join(shown, ", "))
}

func nonEmpty(key, value string) error {
	if strings.TrimSpace(value) == "" {
		return invalid(key, value, "a non-empty name")
	}
	return nil
}

func port(key string, p int) error {
	if p < 0 || p > 65535 {
		return invalid(key, p, "a TCP port from 1 to 65535 (0 picks a free one)")
	}
	return nil
}

func hostPort(key, value string) error {
	_, p, err := net.SplitHostPort(value)
	if err != nil {
		return &ValidationError{Key: key, Value: value, Allowed: "HOST:PORT such as 127.0.0.1:7233", Err: err}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return invalid(key, value, "HOST:PORT with a port from 0 to 65535")
	}
	return nil
}

func httpURL(key, value string) error {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(key, value, "an http:// or https:// URL")
	}
	return nil
}

func scheme(key, value string, allowed ...string) error {
	u, err := url.Parse(value)
	if err == nil {
		for _, s := range allowed {
			if u.Scheme == s && (u.Host != "" || u.Path != "" || u.Opaque != "") {
				return nil
			}
		}
	}
	var forms []string
	for _, s := range allowed {
		forms = append(forms, s+"://…")
	}
	return invalid(key, value, "a URL of the form "+strings.Join(forms, " or "))
}

func market(key, value string) error {
	if len(value) != 2 || strings.ToUpper(value) != value || strings.ContainsAny(value, "0123456789") {
		return invalid(key, value, "an ISO 3166-1 alpha-2 country code such as US")
	}
	return nil
}
