package spotify

import (
	"bytes"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the tracer of the spans of the requests to Spotify.
const tracerName = "github.com/metronome-data/metronome/internal/spotify"

// Attributes of a request span besides OpenTelemetry's HTTP ones.
const (
	attrEndpoint   = attribute.Key("spotify.endpoint")            // as in Calls and the metrics
	attrAttempt    = attribute.Key("spotify.attempt")             // the call's in-process attempt, from 1
	attrRetryAfter = attribute.Key("spotify.retry_after_seconds") // a 429's Retry-After
	attrQuota      = attribute.Key("spotify.quota")               // the 429 is a quota
)

// startRequestSpan starts the client span of one request to endpoint,
// child of the span in the request's context (a Temporal activity's, under
// the SDK's tracing interceptor). The tracer is the global provider's at
// the time, so a provider installed later (or again, in tests) is used;
// without one (tracing off) the span records nothing. attempt 0 (a request
// outside Client.do, the token's) leaves the attempt out.
func startRequestSpan(req *http.Request, endpoint string, attempt int) trace.Span {
	// Named once it records: with tracing off, a request pays for no
	// name or attributes.
	_, span := otel.GetTracerProvider().Tracer(tracerName).Start(req.Context(), "spotify request", trace.WithSpanKind(trace.SpanKindClient))
	if !span.IsRecording() {
		return span
	}
	template := pathTemplate(req.URL.Path)
	span.SetName(req.Method + " " + template)
	span.SetAttributes(
		attribute.String("http.request.method", req.Method),
		attribute.String("url.template", template),
		attribute.String("server.address", req.URL.Hostname()),
		attrEndpoint.String(endpoint),
	)
	if attempt > 0 {
		span.SetAttributes(attrAttempt.Int(attempt))
	}
	return span
}

// endRequestSpan records the answer (resp and its body, or err) and ends
// the span. A 4xx or 5xx answer marks the span failed, as OpenTelemetry's
// HTTP conventions do for client spans.
func endRequestSpan(span trace.Span, resp *http.Response, body []byte, err error) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode == http.StatusTooManyRequests {
		if v := resp.Header.Get("Retry-After"); v != "" {
			span.SetAttributes(attrRetryAfter.Float64(parseRetryAfter(v).Seconds()))
		}
		if body != nil {
			span.SetAttributes(attrQuota.Bool(bytes.Contains(body, []byte("QUOTA_EXCEEDED"))))
		}
	}
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, resp.Status)
	}
}

// pathTemplate is path with its IDs replaced by {id}, from the API's
// version segment on: /v1/artists/0TnOYISbd1XYRBk9myaseg/top-tracks is
// /v1/artists/{id}/top-tracks. Every Web API path alternates collection
// and ID (artists/{id}/albums), so the segments at odd places after the
// version are the IDs; span names stay few whatever the IDs.
func pathTemplate(path string) string {
	prefix, rest := "/", strings.TrimPrefix(path, "/")
	if i := strings.Index(path, "/v1/"); i >= 0 {
		prefix, rest = "/v1/", path[i+len("/v1/"):]
	} else if strings.HasSuffix(path, "/api/token") {
		return "/api/token"
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	for i := 1; i < len(seg); i += 2 {
		seg[i] = "{id}"
	}
	return prefix + strings.Join(seg, "/")
}

// tracedTransport gives the requests of a client of its own (the token
// source's) their spans.
type tracedTransport struct {
	next     http.RoundTripper
	endpoint string
}

func (t tracedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	span := startRequestSpan(req, t.endpoint, 0)
	resp, err := t.next.RoundTrip(req)
	endRequestSpan(span, resp, nil, err)
	return resp, err
}
