package spotify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// transport is the http.RoundTripper under the zmb3 client: it passes the
// shared Gate, authenticates with the client-credentials token (fetching a
// fresh one once on a 401), bounds each attempt by a timeout, and turns
// every unsuccessful answer into a typed *APIError. It also validates and
// buffers the body, so a truncated or malformed answer is a retryable error
// rather than a decoding failure, and hands the exact bytes to the capture
// carried in the request's context.
type transport struct {
	base    http.RoundTripper
	gate    *Gate
	tokens  *tokenSource
	timeout time.Duration
}

// capture receives what the transport did for one call.
type capture struct {
	attempt int // of the call, from 1 (Client.do)
	mu      sync.Mutex
	sent    int    // requests sent to the API
	body    []byte // body of the successful answer
}

type captureKey struct{}

func withCapture(ctx context.Context, c *capture) context.Context {
	return context.WithValue(ctx, captureKey{}, c)
}

func captureFrom(ctx context.Context) *capture {
	c, _ := ctx.Value(captureKey{}).(*capture)
	return c
}

func (c *capture) attemptOf() int {
	if c == nil {
		return 0
	}
	return c.attempt
}

func (c *capture) addSent() {
	if c != nil {
		c.mu.Lock()
		c.sent++
		c.mu.Unlock()
	}
}

func (c *capture) setBody(b []byte) {
	if c != nil {
		c.mu.Lock()
		c.body = b
		c.mu.Unlock()
	}
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		// Only GETs are sent; a body could not be replayed after a 401.
		req.Body.Close()
	}
	ctx := req.Context()
	endpoint := endpointOf(req.URL.Path)
	capt := captureFrom(ctx)
	refreshed := false
	for {
		sentAt, err := t.gate.Wait(ctx)
		if err != nil {
			return nil, withEndpoint(err, endpoint)
		}
		tok, err := t.tokens.token(ctx)
		if err != nil {
			return nil, err
		}
		capt.addSent()
		t.gate.sending()
		span := startRequestSpan(req, endpoint, capt.attemptOf())
		resp, body, err := t.send(ctx, req, tok)
		endRequestSpan(span, resp, body, err)
		t.gate.sent()
		if err != nil {
			return nil, withEndpoint(err, endpoint)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
			quota := bytes.Contains(body, []byte("QUOTA_EXCEEDED"))
			if quota && resp.Header.Get("Retry-After") == "" {
				// No Retry-After: how long to wait is the caller's to
				// decide (spotify.quota_wait), not a guess of one second.
				retryAfter = 0
			}
			t.gate.block(retryAfter, quota)
			return nil, &APIError{
				Endpoint: endpoint, Status: resp.StatusCode, Message: errorMessage(body, resp.Status),
				RetryAfter: retryAfter, Quota: quota, Retryable: true,
			}
		}
		t.gate.answer(sentAt)
		if resp.StatusCode == http.StatusUnauthorized && !refreshed {
			// The token expired or was revoked early: fetch a new one, once.
			t.tokens.invalidate(tok)
			refreshed = true
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, &APIError{
				Endpoint: endpoint, Status: resp.StatusCode, Message: errorMessage(body, resp.Status),
				Retryable: resp.StatusCode >= 500,
			}
		}
		if !json.Valid(body) {
			return nil, &APIError{
				Endpoint: endpoint, Status: resp.StatusCode, Retryable: true,
				Message: fmt.Sprintf("malformed JSON in a %d-byte answer", len(body)),
			}
		}
		capt.setBody(body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Encoding")
		return resp, nil
	}
}

// send makes one attempt within the timeout and reads the whole body.
func (t *transport) send(ctx context.Context, req *http.Request, tok *oauth2.Token) (*http.Response, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	r := req.Clone(actx)
	r.Body = nil
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, nil, attemptError(ctx, actx, t.timeout, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, nil, attemptError(ctx, actx, t.timeout, err)
	}
	return resp, body, nil
}

// attemptError classifies a failed attempt: the caller's cancellation is
// returned as is; a timeout or a broken connection is retryable.
func attemptError(ctx, actx context.Context, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return &APIError{Message: fmt.Sprintf("no answer within %v (timeout)", timeout), Retryable: true}
	}
	return &APIError{Message: "request failed: " + err.Error(), Retryable: true}
}

func withEndpoint(err error, endpoint string) error {
	if e := asAPIError(err); e != nil && e.Endpoint == "" {
		e.Endpoint = endpoint
	}
	return err
}

// parseRetryAfter reads Retry-After in seconds. Spotify always sends one
// with a 429; without it one second is waited, the least it ever asks.
func parseRetryAfter(v string) time.Duration {
	secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || secs <= 0 {
		return time.Second
	}
	return time.Duration(secs * float64(time.Second))
}

// errorMessage extracts the message of Spotify's error object
// {"error":{"status":N,"message":"…"}} or of an OAuth error.
func errorMessage(body []byte, status string) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var inner struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &inner) == nil && inner.Message != "" {
			return inner.Message
		}
		var code string
		if json.Unmarshal(e.Error, &code) == nil && code != "" {
			return code
		}
	}
	return status
}

// endpointOf names the API endpoint of a request path, as Calls does.
func endpointOf(path string) string {
	_, rest, found := strings.Cut(path, "/v1/")
	if !found {
		rest = strings.TrimPrefix(path, "/")
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case seg[0] == "search":
		return EndpointSearch
	case seg[0] == "artists" && len(seg) == 1:
		return EndpointArtists
	case seg[0] == "artists" && len(seg) == 2:
		return EndpointArtist
	case seg[0] == "artists" && len(seg) == 3 && seg[2] == "top-tracks":
		return EndpointTopTracks
	case seg[0] == "artists" && len(seg) == 3 && seg[2] == "albums":
		return EndpointArtistAlbums
	case seg[0] == "albums" && len(seg) == 1:
		return "albums"
	case seg[0] == "albums" && len(seg) == 2:
		return EndpointAlbum
	case seg[0] == "albums" && len(seg) == 3 && seg[2] == "tracks":
		return EndpointAlbumTracks
	case seg[0] == "audio-features":
		return EndpointAudioFeatures
	}
	return strings.Join(seg, "/")
}

// tokenSource caches the client-credentials token and fetches a new one
// when it expires or a 401 says it is no longer good. One fetch runs at a
// time, so a 401 seen by many goroutines costs one token request.
type tokenSource struct {
	cfg     clientcredentials.Config
	client  *http.Client
	timeout time.Duration

	mu  sync.Mutex
	tok *oauth2.Token
}

func (s *tokenSource) token(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Valid() {
		return s.tok, nil
	}
	tctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, s.client), s.timeout)
	defer cancel()
	tok, err := s.cfg.Token(tctx)
	if err != nil {
		return nil, s.tokenError(ctx, err)
	}
	s.tok = tok
	return tok, nil
}

func (s *tokenSource) tokenError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		msg := re.ErrorCode
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
		if msg == "" {
			msg = strings.TrimSpace(string(re.Body))
		}
		status := re.Response.StatusCode
		e := &APIError{Endpoint: EndpointToken, Status: status, Retryable: status >= 500 || status == 429,
			Message: fmt.Sprintf("token request to %s refused: %s", s.cfg.TokenURL, msg)}
		if status == 429 {
			e.RetryAfter = parseRetryAfter(re.Response.Header.Get("Retry-After"))
		}
		return e
	}
	return &APIError{Endpoint: EndpointToken, Retryable: true,
		Message: fmt.Sprintf("token request to %s failed: %v", s.cfg.TokenURL, err)}
}

func (s *tokenSource) invalidate(old *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == old {
		s.tok = nil
	}
}
