package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/logging"
	"github.com/metronome-data/metronome/worker/app"
	"github.com/metronome-data/metronome/workflows"
)

// The helpers every command shares: usage errors, config, the Temporal
// connection, the lake, dates.

// usageError marks errors of bad usage or config: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// isCobraUsage reports cobra's own argument errors (unknown command, wrong
// number of arguments), which it returns as plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// loadConfig loads the config of a command: defaults < file < environment <
// the command's flags named in flagKeys (config key → flag name), when set.
func loadConfig(cmd *cobra.Command, g *globalFlags, flagKeys map[string]string) (*config.Config, error) {
	if err := checkOutput(g.output); err != nil {
		return nil, err
	}
	l := config.NewLoader()
	l.SetFile(g.configFile)
	for key, name := range flagKeys {
		if err := l.BindFlag(key, cmd.Flags().Lookup(name)); err != nil {
			return nil, err
		}
	}
	return l.Load()
}

// newLogger builds the command's logger; console unless log.format says
// otherwise.
func newLogger(cfg *config.Config) (*zap.Logger, error) {
	format := logging.Console
	if cfg.Log.Format != "" {
		format = logging.Format(cfg.Log.Format)
	}
	logger, err := logging.New(cfg.Log.Level, format)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return logger, nil
}

// connect loads the command's config and dials Temporal. Validate flags
// before: bad usage must not need a server.
func connect(cmd *cobra.Command, g *globalFlags, flagKeys map[string]string) (*config.Config, client.Client, error) {
	cfg, err := loadConfig(cmd, g, flagKeys)
	if err != nil {
		return nil, nil, err
	}
	logger, err := newLogger(cfg)
	if err != nil {
		return nil, nil, err
	}
	c, err := app.Dial(cmd.Context(), cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	return cfg, c, nil
}

// openLake opens the lake of cfg (lake.url) for a command.
func openLake(ctx context.Context, cfg *config.Config) (lake.Store, error) {
	store, err := lake.Open(ctx, cfg.Lake.URL)
	if err != nil {
		return nil, fmt.Errorf("open lake.url %s: %w", cfg.Lake.URL, err)
	}
	return store, nil
}

// parseDay parses the date of flag name, or returns a usage error.
func parseDay(name, value string) (time.Time, error) {
	d, err := time.Parse(workflows.DateLayout, value)
	if err != nil {
		return time.Time{}, usagef("--%s %q is not a date: want YYYY-MM-DD, such as 2026-11-01", name, value)
	}
	return d, nil
}

// pastDay parses a logical date that must not be in the future (UTC).
func pastDay(name, value string) (time.Time, error) {
	d, err := parseDay(name, value)
	if err != nil {
		return d, err
	}
	if d.After(time.Now().UTC()) {
		return d, usagef("--%s %s is in the future: a run collects what Spotify says today or earlier", name, value)
	}
	return d, nil
}
