package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
)

// Default service names of the two binaries; OTEL_SERVICE_NAME (or
// service.name in OTEL_RESOURCE_ATTRIBUTES) overrides them.
const (
	WorkerServiceName  = "metronome-worker"
	StarterServiceName = "metronome-starter"
)

// tracing is the SDK's tracing interceptor while StartTracing's exporter
// runs, nil otherwise: clientOptions adds it to every Temporal client, and
// workers inherit it from their client.
var tracing atomic.Pointer[interceptor.Interceptor]

// TracingEnabled reports whether the environment asks for traces: the
// standard OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// is set, and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none
// turns OpenTelemetry off.
func TracingEnabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || os.Getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// StartTracing exports the process's spans over OTLP when TracingEnabled:
// it installs an OpenTelemetry tracer provider as the global one (the
// Spotify client's request spans use it) and the Temporal SDK's tracing
// interceptor for the clients made after it. The exporter reads the
// standard OTEL_EXPORTER_OTLP_* variables; the sampler and batching read
// OTEL_TRACES_SAMPLER* and OTEL_BSP_*. Export failures are logged, never
// fatal. stop sends the spans not yet sent, for up to traceFlushTimeout,
// and uninstalls the provider; calling it again does nothing. When tracing
// is off nothing is installed and stop does nothing.
func StartTracing(ctx context.Context, logger *zap.Logger, serviceName string) (stop func(), err error) {
	if !TracingEnabled() {
		return func() {}, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessPID())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("describe this process for its traces (OTEL_RESOURCE_ATTRIBUTES %q): %w",
			os.Getenv("OTEL_RESOURCE_ATTRIBUTES"), err)
	}
	exporter, err := newSpanExporter(ctx)
	if err != nil {
		return nil, err
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	ti, err := opentelemetry.NewTracingInterceptor(opentelemetry.TracerOptions{
		Tracer: provider.Tracer("temporal-sdk-go"),
		// `starter run --wait` and `starter status` ask a run's progress
		// several times a second: a trace of its own for each would bury
		// the runs' traces.
		DisableQueryTracing: true,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create the Temporal tracing interceptor: %w", err), provider.Shutdown(ctx))
	}
	otel.SetTracerProvider(provider)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("traces not exported", zap.Error(err))
	}))
	tracing.Store(&ti)
	var once sync.Once
	return func() { once.Do(func() { stopTracing(provider, logger) }) }, nil
}

// stopTracing uninstalls provider and flushes its spans.
func stopTracing(provider *sdktrace.TracerProvider, logger *zap.Logger) {
	tracing.Store(nil)
	otel.SetTracerProvider(noop.NewTracerProvider())
	// The process is stopping: its own context is likely done.
	ctx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
	defer cancel()
	if err := provider.Shutdown(ctx); err != nil {
		logger.Warn("traces not flushed", zap.Duration("within", traceFlushTimeout), zap.Error(err))
	}
}

// traceFlushTimeout bounds the export of the last spans at exit, so a
// trace backend that is down does not hold the process.
const traceFlushTimeout = 5 * time.Second

// newSpanExporter is the OTLP exporter of OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
// or OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf (the default) or grpc.
func newSpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	name, protocol := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		name, protocol = "OTEL_EXPORTER_OTLP_PROTOCOL", os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exporter sdktrace.SpanExporter
	var err error
	switch strings.TrimSpace(protocol) {
	case "", "http/protobuf":
		exporter, err = otlptracehttp.New(ctx)
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	default:
		return nil, &config.ValidationError{Key: name, Value: protocol, Allowed: "http/protobuf or grpc"}
	}
	if err != nil {
		return nil, fmt.Errorf("create the OTLP trace exporter (%s %q): %w", name, protocol, err)
	}
	return exporter, nil
}

// tracingInterceptors are the client interceptors of clientOptions: the
// tracing interceptor while tracing is on, none otherwise.
func tracingInterceptors() []interceptor.ClientInterceptor {
	ti := tracing.Load()
	if ti == nil {
		return nil
	}
	return []interceptor.ClientInterceptor{*ti}
}
