// Package logging builds metronome's zap loggers and adapts them to the
// Temporal SDK's log.Logger, so workflow and activity logs carry their IDs as
// structured fields.
package logging

import (
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Format is the encoding of log lines.
type Format string

const (
	// Console is human-readable, for `starter dev` and terminals.
	Console Format = "console"
	// JSON is one object a line, for workers and log shippers.
	JSON Format = "json"
)

// New returns a zap logger writing to stderr at level ("debug", "info",
// "warn" or "error") in the given format.
func New(level string, format Format) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error: %w", level, err)
	}
	var cfg zap.Config
	switch format {
	case Console:
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		cfg.DisableStacktrace = true
	case JSON:
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.TimeKey = "ts"
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	default:
		return nil, fmt.Errorf("log format %q: want console or json", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.OutputPaths = []string{"stderr"}
	cfg.ErrorOutputPaths = []string{"stderr"}
	logger, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("build logger: %w", err)
	}
	return logger, nil
}
