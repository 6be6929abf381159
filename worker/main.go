// Command worker runs metronome's Temporal workers: it loads the config,
// connects to Temporal, opens the lake, serving store and Spotify client,
// registers the workflows and activities and serves until SIGINT or SIGTERM,
// then stops gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/logging"
	"github.com/metronome-data/metronome/worker/app"
)

func main() {
	os.Exit(run())
}

func run() int {
	file := flag.String("config", "", "config file (default config/metronome.yaml when present)")
	flag.Parse()

	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	format := logging.JSON
	if cfg.Log.Format != "" {
		format = logging.Format(cfg.Log.Format)
	}
	logger, err := logging.New(cfg.Log.Level, format)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	defer logger.Sync()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("worker stopped", zap.Error(err))
		var cfgErr *config.ValidationError
		if errors.As(err, &cfgErr) {
			return 2
		}
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg *config.Config, logger *zap.Logger) error {
	stopTracing, err := app.StartTracing(ctx, logger, app.WorkerServiceName)
	if err != nil {
		return err
	}
	defer stopTracing()
	if cfg.FakeEnabled(false) {
		stop, err := app.StartFake(ctx, cfg)
		if err != nil {
			return err
		}
		defer stop()
		logger.Info("collecting from the built-in sample Spotify catalog", zap.String("url", cfg.Spotify.BaseURL))
	}
	return app.Serve(ctx, cfg, logger)
}
