// Package app wires metronome's workers from config: the Temporal client,
// the backends the activities need and the two workers (pipeline and
// Spotify task queues). The worker binary and `starter dev` share it.
package app

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/codec"
	"github.com/metronome-data/metronome/internal/logging"
)

// Dial connects a client of `starter` commands to the Temporal frontend of
// cfg. Without codec.keys its payloads go through the codec server of
// temporal.codec.endpoint, when set.
func Dial(ctx context.Context, cfg *config.Config, logger *zap.Logger) (client.Client, error) {
	opts, err := clientOptions(cfg, logger, nil, true)
	if err != nil {
		return nil, err
	}
	return connect(ctx, cfg, opts)
}

// DialLazy is Dial without connecting: the client connects on its first
// call and reconnects by itself, so a process that can do useful work
// without Temporal (`starter serve` answering from the serving store)
// starts while Temporal is down. Only a bad config is an error here.
func DialLazy(cfg *config.Config, logger *zap.Logger) (client.Client, error) {
	opts, err := clientOptions(cfg, logger, nil, true)
	if err != nil {
		return nil, err
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("set up a client of Temporal at %s (namespace %s): %w", cfg.Temporal.Address, cfg.Temporal.Namespace, err)
	}
	return c, nil
}

// dial connects a worker's client, with the SDK's metrics going to
// metricsHandler, when set. A worker never uses a remote codec: it would
// call it for every payload of every replay.
func dial(ctx context.Context, cfg *config.Config, logger *zap.Logger, metricsHandler client.MetricsHandler) (client.Client, error) {
	opts, err := clientOptions(cfg, logger, metricsHandler, false)
	if err != nil {
		return nil, err
	}
	return connect(ctx, cfg, opts)
}

func connect(ctx context.Context, cfg *config.Config, opts client.Options) (client.Client, error) {
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; is the server up? start one with `starter dev`",
			cfg.Temporal.Address, cfg.Temporal.Namespace, err)
	}
	return c, nil
}

// clientOptions are the SDK client options of cfg: the connection
// (envconfig.go), logger, metrics, interceptors and codec. remoteCodec lets
// temporal.codec.endpoint encode payloads when codec.keys are unset.
func clientOptions(cfg *config.Config, logger *zap.Logger, metricsHandler client.MetricsHandler, remoteCodec bool) (client.Options, error) {
	logDeprecations(logger, cfg.Temporal.Deprecated)
	cdc, err := codec.FromConfig(cfg.Codec.Keys, cfg.Codec.ActiveKey)
	if err != nil {
		return client.Options{}, fmt.Errorf("codec.keys: %w", err)
	}
	opts, err := connectionOptions(cfg.Temporal, remoteCodec && cdc == nil)
	if err != nil {
		return opts, err
	}
	opts.Logger = logging.NewTemporalLogger(logger.Named("sdk"))
	opts.MetricsHandler = metricsHandler
	opts.Interceptors = tracingInterceptors() // none unless StartTracing runs (tracing.go)
	if cdc != nil {
		dc := codec.DataConverter(cdc)
		opts.DataConverter = dc
		// Failure messages and stack traces are payloads too.
		opts.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			DataConverter: dc, EncodeCommonAttributes: true,
		})
	}
	return opts, nil
}
