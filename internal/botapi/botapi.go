// Package botapi is the chat-bot front door behind `starter serve`: one
// stateless http.Handler that answers Slack slash commands and a JSON API
// from the serving store and, for an artist nobody tracks yet, starts its
// collection. It keeps no state of its own: where to answer later lives in
// the serving store's REQUEST#<id> item and collection is started through
// an injected function (signal-with-start of ArtistRequestWorkflow), so the
// same handler runs on a laptop, in a container and as an AWS Lambda
// function (LambdaHandler).
//
// Routes:
//
//	POST /slack/commands           Slack slash command (only with a signing secret)
//	POST /v1/artist-requests       JSON API: request artists (only with an API token)
//	GET  /v1/artists/{id-or-name}  JSON API: the serving store's view of an artist
//	GET  /v1/requests/{id}         JSON API: the state of a request
//	GET  /healthz                  the process is up
//	GET  /readyz                   the serving store and Temporal answer
//
// Every response is written within Options.Deadline (2.5 s by default, under
// Slack's 3-second limit): the handler never waits on collection, and a
// dependency that does not answer in time gives a 503 with a message.
package botapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
)

// Defaults of Options.
const (
	// DefaultDeadline bounds the work of one request, under Slack's
	// 3-second limit for the response to a slash command.
	DefaultDeadline = 2500 * time.Millisecond
	// DefaultReplyTTL is how long a Slack response_url accepts answers.
	DefaultReplyTTL = 30 * time.Minute
	// DefaultRequestTTL is how long a REQUEST#<id> item lives.
	DefaultRequestTTL = 24 * time.Hour
)

// MaxBody is the largest request body accepted (413 beyond).
const MaxBody = 64 << 10

// MaxArtistLength bounds an artist name or ID, in bytes.
const MaxArtistLength = 200

// Store is what the handler needs of the serving store; *serving.Store
// implements it.
type Store interface {
	Artist(ctx context.Context, id string) (serving.ArtistView, bool, error)
	ArtistByName(ctx context.Context, name string) (serving.ArtistView, bool, error)
	PutRequest(ctx context.Context, r serving.Request) error
	GetRequest(ctx context.Context, id string) (serving.Request, bool, error)
}

var _ Store = (*serving.Store)(nil)

// CollectFunc starts the collection of artist for the request requestID,
// which is already in the store: a signal-with-start of
// ArtistRequestWorkflow carrying only the ID and the artist. It must return
// once the request is accepted, never wait for the collection.
type CollectFunc func(ctx context.Context, requestID, artist string) error

// Check is one readiness check of /readyz.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Options configure the handler.
type Options struct {
	// Store is the serving store; required.
	Store Store
	// Collect starts collection; required.
	Collect CollectFunc
	// WorkflowID is reported in the JSON API's 202 answers.
	WorkflowID string
	// SigningSecret verifies Slack's requests; empty leaves the Slack route
	// unmounted.
	SigningSecret string
	// APIToken is the bearer token of /v1/…; empty leaves the JSON API
	// unmounted.
	APIToken string
	// Callbacks is where a JSON API request's callback_url may point
	// (api.callback_hosts); the zero policy refuses every callback.
	Callbacks reply.CallbackPolicy
	// Checks are what /readyz runs besides reading the store.
	Checks []Check
	// Logger logs failures; nil logs nothing.
	Logger *zap.Logger
	// Deadline bounds each request's work; default DefaultDeadline.
	Deadline time.Duration
	// ReplyTTL is how long a response_url or callback_url is used;
	// default DefaultReplyTTL.
	ReplyTTL time.Duration
	// RequestTTL is how long a request item lives; default
	// DefaultRequestTTL. It must exceed ReplyTTL, so that a late answer
	// still finds the channel to post to.
	RequestTTL time.Duration
	// Now is the clock of expiries; default time.Now.
	Now func() time.Time
}

// Routes reports which optional routes a handler with these options mounts.
func (o Options) Routes() (slack, api bool) {
	return o.SigningSecret != "", o.APIToken != ""
}

type handler struct {
	o   Options
	log *zap.Logger
	mux *http.ServeMux
}

// New returns the handler of o.
func New(o Options) (http.Handler, error) {
	if o.Store == nil {
		return nil, errors.New("botapi: no serving store")
	}
	if o.Collect == nil {
		return nil, errors.New("botapi: no collect function")
	}
	if o.Deadline <= 0 {
		o.Deadline = DefaultDeadline
	}
	if o.ReplyTTL <= 0 {
		o.ReplyTTL = DefaultReplyTTL
	}
	if o.RequestTTL <= 0 {
		o.RequestTTL = DefaultRequestTTL
	}
	if o.RequestTTL <= o.ReplyTTL {
		return nil, fmt.Errorf("botapi: request TTL %s must exceed reply TTL %s", o.RequestTTL, o.ReplyTTL)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &handler{o: o, log: o.Logger, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	if o.SigningSecret != "" {
		h.mux.HandleFunc("POST /slack/commands", h.slackCommand)
	}
	if o.APIToken != "" {
		h.mux.Handle("POST /v1/artist-requests", h.authorized(h.postRequests))
		h.mux.Handle("GET /v1/artists/{key}", h.authorized(h.getArtist))
		h.mux.Handle("GET /v1/requests/{id}", h.authorized(h.getRequest))
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

// call runs fn with ctx and returns its error, or ctx's error as soon as
// ctx is done even when fn ignores it: a backend that hangs costs a
// goroutine until it returns, never the response's deadline.
func call(ctx context.Context, fn func(ctx context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unavailable logs err of what and writes a 503 with a message through
// write, which renders it for the route (JSON or a Slack message).
func (h *handler) unavailable(w http.ResponseWriter, what string, err error, write func(w http.ResponseWriter, status int, msg string)) {
	h.log.Warn("dependency unavailable", zap.String("what", what), zap.Error(err))
	msg := fmt.Sprintf("%s is not answering right now; try again in a minute", what)
	if errors.Is(err, context.DeadlineExceeded) {
		msg = fmt.Sprintf("%s did not answer in time; try again in a minute", what)
	}
	write(w, http.StatusServiceUnavailable, msg)
}

func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reads the store and runs every check, all within the deadline.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Deadline)
	defer cancel()
	checks := append([]Check{{Name: "serving", Fn: func(ctx context.Context) error {
		_, _, err := h.o.Store.GetRequest(ctx, "readyz-probe")
		return err
	}}}, h.o.Checks...)
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(checks))
	for _, c := range checks {
		go func() { results <- result{c.Name, call(ctx, c.Fn)} }()
	}
	status := map[string]string{}
	ready := true
	for range checks {
		res := <-results
		status[res.name] = "ok"
		switch {
		case errors.Is(res.err, context.DeadlineExceeded):
			ready = false
			status[res.name] = "did not answer in time"
		case res.err != nil:
			ready = false
			status[res.name] = res.err.Error()
		}
	}
	if !ready {
		h.log.Warn("not ready", zap.Any("checks", status))
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "checks": status})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": status})
}

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"could not encode the answer"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// newRequestID names a request: prefix, a dash and 16 random hex digits.
func newRequestID(prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a request ID: %w", err)
	}
	return prefix + "-" + hex.EncodeToString(b), nil
}
