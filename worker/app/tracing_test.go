package app

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/otlptest"
	"github.com/metronome-data/metronome/workflows"
)

// Without OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT), or with
// OpenTelemetry turned off, tracing is off: no provider is installed and
// the Temporal clients get no interceptor. With one, they get the tracing
// interceptor until stop.
func TestTracingOnlyWhenAnEndpointIsSet(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		on   bool
	}{
		{"unset", nil, false},
		{"empty", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, true},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}, true},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true},
		{"SDK disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"}, false},
		{"no trace exporter", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			otlptest.ClearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			stop, err := StartTracing(context.Background(), zap.NewNop(), WorkerServiceName)
			require.NoError(t, err)
			_, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider)
			require.Equal(t, tt.on, TracingEnabled())
			require.Equal(t, tt.on, sdk, "an SDK tracer provider installed")
			require.Equal(t, tt.on, len(tracingInterceptors()) == 1, "interceptors %v", tracingInterceptors())
			stop()
			_, sdk = otel.GetTracerProvider().(*sdktrace.TracerProvider)
			require.False(t, sdk, "an SDK tracer provider after stop")
			require.Empty(t, tracingInterceptors(), "an interceptor after stop")
		})
	}
}

// stop sends the spans still queued (the batch would wait a minute), over
// either protocol, under the default service name or OTEL_SERVICE_NAME.
func TestTracingStopFlushes(t *testing.T) {
	tests := []struct {
		protocol, serviceName, wantService string
		start                              func(testing.TB) (*otlptest.Receiver, string)
	}{
		{"http/protobuf", "", WorkerServiceName, otlptest.Start},
		{"grpc", "", WorkerServiceName, otlptest.StartGRPC},
		{"", "metronome-eu", "metronome-eu", otlptest.Start},
	}
	for _, tt := range tests {
		t.Run(tt.protocol+tt.serviceName, func(t *testing.T) {
			otlptest.ClearEnv(t)
			receiver, endpoint := tt.start(t)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tt.protocol)
			t.Setenv("OTEL_SERVICE_NAME", tt.serviceName)
			t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
			stop, err := StartTracing(context.Background(), zap.NewNop(), WorkerServiceName)
			require.NoError(t, err)
			_, span := otel.Tracer("test").Start(context.Background(), "RunActivity:Store")
			span.End()
			require.Empty(t, receiver.Spans(), "exported before stop")
			stop()
			spans := receiver.Spans()
			require.Len(t, spans, 1)
			require.Equal(t, "RunActivity:Store", spans[0].Name)
			require.Equal(t, map[string]bool{tt.wantService: true}, receiver.Services())
		})
	}
}

func TestTracingRefusesAnUnknownProtocol(t *testing.T) {
	otlptest.ClearEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	_, err := StartTracing(context.Background(), zap.NewNop(), WorkerServiceName)
	var cfgErr *config.ValidationError
	require.ErrorAs(t, err, &cfgErr)
	require.ErrorContains(t, err, `OTEL_EXPORTER_OTLP_PROTOCOL = "http/json" is invalid: want http/protobuf or grpc`)
}

// One pipeline run, started by a client like the starter's and run by a
// worker over the sample catalog, is exactly one trace at the OTLP
// receiver: its root is the client's StartWorkflow span; every stage's
// activity span descends from it through the workflow's spans; every
// Spotify request is a span under the activity that sent it, the collect
// activities' as many as the manifest counts.
func TestTracesOfAPipelineRun(t *testing.T) {
	otlptest.ClearEnv(t)
	receiver, endpoint := otlptest.Start(t)
	ctx, cfg := startHarness(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
	stopTracing, err := StartTracing(ctx, zap.NewNop(), WorkerServiceName)
	require.NoError(t, err)
	defer stopTracing()

	workerClient, err := dial(ctx, cfg, zap.NewNop(), nil)
	require.NoError(t, err)
	defer workerClient.Close()
	b, err := OpenBackends(ctx, cfg, zap.NewNop(), nil)
	require.NoError(t, err)
	defer b.Close()
	workerCtx, stopWorker := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- RunWorkers(workerCtx, workerClient, cfg, b.Activities, nil) }()

	starterClient, err := Dial(ctx, cfg, zap.NewNop())
	require.NoError(t, err)
	defer starterClient.Close()
	_, m := runPipeline(t, ctx, starterClient, cfg)
	stopWorker()
	require.NoError(t, <-ran)
	stopTracing() // flushes

	spans := receiver.Spans()
	require.Equal(t, map[string]bool{WorkerServiceName: true}, receiver.Services())
	byID := map[string]*tracepb.Span{}
	traces := map[string]bool{}
	var roots []*tracepb.Span
	for _, s := range spans {
		byID[otlptest.ID(s.SpanId)] = s
		traces[otlptest.ID(s.TraceId)] = true
		if len(s.ParentSpanId) == 0 {
			roots = append(roots, s)
		}
	}
	require.Len(t, traces, 1, "traces of one run")
	require.Len(t, roots, 1, "root spans")
	root := roots[0]
	require.Equal(t, "StartWorkflow:PipelineWorkflow", root.Name)
	require.Equal(t, workflows.PipelineWorkflowID(harnessDate), otlptest.Attr(root, "temporalWorkflowID"))

	// ancestors are the names of the spans above s, nearest first; the
	// chain must end at the root.
	ancestors := func(s *tracepb.Span) []string {
		var names []string
		for len(s.ParentSpanId) > 0 {
			parent, ok := byID[otlptest.ID(s.ParentSpanId)]
			require.True(t, ok, "the parent of %s was not exported", s.Name)
			names = append(names, parent.Name)
			s = parent
		}
		require.Same(t, root, s, "a span chain that does not reach the run's root")
		return names
	}

	stages := map[string]int{}
	spotifyCalls := map[string]int{} // by the activity that sent them
	for _, s := range spans {
		up := ancestors(s)
		switch {
		case strings.HasPrefix(s.Name, "RunActivity:"):
			activity := strings.TrimPrefix(s.Name, "RunActivity:")
			stages[activity]++
			require.Equal(t, "StartActivity:"+activity, up[0], "the parent of %s", s.Name)
			require.Contains(t, up[1], "RunWorkflow:", "the workflow above %s", s.Name)
		case strings.HasPrefix(s.Name, "GET /v1/"):
			require.True(t, strings.HasPrefix(up[0], "RunActivity:"), "the Spotify request %s is under %s, not an activity", s.Name, up[0])
			require.Equal(t, "200", otlptest.Attr(s, "http.response.status_code"), s.Name)
			require.Equal(t, "1", otlptest.Attr(s, "spotify.attempt"), s.Name)
			require.Equal(t, s.Name, "GET "+otlptest.Attr(s, "url.template"))
			require.NotRegexp(t, `/[0-9A-Za-z]{22}(/|$)`, s.Name, "a span name with a Spotify ID")
			spotifyCalls[strings.TrimPrefix(up[0], "RunActivity:")]++
		}
	}
	for _, stage := range []string{"Resolve", "CollectBatch", "Clean", "Store", "Aggregate", "WriteManifest"} {
		require.Positive(t, stages[stage], "no span of the %s activity; stages %v", stage, stages)
	}
	calls := 0
	for _, n := range m.Collect.Calls {
		calls += n
	}
	require.Positive(t, calls)
	require.Equal(t, calls, spotifyCalls["CollectBatch"], "Spotify request spans under the collect activities; all %v", spotifyCalls)
	size := 0
	for _, s := range spans {
		size += proto.Size(s)
	}
	t.Logf("one trace of %d spans, %d bytes of OTLP protobuf; activity spans %v; Spotify request spans by activity %v",
		len(spans), size, stages, spotifyCalls)
}
