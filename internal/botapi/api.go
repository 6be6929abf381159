package botapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
)

// MaxRequestArtists is the most artists one POST /v1/artist-requests may
// name: one Spotify batch.
const MaxRequestArtists = 50

// ArtistRequests is the body of POST /v1/artist-requests.
type ArtistRequests struct {
	// Artists are names or Spotify IDs (or URIs or links), 1 to 50.
	Artists []string `json:"artists"`
	// CallbackURL, when set, receives a reply.Callback as JSON for each request
	// once it has settled (https, or http to a loopback host).
	CallbackURL string `json:"callback_url,omitempty"`
}

// Accepted is the 202 answer of POST /v1/artist-requests.
type Accepted struct {
	// WorkflowID is the workflow that collects the requested artists.
	WorkflowID string                `json:"workflow_id"`
	Requests   []reply.RequestStatus `json:"requests"`
}

// authorized requires "Authorization: Bearer <api token>", compared in
// constant time (over SHA-256 digests, so not even the length leaks).
func (h *handler) authorized(next http.HandlerFunc) http.Handler {
	want := sha256.Sum256([]byte(h.o.APIToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metronome"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next(w, r)
	})
}

// decodeRequests reads and validates the body of POST
// /v1/artist-requests. The error names the bad field.
func decodeRequests(body []byte) (ArtistRequests, error) {
	var in ArtistRequests
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return in, errors.New(`body: want a JSON object {"artists": ["name or Spotify ID", …]}`)
		case errors.As(err, &syntax):
			return in, fmt.Errorf("body: malformed JSON at byte %d", syntax.Offset)
		case errors.As(err, &typ):
			field := typ.Field
			if field == "" {
				field = "body"
			}
			return in, fmt.Errorf("%s: want %s, got JSON %s", field, jsonKind(typ.Type.String()), typ.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return in, fmt.Errorf("%s: unknown field; want artists and callback_url", strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return in, fmt.Errorf("body: malformed JSON: %v", err)
		}
	}
	if dec.More() {
		return in, errors.New("body: want one JSON object, got more after it")
	}
	if len(in.Artists) == 0 {
		return in, fmt.Errorf("artists: want 1 to %d names or Spotify IDs, got none", MaxRequestArtists)
	}
	if len(in.Artists) > MaxRequestArtists {
		return in, fmt.Errorf("artists: want at most %d, got %d", MaxRequestArtists, len(in.Artists))
	}
	for i, a := range in.Artists {
		a = strings.TrimSpace(a)
		switch {
		case a == "":
			return in, fmt.Errorf("artists[%d]: blank; want a name or Spotify ID", i)
		case len(a) > MaxArtistLength:
			return in, fmt.Errorf("artists[%d]: %d bytes, at most %d", i, len(a), MaxArtistLength)
		case !utf8.ValidString(a) || strings.ContainsFunc(a, isControl):
			return in, fmt.Errorf("artists[%d]: not printable text", i)
		}
		in.Artists[i] = a
	}
	if in.CallbackURL != "" {
		if err := reply.CheckURL(in.CallbackURL); err != nil {
			return in, fmt.Errorf("callback_url: %v", err)
		}
	}
	return in, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array of strings"
	case goType == "string":
		return "a string"
	default:
		return "a JSON object"
	}
}

// postRequests answers POST /v1/artist-requests: an artist the store knows
// is answered at once (state stored, no collection); every other one is
// recorded and its collection started. 202 with the request IDs.
func (h *handler) postRequests(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	in, err := decodeRequests(body)
	if err == nil && in.CallbackURL != "" {
		if err = h.o.Callbacks.CheckURL(in.CallbackURL); err != nil {
			err = fmt.Errorf("callback_url: %w", err)
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Deadline)
	defer cancel()
	now := h.o.Now()
	target := ""
	if in.CallbackURL != "" {
		if target, err = (reply.Target{Kind: reply.KindCallback, URL: in.CallbackURL, URLExpiresAt: now.Add(h.o.ReplyTTL)}).Encode(); err != nil {
			writeError(w, http.StatusInternalServerError, "could not record the callback")
			return
		}
	}
	// The artists are handled apiConcurrency at a time, so that 50 of them
	// fit in the deadline against a remote store and Temporal too.
	results := make([]requestResult, len(in.Artists))
	var g errgroup.Group
	g.SetLimit(apiConcurrency)
	for i, entry := range in.Artists {
		g.Go(func() error {
			results[i] = h.requestArtist(ctx, entry, target, now)
			return nil // each artist's failure is in its result
		})
	}
	_ = g.Wait()
	out := Accepted{WorkflowID: h.o.WorkflowID, Requests: []reply.RequestStatus{}}
	var failed *requestResult
	for i := range results {
		if results[i].err != nil {
			if failed == nil {
				failed = &results[i]
			}
			if !errors.Is(results[i].err, errCannotCollect) {
				continue // not recorded
			}
		}
		out.Requests = append(out.Requests, results[i].status)
	}
	if failed != nil {
		// The requests accepted go on; say which.
		write := func(w http.ResponseWriter, status int, msg string) {
			writeJSON(w, status, map[string]any{"error": msg, "requests": out.Requests})
		}
		if errors.Is(failed.err, errCannotCollect) {
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
			write(w, http.StatusServiceUnavailable, reply.CannotCollectText(failed.artist))
		} else {
			h.unavailable(w, failed.what, failed.err, write)
		}
		return
	}
	writeJSON(w, http.StatusAccepted, out)
}

// apiConcurrency is how many artists of one API request are handled at
// once.
const apiConcurrency = 8

// requestResult is how one artist of an API request went: its status, or
// which dependency failed.
type requestResult struct {
	status reply.RequestStatus
	what   string
	err    error
	artist string // of a collection that could not be started
}

// requestArtist answers one artist of an API request: a known one is
// recorded as stored, an unknown one recorded with the reply target and
// its collection started.
func (h *handler) requestArtist(ctx context.Context, entry, target string, now time.Time) requestResult {
	artist, isID := ParseArtist(entry)
	id, err := newRequestID("api")
	if err != nil {
		return requestResult{what: "the request ID generator", err: err}
	}
	var view serving.ArtistView
	var found bool
	if err := call(ctx, func(ctx context.Context) (err error) {
		view, found, err = lookup(ctx, h.o.Store, artist, isID)
		return err
	}); err != nil {
		return requestResult{what: "the serving store", err: err}
	}
	req := serving.Request{ID: id, Artist: artist, State: serving.RequestPending, ExpiresAt: now.Add(h.o.RequestTTL), CreatedAt: now}
	if found {
		req.State, req.ArtistID = serving.RequestStored, view.ID
	} else {
		req.ReplyTo = target
	}
	if err := call(ctx, func(ctx context.Context) error { return h.o.Store.PutRequest(ctx, req) }); err != nil {
		return requestResult{what: "the serving store", err: err}
	}
	if !found {
		if err := h.collect(ctx, &req); err != nil {
			req.UpdatedAt = now
			return requestResult{status: reply.StatusOf(req), what: "the workflow service", err: err, artist: artist}
		}
		h.log.Info("collection requested", zap.String("request", id), zap.String("artist", artist))
	}
	req.UpdatedAt = now
	return requestResult{status: reply.StatusOf(req)}
}

// getArtist answers GET /v1/artists/{id-or-name}.
func (h *handler) getArtist(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimSpace(r.PathValue("key"))
	if key == "" || len(key) > MaxArtistLength {
		writeError(w, http.StatusNotFound, "no such artist")
		return
	}
	artist, isID := ParseArtist(key)
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Deadline)
	defer cancel()
	view, found, err := h.findArtist(ctx, artist, isID)
	if err != nil {
		h.unavailable(w, "the serving store", err, writeError)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no artist %q in the serving store; request it with POST /v1/artist-requests", artist))
		return
	}
	writeJSON(w, http.StatusOK, reply.ArtistJSONOf(view))
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// getRequest answers GET /v1/requests/{id}.
func (h *handler) getRequest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !requestIDPattern.MatchString(id) {
		writeError(w, http.StatusNotFound, "no such request")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Deadline)
	defer cancel()
	var req serving.Request
	var found bool
	if err := call(ctx, func(ctx context.Context) (err error) {
		req, found, err = h.o.Store.GetRequest(ctx, id)
		return err
	}); err != nil {
		h.unavailable(w, "the serving store", err, writeError)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no request %s (or it expired)", id))
		return
	}
	writeJSON(w, http.StatusOK, reply.StatusOf(req))
}
