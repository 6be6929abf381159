package reply

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Kinds of reply target.
const (
	// KindSlack answers a slash command: at its response_url while that
	// is valid, else with chat.postMessage to Channel.
	KindSlack = "slack"
	// KindCallback posts a Callback as JSON to the callback_url of a JSON
	// API request.
	KindCallback = "callback"
)

// How an answer went out (Target.AnsweredVia).
const (
	ViaResponseURL = "response_url"
	ViaChat        = "chat.postMessage"
	ViaCallback    = "callback"
	// ViaRecorded: no way to post was left (the URL had expired and no
	// bot token is configured); the answer is recorded in the request.
	ViaRecorded = "recorded"
	// ViaNone: the request has no reply target (e.g. `starter request`)
	// or no longer exists.
	ViaNone = "none"
)

// Target is where and how to answer a request. It is stored, encoded
// with Encode, as the request's ReplyTo in the serving store and never
// travels through Temporal: a response_url is a capability (anyone who
// holds it may post to the channel for 30 minutes). Notify clears URL once
// it has answered.
type Target struct {
	Kind string `json:"kind"`
	// URL is the response_url or callback_url.
	URL string `json:"url,omitempty"`
	// URLExpiresAt is when URL stops accepting answers.
	URLExpiresAt time.Time `json:"url_expires_at,omitzero"`
	// Channel and User are the Slack channel and the user who asked.
	Channel string `json:"channel,omitempty"`
	User    string `json:"user,omitempty"`

	// AnsweredVia and AnsweredAt record the answer (Via… constants).
	AnsweredVia string    `json:"answered_via,omitempty"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
	// Answer is the text of an answer that could only be recorded.
	Answer string `json:"answer,omitempty"`
}

// Encode is the form stored in serving.Request.ReplyTo.
func (t Target) Encode() (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("encode %s reply target: %w", t.Kind, err)
	}
	return string(b), nil
}

// ParseTarget decodes a serving.Request.ReplyTo written by Encode.
func ParseTarget(s string) (Target, error) {
	var t Target
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return Target{}, fmt.Errorf("reply target is not what `starter serve` stores: %w", err)
	}
	switch t.Kind {
	case KindSlack, KindCallback:
	default:
		return Target{}, fmt.Errorf("reply target of unknown kind %q: want %s or %s", t.Kind, KindSlack, KindCallback)
	}
	if t.URL != "" {
		if err := CheckURL(t.URL); err != nil {
			return Target{}, err
		}
	}
	return t, nil
}

// CheckURL accepts where an answer may be posted: an https URL, or an
// http URL of a loopback host (for local development and tests). Anything
// else is refused, so a request cannot make a worker post in the clear or
// to a file or internal address by scheme. Its errors never quote the URL,
// which may be a capability.
func CheckURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

// parseURL is CheckURL returning the parsed URL, for checks
// that go on from it.
func parseURL(raw string) (*url.URL, error) {
	if len(raw) > 2048 {
		return nil, fmt.Errorf("URL of %d bytes: at most 2048", len(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("URL does not parse: want https://host/path")
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, errors.New("URL: want https://host/path without user info or fragment")
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if isLoopback(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("URL of host %s: http only to a loopback host; use https", u.Hostname())
	default:
		return nil, fmt.Errorf("URL of scheme %q: want https", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
