package reply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/serving"
)

// Sender posts the final answer of a request to where its asker waits. The
// worker's Notify activity uses it; the front door only stores targets.
type Sender struct {
	// SlackBotToken posts answers with chat.postMessage once a
	// response_url has expired; empty records such answers instead.
	SlackBotToken string
	// SlackAPIURL is the base of Slack's Web API; empty is slack.APIURL.
	SlackAPIURL string
	// HTTPClient posts answers to Slack; nil is a client with a 10-second
	// timeout.
	HTTPClient *http.Client
	// Callbacks is where callback_url posts may go (api.callback_hosts);
	// the zero policy refuses every callback.
	Callbacks CallbackPolicy
	// CallbackClient posts callbacks; nil is NewCallbackClient of
	// Callbacks, which checks each address at connect time.
	CallbackClient *http.Client
}

// PostError is a post that failed. Rejected: the target refused for good
// (a 4xx, Slack's ok=false such as channel_not_found, a callback the policy
// refuses), so no retry helps and Deliver falls back to the next way.
// Otherwise the post may succeed later: RetryAfter is how long a rate
// limit asks to wait, Timeout says the target did not answer in time.
// Its message never holds the URL, which may be a capability.
type PostError struct {
	Rejected   bool
	RetryAfter time.Duration
	Timeout    bool
	msg        string
	err        error
}

func (e *PostError) Error() string { return e.msg }
func (e *PostError) Unwrap() error { return e.err }

// Deliver answers r, whose target is t, with view the stored artist (nil
// when there is none): a Slack request at its response_url while that is
// valid, else with chat.postMessage to its channel when a bot token is
// configured, else the answer is recorded in the target; a JSON API request
// with a callback_url gets a Callback posted there. It returns t as it must
// be stored: URL cleared, AnsweredVia and AnsweredAt set, Answer holding an
// answer that could only be recorded. A refusal falls through to the next
// way; any other failure is returned as a *PostError, for a retry.
func (s Sender) Deliver(ctx context.Context, r serving.Request, view *serving.ArtistView, t Target, now time.Time, log *zap.Logger) (Target, error) {
	urlValid := t.URL != "" && now.Before(t.URLExpiresAt)
	var via string
	switch t.Kind {
	case KindSlack:
		if urlValid {
			err := classify(slack.PostWebhookCustomHTTPContext(ctx, t.URL, s.client(), Answer(r, view, "")))
			if err == nil {
				via = ViaResponseURL
			} else if !isRejected(err) {
				return t, fmt.Errorf("at its response_url: %w", err)
			} else {
				log.Warn("response_url refused the answer", zap.Error(err))
			}
		}
		if via == "" && s.SlackBotToken != "" && t.Channel != "" {
			err := classify(s.postMessage(ctx, t.Channel, Answer(r, view, t.User)))
			if err == nil {
				via = ViaChat
			} else if !isRejected(err) {
				return t, fmt.Errorf("with chat.postMessage to %s: %w", t.Channel, err)
			} else {
				log.Warn("chat.postMessage refused the answer", zap.String("channel", t.Channel), zap.Error(err))
			}
		}
		if via == "" {
			t.Answer = Answer(r, view, t.User).Text
		}
	case KindCallback:
		if urlValid {
			cb := Callback{Request: StatusOf(r)}
			if view != nil {
				j := ArtistJSONOf(*view)
				cb.Artist = &j
			}
			err := s.Callbacks.CheckURL(t.URL)
			if err == nil {
				err = s.postJSON(ctx, t.URL, cb)
			}
			if err = classify(err); err == nil {
				via = ViaCallback
			} else if !isRejected(err) {
				return t, fmt.Errorf("at its callback_url: %w", err)
			} else {
				log.Warn("callback_url refused the answer", zap.Error(err))
			}
		}
		if via == "" {
			t.Answer = fmt.Sprintf("%s: %s %s", r.Artist, r.State, r.Detail)
		}
	}
	if via == "" {
		via = ViaRecorded
		log.Warn("answer recorded, not posted: its URL expired and no other way to post is configured",
			zap.String("artist", r.Artist), zap.String("state", string(r.State)), zap.String("answer", t.Answer))
	}
	t.URL, t.AnsweredVia, t.AnsweredAt = "", via, now.UTC()
	return t, nil
}

func (s Sender) client() *http.Client {
	if s.HTTPClient != nil {
		return s.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// postMessage posts m to channel with the bot token.
func (s Sender) postMessage(ctx context.Context, channel string, m *slack.WebhookMessage) error {
	opts := []slack.Option{slack.OptionHTTPClient(s.client())}
	if s.SlackAPIURL != "" {
		opts = append(opts, slack.OptionAPIURL(s.SlackAPIURL))
	}
	msg := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if m.Blocks != nil {
		msg = append(msg, slack.MsgOptionBlocks(m.Blocks.BlockSet...))
	}
	_, _, err := slack.New(s.SlackBotToken, opts...).PostMessageContext(ctx, channel, msg...)
	return err
}

// postJSON posts v as JSON to target; a status other than 2xx is a
// slack.StatusCodeError, classified like Slack's.
func (s Sender) postJSON(ctx context.Context, target string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode the callback: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return errors.New("build the callback request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "metronome-notify")
	c := s.CallbackClient
	if c == nil {
		c = NewCallbackClient(&CallbackDialer{Policy: s.Callbacks})
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	return nil
}

// classify turns a posting error into a *PostError: refusals that no retry
// changes (4xx, Slack's ok=false answers, a callback the policy refuses)
// are Rejected; rate limits carry their Retry-After; 5xx and transport
// errors may be retried. It drops the URL from transport errors.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var limited *slack.RateLimitedError
	if errors.As(err, &limited) {
		return &PostError{RetryAfter: limited.RetryAfter, msg: err.Error(), err: err}
	}
	var status slack.StatusCodeError
	if errors.As(err, &status) {
		return &PostError{Rejected: !status.Retryable(), msg: status.Error(), err: err}
	}
	if errors.Is(err, ErrCallbackRefused) {
		// The allow-list or the address rule refused it; a *url.Error
		// around it would quote the URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &PostError{Rejected: true, msg: "post the answer: " + err.Error(), err: err}
	}
	var refused slack.SlackErrorResponse
	if errors.As(err, &refused) {
		return &PostError{Rejected: true, msg: "slack: " + refused.Err, err: err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &PostError{Timeout: ue.Timeout(), msg: "post the answer: " + ue.Err.Error(), err: ue.Err}
	}
	return &PostError{msg: err.Error(), err: err}
}

func isRejected(err error) bool {
	var pe *PostError
	return errors.As(err, &pe) && pe.Rejected
}
