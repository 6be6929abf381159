package contract

// ArtistRequest is one on-demand request for an artist, as the request
// signal carries it. Where to answer (a Slack response_url) is not part of
// it: that lives only in the serving store's REQUEST#<ID> item.
type ArtistRequest struct {
	// ID names the request: REQUEST#<ID> in the serving store.
	ID string `json:"id"`
	// Artist is a name or a Spotify ID.
	Artist string `json:"artist"`
}

// The states of a request, as the serving store keeps them.
const (
	RequestPending    = "pending"
	RequestCollecting = "collecting"
	RequestStored     = "stored"
	RequestNotFound   = "not_found"
	RequestFailed     = "failed"
)

// RequestScope is the lake prefix of the request run run.
func RequestScope(run string) string { return "requests/" + run + "/" }

// RequestUpdate moves one request to State.
type RequestUpdate struct {
	ID     string `json:"id"`
	Artist string `json:"artist"`
	State  string `json:"state"`
	// ArtistID is the resolved Spotify ID, when known.
	ArtistID string `json:"artist_id,omitempty"`
	// Detail says why a request failed or was not found.
	Detail string `json:"detail,omitempty"`
}

// MarkRequestsInput are the updates of one MarkRequests call.
type MarkRequestsInput struct {
	Updates []RequestUpdate `json:"updates"`
}

// ResolvedArtist is a requested name or ID and the Spotify ID it resolved to.
type ResolvedArtist struct {
	Artist string `json:"artist"`
	ID     string `json:"id"`
}

// NotifyInput names the request to answer.
type NotifyInput struct {
	RequestID string `json:"request_id"`
}

// NotifyResult says how the answer went out: one of reply's Via…
// constants (response_url, chat.postMessage, callback, recorded, none).
type NotifyResult struct {
	Delivery string `json:"delivery"`
}
