// Package spotifyfake serves a Spotify-Web-API-compatible HTTP API over a
// deterministic synthetic catalog, in either of Spotify's two API modes
// (extended quota or development), with Spotify's rolling-window rate limit,
// a daily quota and seeded fault injection. Tests, benchmarks and
// `starter dev` use it instead of the real API.
package spotifyfake

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/metronome-data/metronome/internal/httpserve"
)

// API modes the fake plays.
const (
	ModeExtended    = "extended"
	ModeDevelopment = "development"
)

// Credentials the fake accepts unless Options say otherwise.
const (
	DefaultClientID     = "fake-id"
	DefaultClientSecret = "fake-secret"
)

// DefaultArtists is the catalog size when Options.Artists is zero.
const DefaultArtists = 200

// Options configure a fake server.
type Options struct {
	Artists      int    // catalog size, MinArtists..MaxArtists; default 200
	Seed         int64  // catalog seed
	Mode         string // ModeExtended (default) or ModeDevelopment
	Latency      time.Duration
	ClientID     string // default DefaultClientID
	ClientSecret string // default DefaultClientSecret
	// Budget requests are allowed in any rolling Window; more are answered
	// 429 with a Retry-After. A zero Window disables the limiter.
	Budget int
	Window time.Duration
	// Quota requests are allowed per UTC day; more are answered 429 with
	// "reason":"QUOTA_EXCEEDED" and a Retry-After until midnight. 0 = none.
	Quota int
	// QuotaOutage runs the quota out after some requests, for a while.
	QuotaOutage QuotaOutage
	// RefuseApp answers every API request 403, as Spotify answers a
	// development-mode app whose owner's Premium subscription lapsed; the
	// token endpoint still issues tokens.
	RefuseApp bool
	Faults    Faults
	// TokenTTL is how long an access token lives; default one hour.
	TokenTTL time.Duration
	// AsOf hides albums released after it (zero hides none), so a test can
	// play an earlier day and then a later one with new releases.
	AsOf time.Time
}

func (o *Options) setDefaults() error {
	if o.Artists == 0 {
		o.Artists = DefaultArtists
	}
	if o.Artists < MinArtists || o.Artists > MaxArtists {
		return fmt.Errorf("artists=%d: must be between %d and %d", o.Artists, MinArtists, MaxArtists)
	}
	switch o.Mode {
	case "":
		o.Mode = ModeExtended
	case ModeExtended, ModeDevelopment:
	default:
		return fmt.Errorf("mode=%q: must be %q or %q", o.Mode, ModeExtended, ModeDevelopment)
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.Latency < 0 {
		return fmt.Errorf("latency=%v: must not be negative", o.Latency)
	}
	if o.Window < 0 || o.Budget < 0 {
		return fmt.Errorf("budget=%d window=%v: must not be negative", o.Budget, o.Window)
	}
	if (o.Window > 0) != (o.Budget > 0) {
		return fmt.Errorf("budget=%d window=%v: give both or neither", o.Budget, o.Window)
	}
	if o.Quota < 0 {
		return fmt.Errorf("quota=%d: must not be negative", o.Quota)
	}
	if err := o.QuotaOutage.validate(); err != nil {
		return err
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = time.Hour
	}
	if o.TokenTTL < 0 {
		return fmt.Errorf("token TTL %v: must be positive", o.TokenTTL)
	}
	if err := o.Faults.validate(); err != nil {
		return err
	}
	if o.Faults.SlowDelay == 0 {
		o.Faults.SlowDelay = DefaultSlowDelay
	}
	if o.Faults.RetryAfter == 0 {
		o.Faults.RetryAfter = DefaultRetryAfter
	}
	o.Faults.RetryAfter = ceilSecond(o.Faults.RetryAfter)
	if o.Faults.Seed == 0 {
		o.Faults.Seed = o.Seed
	}
	return nil
}

// Server is the fake Spotify Web API: an http.Handler serving POST
// /api/token and GET /v1/… .
type Server struct {
	opts    Options
	catalog *Catalog

	mu     sync.Mutex
	tokens map[string]time.Time // access token → expiry
	faults *rng
	// rolling window: arrival times of admitted requests, oldest first
	admitted []time.Time
	quotaDay time.Time
	quotaN   int
	outage   outage
	// a Retry-After is in force from the moment the first 429 of a streak
	// was written until the latest Retry-After given ends
	raFrom, raUntil time.Time
	stats           Stats
	// arrivals are the arrival times of every API request (not the token
	// endpoint), whatever its answer, for Arrivals.
	arrivals []time.Time
}

// Stats counts what a server was asked and how it answered.
type Stats struct {
	// Requests counts requests by endpoint ("token", "search", "artist",
	// "artists", "top_tracks", "artist_albums", "related_artists", "album",
	// "albums", "album_tracks", "track", "tracks", "audio_features",
	// "audio_features_one", "unknown") and HTTP status.
	Requests map[string]map[int]int
	// Total counts every request, the token endpoint included.
	Total int
	// RateLimited counts 429s of the rolling window, QuotaExceeded those of
	// the daily quota; injected 429s are counted in Faults["429"].
	RateLimited   int
	QuotaExceeded int
	// DuringRetryAfter counts API requests that arrived after a 429 had
	// been sent and before its Retry-After ended. A well-behaved client
	// sends none once it has the 429; requests it had already sent, still
	// on their way, are counted too, so expect at most its concurrency
	// per 429 episode.
	DuringRetryAfter int
	// Faults counts injected faults by kind: 5xx, 429, slow, and truncated
	// or malformed (only 200 answers are corrupted).
	Faults map[string]int
}

// Calls returns the number of requests to an endpoint, whatever the answer.
func (s Stats) Calls(endpoint string) int {
	n := 0
	for _, c := range s.Requests[endpoint] {
		n += c
	}
	return n
}

// APICalls returns the number of requests to /v1 endpoints.
func (s Stats) APICalls() int {
	n := 0
	for ep := range s.Requests {
		if ep != "token" {
			n += s.Calls(ep)
		}
	}
	return n
}

// Status returns the number of answers with an HTTP status, all endpoints.
func (s Stats) Status(code int) int {
	n := 0
	for _, m := range s.Requests {
		n += m[code]
	}
	return n
}

// New returns a server for opts.
func New(opts Options) (*Server, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("spotifyfake options: %w", err)
	}
	s := &Server{
		opts:    opts,
		catalog: NewCatalog(opts.Artists, opts.Seed),
		tokens:  make(map[string]time.Time),
		faults:  newRNG(opts.Faults.Seed, 0xfa),
	}
	s.resetStatsLocked()
	return s, nil
}

// Catalog returns the catalog the server serves.
func (s *Server) Catalog() *Catalog { return s.catalog }

// Options returns the server's options, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.Requests = make(map[string]map[int]int, len(s.stats.Requests))
	for ep, m := range s.stats.Requests {
		c := make(map[int]int, len(m))
		for k, v := range m {
			c[k] = v
		}
		out.Requests[ep] = c
	}
	out.Faults = make(map[string]int, len(s.stats.Faults))
	for k, v := range s.stats.Faults {
		out.Faults[k] = v
	}
	return out
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetStatsLocked()
}

func (s *Server) resetStatsLocked() {
	s.stats = Stats{Requests: make(map[string]map[int]int), Faults: make(map[string]int)}
	s.arrivals = nil
}

// ExpireTokens makes every issued access token expired, as an hour passing
// would.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
}

// Start serves a new fake on a free 127.0.0.1 port until stop is called or
// ctx is done. url is the server's root, e.g. http://127.0.0.1:41234: the
// API is at url+"/v1/" and the token endpoint at url+"/api/token".
func Start(ctx context.Context, opts Options) (url string, stop func(), err error) {
	url, _, stop, err = StartServer(ctx, opts)
	return url, stop, err
}

// StartServer is Start that also returns the server, for its Stats.
func StartServer(ctx context.Context, opts Options) (url string, srv *Server, stop func(), err error) {
	srv, err = New(opts)
	if err != nil {
		return "", nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	stop = Serve(ctx, ln, srv)
	return "http://" + ln.Addr().String(), srv, stop, nil
}

// Serve serves h on ln until stop is called or ctx is done. stop waits for
// the server to finish; it is safe to call more than once.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve fails only if the listener broke; either way the server is
		// gone. Answers are not bounded in time: a slow answer is a fault
		// the fake plays on purpose (Faults.SlowDelay, Latency).
		_ = httpserve.Serve(ctx, ln, h, httpserve.WithName("fake Spotify API"),
			httpserve.WithWriteTimeout(0), httpserve.WithShutdownGrace(2*time.Second))
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrival := time.Now()
	if r.URL.Path == "/api/token" {
		s.serveToken(w, r)
		return
	}
	rt := route(r.URL.Path)
	s.mu.Lock()
	s.arrivals = append(s.arrivals, arrival)
	if !s.raUntil.IsZero() && !arrival.Before(s.raFrom) && arrival.Before(s.raUntil) {
		s.stats.DuringRetryAfter++
	}
	s.mu.Unlock()

	resp := s.serveAPI(r, rt, arrival)
	if !sleep(r.Context(), s.opts.Latency+resp.delay) {
		s.count(rt.endpoint, 499)
		return
	}
	s.write(w, rt.endpoint, resp)
}

// response is an answer being prepared.
type response struct {
	status int
	body   []byte
	// contentType is application/json unless set.
	contentType string
	retryAfter  time.Duration
	delay       time.Duration
	fault       faultKind
}

func (s *Server) serveAPI(r *http.Request, rt routed, arrival time.Time) response {
	if rt.endpoint == "unknown" {
		return errorResponse(http.StatusNotFound, "Service not found")
	}
	if r.Method != http.MethodGet {
		return errorResponse(http.StatusMethodNotAllowed, "Method not allowed")
	}
	if resp, ok := s.authorize(r, arrival); !ok {
		return resp
	}
	if s.opts.RefuseApp {
		return appRefused()
	}
	refused, fault, ok := s.admit(arrival)
	if !ok {
		return refused
	}
	switch fault {
	case faultServerError:
		codes := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
		s.mu.Lock()
		code := codes[s.faults.intn(len(codes))]
		s.mu.Unlock()
		resp := errorResponse(code, http.StatusText(code))
		resp.fault = fault
		return resp
	}
	h := handler{s: s, r: r, rt: rt, render: render{
		base:        "http://" + r.Host + "/v1",
		development: s.opts.Mode == ModeDevelopment,
	}}
	resp := h.serve()
	resp.fault = fault
	if fault == faultSlow {
		resp.delay = s.opts.Faults.SlowDelay
	}
	return resp
}

// chooseFaultLocked draws the fault of a request the limits let through.
func (s *Server) chooseFaultLocked() faultKind {
	if !s.opts.Faults.Enabled() {
		return faultNone
	}
	k := s.opts.Faults.choose(s.faults.float())
	if k == faultServerError || k == faultRateLimited || k == faultSlow {
		// Counted when chosen: a slow answer may never be written.
		s.stats.Faults[k.String()]++
	}
	return k
}

func (s *Server) authorize(r *http.Request, now time.Time) (response, bool) {
	auth := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if auth == "" {
		return errorResponse(http.StatusUnauthorized, "No token provided"), false
	}
	if len(auth) <= len(prefix) || auth[:len(prefix)] != prefix {
		return errorResponse(http.StatusBadRequest, "Only valid bearer authentication supported"), false
	}
	s.mu.Lock()
	expiry, ok := s.tokens[auth[len(prefix):]]
	s.mu.Unlock()
	if !ok {
		return errorResponse(http.StatusUnauthorized, "Invalid access token"), false
	}
	if !now.Before(expiry) {
		return errorResponse(http.StatusUnauthorized, "The access token expired"), false
	}
	return response{}, true
}

// admit applies the daily quota and the rolling window to a request and
// draws its fault. An injected 429 is refused here, as the window refuses,
// so that it is counted neither in the window nor in the quota: Spotify
// does not count a request it rejected.
func (s *Server) admit(now time.Time) (response, faultKind, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if retryAfter, refused := s.outageRefusesLocked(now); refused {
		s.stats.QuotaExceeded++
		return quotaExceeded(retryAfter), faultNone, false
	}
	if s.opts.Quota > 0 {
		day := now.UTC().Truncate(24 * time.Hour)
		if !day.Equal(s.quotaDay) {
			s.quotaDay, s.quotaN = day, 0
		}
		if s.quotaN >= s.opts.Quota {
			s.stats.QuotaExceeded++
			return quotaExceeded(ceilSecond(day.Add(24 * time.Hour).Sub(now))), faultNone, false
		}
	}
	if s.opts.Window > 0 {
		cut := now.Add(-s.opts.Window)
		drop := 0
		for drop < len(s.admitted) && !s.admitted[drop].After(cut) {
			drop++
		}
		s.admitted = s.admitted[drop:]
		if len(s.admitted) >= s.opts.Budget {
			s.stats.RateLimited++
			resp := errorResponse(http.StatusTooManyRequests, "API rate limit exceeded")
			resp.retryAfter = ceilSecond(s.admitted[0].Add(s.opts.Window).Sub(now))
			return resp, faultNone, false
		}
	}
	fault := s.chooseFaultLocked()
	if fault == faultRateLimited {
		// Spotify's answer over its limit; write starts a Retry-After
		// with it as with any 429, so requests that arrive during it are
		// counted in DuringRetryAfter.
		resp := errorResponse(http.StatusTooManyRequests, "API rate limit exceeded")
		resp.retryAfter = s.opts.Faults.RetryAfter
		resp.fault = fault
		return resp, fault, false
	}
	if s.opts.Window > 0 {
		s.admitted = append(s.admitted, now)
	}
	s.quotaN++
	s.outage.admitted++
	return response{}, fault, true
}

// ceilSecond rounds up to whole seconds, at least one: Retry-After is
// given in seconds.
func ceilSecond(d time.Duration) time.Duration {
	secs := (d + time.Second - 1) / time.Second
	return max(secs, 1) * time.Second
}

func (s *Server) write(w http.ResponseWriter, endpoint string, resp response) {
	body := resp.body
	corrupted := false
	if resp.status == http.StatusOK {
		switch resp.fault {
		case faultTruncated:
			body, corrupted = body[:len(body)/2], true
		case faultMalformed:
			// An opening bracket where a brace belongs: never valid JSON.
			body, corrupted = append([]byte{'['}, body[1:]...), true
		}
	}
	h := w.Header()
	if resp.contentType != "" {
		h.Set("Content-Type", resp.contentType)
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Cache-Control", "private, max-age=0")
	if resp.retryAfter > 0 {
		h.Set("Retry-After", fmt.Sprint(int64(resp.retryAfter/time.Second)))
	}
	s.mu.Lock()
	if corrupted {
		s.stats.Faults[resp.fault.String()]++
	}
	if resp.status == http.StatusTooManyRequests {
		now := time.Now()
		if !now.Before(s.raUntil) {
			s.raFrom = now
		}
		if until := now.Add(resp.retryAfter); until.After(s.raUntil) {
			s.raUntil = until
		}
	}
	s.mu.Unlock()
	w.WriteHeader(resp.status)
	w.Write(body)
	s.count(endpoint, resp.status)
}

func (s *Server) count(endpoint string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.stats.Requests[endpoint]
	if m == nil {
		m = make(map[int]int)
		s.stats.Requests[endpoint] = m
	}
	m[status]++
	s.stats.Total++
}

// serveToken is the client-credentials flow of the accounts service.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	resp := s.token(r)
	if !sleep(r.Context(), s.opts.Latency) {
		s.count("token", 499)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.status)
	w.Write(resp.body)
	s.count("token", resp.status)
}

func (s *Server) token(r *http.Request) response {
	oauthErr := func(code, desc string) response {
		return jsonResponse(http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		return jsonResponse(http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed", "error_description": "use POST"})
	}
	if err := r.ParseForm(); err != nil {
		return oauthErr("invalid_request", "malformed form body")
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return oauthErr("unsupported_grant_type", "grant_type parameter is missing")
	default:
		return oauthErr("unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token")
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" || id != s.opts.ClientID {
		return oauthErr("invalid_client", "Invalid client")
	}
	if secret != s.opts.ClientSecret {
		return oauthErr("invalid_client", "Invalid client secret")
	}
	var raw [48]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return jsonResponse(http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "cannot issue a token"})
	}
	tok := "BQ" + base64.RawURLEncoding.EncodeToString(raw[:])
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.opts.TokenTTL)
	s.mu.Unlock()
	return jsonResponse(http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(s.opts.TokenTTL / time.Second),
	})
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
