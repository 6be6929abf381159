// Package spotify collects artist data from the Spotify Web API (or any
// server compatible with it) with github.com/zmb3/spotify/v2 and client
// credentials, in either of Spotify's API modes, at the fastest pace the
// app's rate limit allows: a RoundTripper under the zmb3 client shares
// every 429's Retry-After with all goroutines of the process through a
// Gate, paces requests just under the rate that drew the 429, and turns
// every failure into a typed *APIError.
//
// Every API call is retried in process a bounded number of times
// (Options.MaxAttempts) when it fails transiently: 5xx, timeouts, dropped
// connections, truncated or malformed JSON, and 429s whose Retry-After is
// at most the Gate's MaxWait. When the attempts are spent, or a 429 asks
// for longer or is a quota, the call returns the retryable *APIError so
// the caller (a Temporal activity) retries durably after RetryAfter.
package spotify

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	zspotify "github.com/zmb3/spotify/v2"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Defaults of Options.
const (
	DefaultBaseURL     = "https://api.spotify.com/v1/"
	DefaultTokenURL    = "https://accounts.spotify.com/api/token"
	DefaultMarket      = "US"
	DefaultTimeout     = 10 * time.Second
	DefaultConcurrency = 4
	DefaultMaxAttempts = 4
	DefaultBackoff     = 250 * time.Millisecond
	maxBackoff         = 5 * time.Second
)

// Endpoint names, as used in BatchResult.Calls, Raw.Endpoint and
// APIError.Endpoint.
const (
	EndpointToken         = "token"
	EndpointSearch        = "search"
	EndpointArtists       = "artists"       // GET /artists?ids= (batch)
	EndpointArtist        = "artist"        // GET /artists/{id}
	EndpointTopTracks     = "top_tracks"    // GET /artists/{id}/top-tracks
	EndpointArtistAlbums  = "artist_albums" // GET /artists/{id}/albums
	EndpointAlbum         = "album"         // GET /albums/{id}
	EndpointAlbumTracks   = "album_tracks"  // GET /albums/{id}/tracks
	EndpointAudioFeatures = "audio_features"
)

// Mode is the API an app is served: Spotify gives extended-quota apps and
// development-mode apps different endpoints, fields and page sizes.
type Mode string

// API modes.
const (
	// ModeAuto asks ProbeMode which mode the app is in.
	ModeAuto        Mode = "auto"
	ModeExtended    Mode = "extended"
	ModeDevelopment Mode = "development"
)

// ParseMode parses "auto", "extended" or "development".
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.TrimSpace(strings.ToLower(s))); m {
	case ModeAuto, ModeExtended, ModeDevelopment:
		return m, nil
	}
	return "", fmt.Errorf("spotify api mode %q: want auto, extended or development", s)
}

// Options configure a Client.
type Options struct {
	ClientID     string
	ClientSecret string
	BaseURL      string // default DefaultBaseURL
	TokenURL     string // default DefaultTokenURL
	Market       string // default "US"
	// Timeout bounds each attempt of a request; default 10s.
	Timeout time.Duration
	// HTTPClient's Transport carries the requests (default
	// http.DefaultTransport); the client adds auth, rate limiting and
	// timeouts on top.
	HTTPClient *http.Client
	// Gate is the rate-limit state shared by every client of the process;
	// default DefaultGate().
	Gate *Gate
	// Concurrency is how many requests CollectBatch keeps in flight;
	// default 4.
	Concurrency int
	// MaxAttempts bounds the attempts of one call on transient failures;
	// default 4.
	MaxAttempts int
	// Backoff is the wait before the second attempt after a 5xx, timeout
	// or bad body; it doubles per attempt, with jitter, up to 5s.
	// Default 250ms. A 429 waits its Retry-After instead.
	Backoff time.Duration
}

// Client talks to the Spotify Web API.
type Client struct {
	opts    Options
	baseURL string
	http    *http.Client
	api     *zspotify.Client
	gate    *Gate
}

// New returns a client. It sends nothing: the first call fetches the token.
func New(_ context.Context, opts Options) (*Client, error) {
	if opts.ClientID == "" || opts.ClientSecret == "" {
		return nil, fmt.Errorf("spotify client: client ID and secret are required (got ID %q)", opts.ClientID)
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if !strings.HasSuffix(opts.BaseURL, "/") {
		opts.BaseURL += "/"
	}
	if opts.TokenURL == "" {
		opts.TokenURL = DefaultTokenURL
	}
	for _, u := range []struct{ name, v string }{{"base URL", opts.BaseURL}, {"token URL", opts.TokenURL}} {
		parsed, err := url.Parse(u.v)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return nil, fmt.Errorf("spotify client: %s %q: want an http(s) URL", u.name, u.v)
		}
	}
	if opts.Market == "" {
		opts.Market = DefaultMarket
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Gate == nil {
		opts.Gate = DefaultGate()
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	base := http.DefaultTransport
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		base = opts.HTTPClient.Transport
	}
	tokens := &tokenSource{
		cfg: clientcredentials.Config{
			ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
			TokenURL: opts.TokenURL, AuthStyle: oauth2.AuthStyleInHeader,
		},
		client:  &http.Client{Transport: tracedTransport{next: base, endpoint: EndpointToken}},
		timeout: opts.Timeout,
	}
	hc := &http.Client{Transport: &transport{base: base, gate: opts.Gate, tokens: tokens, timeout: opts.Timeout}}
	return &Client{
		opts:    opts,
		baseURL: opts.BaseURL,
		http:    hc,
		api:     zspotify.New(hc, zspotify.WithBaseURL(opts.BaseURL)),
		gate:    opts.Gate,
	}, nil
}

// Gate returns the rate-limit gate the client uses.
func (c *Client) Gate() *Gate { return c.gate }

// probeArtist is a real artist ID (from Spotify's documentation) for the
// probe; a server that does not know it answers null, which is fine.
const probeArtist = "0TnOYISbd1XYRBk9myaseg"

// ProbeMode finds out which API the app is served with one cheap batch
// call: development-mode apps get 403 from the ?ids= endpoints.
func (c *Client) ProbeMode(ctx context.Context) (Mode, error) {
	_, err := c.do(ctx, EndpointArtists, nil, func(ctx context.Context) error {
		_, err := c.api.GetArtists(ctx, zspotify.ID(probeArtist))
		return err
	})
	if err == nil {
		return ModeExtended, nil
	}
	if e := asAPIError(err); e != nil && e.Status == http.StatusForbidden {
		return ModeDevelopment, nil
	}
	return "", fmt.Errorf("probe the API mode: %w", err)
}

// ResolveMode returns m, or the probed mode when m is ModeAuto.
func (c *Client) ResolveMode(ctx context.Context, m Mode) (Mode, error) {
	switch m {
	case ModeExtended, ModeDevelopment:
		return m, nil
	case ModeAuto, "":
		return c.ProbeMode(ctx)
	}
	return "", fmt.Errorf("spotify api mode %q: want auto, extended or development", m)
}

// callCounter counts requests sent, by endpoint.
type callCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (cc *callCounter) add(endpoint string, n int) {
	if cc == nil || n == 0 {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.n[endpoint] += n
}

// do runs one API call with the in-process retries and returns the exact
// body of its successful answer. fn makes the request with the context it
// is given, which carries the capture the transport fills.
func (c *Client) do(ctx context.Context, endpoint string, calls *callCounter, fn func(context.Context) error) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		capt := &capture{attempt: attempt}
		err := fn(withCapture(ctx, capt))
		calls.add(endpoint, capt.sent)
		if err == nil {
			return capt.body, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e := asAPIError(err)
		if e == nil {
			// Valid JSON (the transport checked) of another shape than the
			// API's: asking again will not change it.
			return nil, &APIError{Endpoint: endpoint, Status: http.StatusOK,
				Message: fmt.Sprintf("answer does not decode: %v", err)}
		}
		if !e.Retryable {
			return nil, refused(endpoint, e)
		}
		if attempt >= c.opts.MaxAttempts {
			return nil, e
		}
		if e.Status == http.StatusTooManyRequests {
			if e.Quota || e.RetryAfter > c.gate.opts.MaxWait {
				return nil, e
			}
			// The gate holds the next attempt until the Retry-After ends.
			continue
		}
		if err := sleepCtx(ctx, c.backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// backoff is the full-jitter wait after a failed attempt.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.Backoff << (attempt - 1)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// getJSON is a typed request of our own for what zmb3 lacks (e.g. the
// market parameter of top tracks), sent through the same http.Client.
func (c *Client) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("build request %s: %w", u, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// The transport returns an error for every non-2xx answer.
	return json.NewDecoder(resp.Body).Decode(out)
}

// GetArtistRaw returns one artist object exactly as Spotify returned it,
// with the same retries as CollectBatch (e.g. for an on-demand request).
func (c *Client) GetArtistRaw(ctx context.Context, artistID string) (json.RawMessage, error) {
	if !IsID(artistID) {
		return nil, badRequest(EndpointArtist, "artist ID %q is not a Spotify ID", artistID)
	}
	return c.do(ctx, EndpointArtist, nil, func(ctx context.Context) error {
		_, err := c.api.GetArtist(ctx, zspotify.ID(artistID))
		return err
	})
}
