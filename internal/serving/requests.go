package serving

import (
	"context"
	"fmt"
	"time"
)

// RequestState is the state of an on-demand artist request.
type RequestState string

// The states of a request, in the order they are usually reached.
const (
	RequestPending    RequestState = "pending"
	RequestCollecting RequestState = "collecting"
	RequestStored     RequestState = "stored"
	RequestNotFound   RequestState = "not_found"
	RequestFailed     RequestState = "failed"
)

func (st RequestState) valid() bool {
	switch st {
	case RequestPending, RequestCollecting, RequestStored, RequestNotFound, RequestFailed:
		return true
	}
	return false
}

const requestPrefix = "REQUEST#"

// Request is an on-demand request for an artist the store did not know.
type Request struct {
	ID string
	// Artist is the name or Spotify ID that was asked for.
	Artist string
	// ArtistID is the resolved Spotify ID, once known.
	ArtistID string
	State    RequestState
	// Detail says why a request failed or was not found.
	Detail string
	// ReplyTo is where to answer, e.g. a Slack response_url. It is a
	// capability, so it lives only here, never in workflow history, and
	// requires ExpiresAt.
	ReplyTo string
	// ExpiresAt is when the request and its reply target expire (stored
	// with second precision as expires_at, DynamoDB's TTL attribute). An
	// expired request reads as not found on both backends, whether or not
	// TTL has deleted it yet. Zero means no expiry.
	ExpiresAt time.Time
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PutRequest stores r, replacing a request with the same ID. An empty
// State is RequestPending; CreatedAt defaults to now.
func (s *Store) PutRequest(ctx context.Context, r Request) error {
	if r.ID == "" {
		return fmt.Errorf("put request for %q: empty request ID", r.Artist)
	}
	if r.State == "" {
		r.State = RequestPending
	}
	if !r.State.valid() {
		return fmt.Errorf("put request %s: unknown state %q", r.ID, r.State)
	}
	if r.ReplyTo != "" && r.ExpiresAt.IsZero() {
		return fmt.Errorf("put request %s: a reply target needs an expiry", r.ID)
	}
	now := s.now()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.UpdatedAt = now
	if err := s.put(ctx, []Item{requestItem(r)}); err != nil {
		return fmt.Errorf("put request %s: %w", r.ID, err)
	}
	return nil
}

// GetRequest reads a request; found is false when it does not exist or has
// expired.
func (s *Store) GetRequest(ctx context.Context, id string) (Request, bool, error) {
	if id == "" {
		return Request{}, false, fmt.Errorf("read request: empty ID")
	}
	it, ok, err := s.t.get(ctx, key{requestPrefix + id, skMeta})
	if err != nil {
		return Request{}, false, fmt.Errorf("read request %s: %w", id, err)
	}
	if !ok {
		return Request{}, false, nil
	}
	r := requestFromItem(id, it)
	if !r.ExpiresAt.IsZero() && !s.now().Before(r.ExpiresAt) {
		return Request{}, false, nil
	}
	return r, true, nil
}

// UpdateRequestState moves a request to state; artistID and detail replace
// the stored values when not empty. It fails when the request does not
// exist or has expired.
func (s *Store) UpdateRequestState(ctx context.Context, id string, state RequestState, artistID, detail string) error {
	if !state.valid() {
		return fmt.Errorf("update request %s: unknown state %q", id, state)
	}
	r, ok, err := s.GetRequest(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("update request %s to %s: no such request (or it expired)", id, state)
	}
	r.State = state
	if artistID != "" {
		r.ArtistID = artistID
	}
	if detail != "" {
		r.Detail = detail
	}
	r.UpdatedAt = s.now()
	if err := s.put(ctx, []Item{requestItem(r)}); err != nil {
		return fmt.Errorf("update request %s to %s: %w", id, state, err)
	}
	return nil
}

func requestItem(r Request) Item {
	a := attrs{}.
		str("artist", r.Artist).
		str("artist_id", r.ArtistID).
		str("state", string(r.State)).
		str("detail", r.Detail).
		str("reply_to", r.ReplyTo).
		str("created_at", r.CreatedAt.UTC().Format(time.RFC3339Nano)).
		str("updated_at", r.UpdatedAt.UTC().Format(time.RFC3339Nano))
	if !r.ExpiresAt.IsZero() {
		a.num(ttlAttribute, r.ExpiresAt.Unix())
	}
	return Item{PK: requestPrefix + r.ID, SK: skMeta, Attrs: a}
}

func requestFromItem(id string, it Item) Request {
	r := Request{
		ID:       id,
		Artist:   attrString(it.Attrs, "artist"),
		ArtistID: attrString(it.Attrs, "artist_id"),
		State:    RequestState(attrString(it.Attrs, "state")),
		Detail:   attrString(it.Attrs, "detail"),
		ReplyTo:  attrString(it.Attrs, "reply_to"),
	}
	if sec, ok := attrInt(it.Attrs, ttlAttribute); ok {
		r.ExpiresAt = time.Unix(sec, 0).UTC()
	}
	r.CreatedAt, _ = time.Parse(time.RFC3339Nano, attrString(it.Attrs, "created_at"))
	r.UpdatedAt, _ = time.Parse(time.RFC3339Nano, attrString(it.Attrs, "updated_at"))
	return r
}
