package main

import (
	"context"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/metronome-data/metronome/worker/app"
)

// startTracing exports the command's spans when OTEL_EXPORTER_OTLP_ENDPOINT
// is set (app.StartTracing): the span of a run's start is the root of its
// trace. A trace backend that cannot be reached is warned about on stderr;
// the command goes on.
func startTracing(ctx context.Context, stderr io.Writer) (stop func(), err error) {
	logger := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(stderr), zapcore.WarnLevel))
	return app.StartTracing(ctx, logger, app.StarterServiceName)
}
