package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/logging"
	"github.com/metronome-data/metronome/internal/webui"
)

// loadConfig loads the config of a command: defaults < file < environment <
// the command's flags named in flagKeys (config key → flag name), when set.
func loadConfig(cmd *cobra.Command, g *globalFlags, flagKeys map[string]string) (*config.Config, error) {
	if g.output != "text" && g.output != "json" {
		return nil, usagef("--output %q: want text or json", g.output)
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

// webUIRunURL is the Web UI page of a run.
func webUIRunURL(uiBase, namespace, workflowID, runID string) string {
	return webui.RunURL(uiBase, namespace, workflowID, runID)
}

// openLake opens the lake of cfg (lake.url) for a command.
func openLake(ctx context.Context, cfg *config.Config) (lake.Store, error) {
	store, err := lake.Open(ctx, cfg.Lake.URL)
	if err != nil {
		return nil, fmt.Errorf("open lake.url %s: %w", cfg.Lake.URL, err)
	}
	return store, nil
}
