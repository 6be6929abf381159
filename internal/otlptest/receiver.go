// Package otlptest is an in-process OTLP trace receiver for tests, over
// HTTP or gRPC: what a trace backend (Jaeger, a collector) would get from
// metronome.
package otlptest

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/httpserve"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Receiver keeps the spans of every ExportTraceServiceRequest it is sent.
type Receiver struct {
	mu       sync.Mutex
	spans    []*tracepb.Span
	services map[string]bool
}

// Start serves a Receiver over OTLP/HTTP (protobuf posted to /v1/traces)
// on a free port of 127.0.0.1 until the test ends. endpoint is its base
// URL, the value of OTEL_EXPORTER_OTLP_ENDPOINT.
func Start(t testing.TB) (r *Receiver, endpoint string) {
	t.Helper()
	r, ln := newReceiver(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = httpserve.Serve(ctx, ln, http.HandlerFunc(r.export), httpserve.WithName("OTLP receiver"),
			httpserve.WithShutdownGrace(time.Second))
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r, "http://" + ln.Addr().String()
}

// StartGRPC is Start over OTLP/gRPC, without TLS: endpoint is an http://
// URL, which the gRPC exporter takes for insecure.
func StartGRPC(t testing.TB) (r *Receiver, endpoint string) {
	t.Helper()
	r, ln := newReceiver(t)
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, traceService{r: r})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return r, "http://" + ln.Addr().String()
}

func newReceiver(t testing.TB) (*Receiver, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for OTLP: %v", err)
	}
	return &Receiver{services: map[string]bool{}}, ln
}

type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *Receiver
}

func (s traceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.r.add(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// add keeps the spans of export and the service names of their resources.
func (r *Receiver) add(export *coltracepb.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range export.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				r.services[kv.GetValue().GetStringValue()] = true
			}
		}
		for _, ss := range rs.ScopeSpans {
			r.spans = append(r.spans, ss.Spans...)
		}
	}
}

// Spans are the spans received so far.
func (r *Receiver) Spans() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

// Services are the service.name resource attributes of the exports.
func (r *Receiver) Services() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for s := range r.services {
		out[s] = true
	}
	return out
}

func (r *Receiver) export(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" ||
		req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want a POST of application/x-protobuf to /v1/traces", http.StatusBadRequest)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var export coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &export); err != nil {
		http.Error(w, "not an ExportTraceServiceRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.add(&export)
	out, err := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// Attr is the value of a span's string or integer attribute as text, ""
// when the span has none of that name.
func Attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key != key {
			continue
		}
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(v.IntValue, 10)
		}
	}
	return ""
}

// ID is a span or trace ID in hex, as trace backends show it.
func ID(id []byte) string { return hex.EncodeToString(id) }

// ClearEnv unsets every OTEL_ variable of the environment until the test
// ends, so the test's own settings are the only ones.
func ClearEnv(t testing.TB) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "OTEL_") {
			t.Setenv(name, "") // restores the value when the test ends
			if err := os.Unsetenv(name); err != nil {
				t.Fatalf("unset %s: %v", name, err)
			}
		}
	}
}
