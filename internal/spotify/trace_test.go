package spotify

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

func TestPathTemplate(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/v1/search", "/v1/search"},
		{"/v1/artists", "/v1/artists"},
		{"/v1/artists/0TnOYISbd1XYRBk9myaseg", "/v1/artists/{id}"},
		{"/v1/artists/0TnOYISbd1XYRBk9myaseg/top-tracks", "/v1/artists/{id}/top-tracks"},
		{"/v1/artists/0TnOYISbd1XYRBk9myaseg/albums", "/v1/artists/{id}/albums"},
		{"/v1/albums/4aawyAB9vmqN3uQ7FjRGTy/tracks", "/v1/albums/{id}/tracks"},
		{"/v1/audio-features", "/v1/audio-features"},
		{"/proxy/v1/albums/4aawyAB9vmqN3uQ7FjRGTy", "/v1/albums/{id}"},
		{"/api/token", "/api/token"},
		{"/artists/0TnOYISbd1XYRBk9myaseg", "/artists/{id}"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, pathTemplate(tt.path), tt.path)
	}
}

// recordSpans installs a global tracer provider whose spans the returned
// recorder keeps, until the test ends.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		require.NoError(t, tp.Shutdown(context.Background()))
	})
	return rec
}

// Every request of a call is a client span under the caller's span: the
// token's, then one per attempt, each with its endpoint template, status,
// attempt and, for a 429, the Retry-After it asked for.
func TestRequestSpans(t *testing.T) {
	rec := recordSpans(t)
	var limited atomic.Bool
	once429 := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v1/artists/") && limited.CompareAndSwap(false, true) {
				w.Header().Set("Retry-After", "0.05")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte(`{"error":{"status":429,"message":"API rate limit exceeded"}}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	fake := startFake(t, spotifyfake.Options{Artists: 10}, once429)
	c := newTestClient(t, fake.url)
	id := fake.artistIDs(1)[0]

	ctx, parent := otel.Tracer("test").Start(context.Background(), "RunActivity:CollectBatch")
	_, err := c.GetArtistRaw(ctx, id)
	parent.End()
	require.NoError(t, err)

	type got struct {
		name       string
		status     int64
		attempt    int64
		retryAfter float64
		failed     bool
	}
	var spans []got
	for _, s := range rec.Ended() {
		if s.Name() == "RunActivity:CollectBatch" {
			continue
		}
		require.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID(), "%s is not a child of the caller's span", s.Name())
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		require.Equal(t, s.Name(), attrs["http.request.method"].AsString()+" "+attrs["url.template"].AsString())
		require.NotContains(t, s.Name(), id, "span name with an ID")
		spans = append(spans, got{
			name: s.Name(), status: attrs["http.response.status_code"].AsInt64(), attempt: attrs[attrAttempt].AsInt64(),
			retryAfter: attrs[attrRetryAfter].AsFloat64(), failed: s.Status().Code == codes.Error,
		})
	}
	require.Equal(t, []got{
		{name: "POST /api/token", status: 200},
		{name: "GET /v1/artists/{id}", status: 429, attempt: 1, retryAfter: 0.05, failed: true},
		{name: "GET /v1/artists/{id}", status: 200, attempt: 2},
	}, spans)
}

// Without a tracer provider, requests make no recording spans.
func TestRequestSpansOffWithoutProvider(t *testing.T) {
	otel.SetTracerProvider(noop.NewTracerProvider())
	req, err := http.NewRequest(http.MethodGet, "http://spotify.test/v1/artists/x", nil)
	require.NoError(t, err)
	span := startRequestSpan(req, EndpointArtist, 1)
	require.False(t, span.IsRecording())
	endRequestSpan(span, &http.Response{StatusCode: http.StatusOK}, nil, nil)
}

// discard is a span exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// The cost of a request's span, tracing off (no provider: what every
// request pays) and on (the SDK batching to an exporter).
func BenchmarkRequestSpan(b *testing.B) {
	req, err := http.NewRequest(http.MethodGet, "http://spotify.test/v1/artists/0TnOYISbd1XYRBk9myaseg/top-tracks", nil)
	require.NoError(b, err)
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}}
	on := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	b.Cleanup(func() { _ = on.Shutdown(context.Background()) })
	for _, bench := range []struct {
		name     string
		provider trace.TracerProvider
	}{{"off", noop.NewTracerProvider()}, {"on", on}} {
		b.Run(bench.name, func(b *testing.B) {
			otel.SetTracerProvider(bench.provider)
			defer otel.SetTracerProvider(noop.NewTracerProvider())
			b.ReportAllocs()
			for b.Loop() {
				endRequestSpan(startRequestSpan(req, EndpointTopTracks, 1), resp, nil, nil)
			}
		})
	}
}
