// Package app wires metronome's workers from config: the Temporal client,
// the backends the activities need and the two workers (pipeline and
// Spotify task queues). The worker binary and `starter dev` share it.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/codec"
	"github.com/metronome-data/metronome/internal/logging"
)

// Dial connects to the Temporal frontend of cfg.
func Dial(ctx context.Context, cfg *config.Config, logger *zap.Logger) (client.Client, error) {
	return dial(ctx, cfg, logger, nil)
}

// DialLazy is Dial without connecting: the client connects on its first
// call and reconnects by itself, so a process that can do useful work
// without Temporal (`starter serve` answering from the serving store)
// starts while Temporal is down. Only a bad config is an error here.
func DialLazy(cfg *config.Config, logger *zap.Logger) (client.Client, error) {
	opts, err := clientOptions(cfg, logger, nil)
	if err != nil {
		return nil, err
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("set up a client of Temporal at %s (namespace %s): %w", cfg.Temporal.Address, cfg.Temporal.Namespace, err)
	}
	return c, nil
}

// dial connects with the SDK's metrics going to metricsHandler, when set.
func dial(ctx context.Context, cfg *config.Config, logger *zap.Logger, metricsHandler client.MetricsHandler) (client.Client, error) {
	opts, err := clientOptions(cfg, logger, metricsHandler)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; is the server up? start one with `starter dev`",
			cfg.Temporal.Address, cfg.Temporal.Namespace, err)
	}
	return c, nil
}

// clientOptions are the SDK client options of cfg: address, namespace,
// codec, TLS and API key.
func clientOptions(cfg *config.Config, logger *zap.Logger, metricsHandler client.MetricsHandler) (client.Options, error) {
	opts := client.Options{
		HostPort:       cfg.Temporal.Address,
		Namespace:      cfg.Temporal.Namespace,
		Logger:         logging.NewTemporalLogger(logger.Named("sdk")),
		MetricsHandler: metricsHandler,
	}
	opts.Interceptors = tracingInterceptors() // none unless StartTracing runs (tracing.go)
	cdc, err := codec.FromConfig(cfg.Codec.Keys, cfg.Codec.ActiveKey)
	if err != nil {
		return opts, fmt.Errorf("codec.keys: %w", err)
	}
	if cdc != nil {
		dc := codec.DataConverter(cdc)
		opts.DataConverter = dc
		// Failure messages and stack traces are payloads too.
		opts.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			DataConverter: dc, EncodeCommonAttributes: true,
		})
	}
	tlsCfg, err := tlsConfig(cfg.Temporal.TLS)
	if err != nil {
		return opts, err
	}
	if tlsCfg != nil {
		opts.ConnectionOptions.TLS = tlsCfg
	}
	if cfg.Temporal.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.Temporal.APIKey)
		if opts.ConnectionOptions.TLS == nil {
			// API keys are only accepted over TLS.
			opts.ConnectionOptions.TLS = &tls.Config{}
		}
	}
	return opts, nil
}

func tlsConfig(c config.TLSConfig) (*tls.Config, error) {
	if !c.Enabled && c.CertFile == "" && c.KeyFile == "" && c.CAFile == "" && c.ServerName == "" {
		return nil, nil
	}
	out := &tls.Config{ServerName: c.ServerName, MinVersion: tls.VersionTLS12}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load temporal.tls.cert_file %q and key_file %q: %w", c.CertFile, c.KeyFile, err)
		}
		out.Certificates = []tls.Certificate{cert}
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read temporal.tls.ca_file %q: %w", c.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("temporal.tls.ca_file " + c.CAFile + " holds no PEM certificate")
		}
		out.RootCAs = pool
	}
	return out, nil
}
