package activities

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
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/botapi"
	"github.com/metronome-data/metronome/internal/serving"
)

// The reply activity of on-demand requests. The front door (`starter
// serve`) keeps where to answer — a Slack response_url, a capability, or a
// callback_url — in the serving store's REQUEST#<id> item; only the request
// ID travels through Temporal, so no reply target ever enters workflow
// history.

// ReplySettings configure how Notify answers.
type ReplySettings struct {
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
	Callbacks botapi.CallbackPolicy
	// CallbackClient posts callbacks; nil is botapi.NewCallbackClient of
	// Callbacks, which checks each address at connect time.
	CallbackClient *http.Client
}

// NotifyInput names the request to answer.
type NotifyInput struct {
	RequestID string `json:"request_id"`
}

// NotifyResult says how the answer went out: one of botapi's Via…
// constants (response_url, chat.postMessage, callback, recorded, none).
type NotifyResult struct {
	Delivery string `json:"delivery"`
}

// ErrReplyRejected is the error type of an answer the reply target refused
// for good (a 4xx); Notify falls back rather than retry it.
const ErrReplyRejected = "ReplyRejected"

// Notify answers the asker of a settled request. It reads REQUEST#<id>:
// a Slack request is answered at its response_url while that is valid,
// else with chat.postMessage to its channel when a bot token is
// configured, else the answer is recorded in the request item and logged;
// a JSON API request with a callback_url gets a botapi.Callback posted
// there. Once answered, the URL is removed from the item and the delivery
// recorded, so a retried Notify does not answer twice. A request without a
// reply target (from `starter request`) or that has expired needs no
// answer.
func (a *Activities) Notify(ctx context.Context, in NotifyInput) (NotifyResult, error) {
	if in.RequestID == "" {
		return NotifyResult{}, badInput("notify: empty request ID")
	}
	if a == nil || a.Serving == nil {
		return NotifyResult{}, badInput("notify request %s: no serving store configured", in.RequestID)
	}
	log := a.logger(ctx).With(zap.String("request", in.RequestID))
	r, found, err := a.Serving.GetRequest(ctx, in.RequestID)
	if err != nil {
		return NotifyResult{}, fmt.Errorf("notify: %w", err)
	}
	if !found || r.ReplyTo == "" {
		log.Info("request needs no answer", zap.Bool("found", found))
		return NotifyResult{Delivery: botapi.ViaNone}, nil
	}
	t, err := botapi.ParseReplyTarget(r.ReplyTo)
	if err != nil {
		return NotifyResult{}, badInput("notify request %s: %v", r.ID, err)
	}
	if t.AnsweredVia != "" {
		return NotifyResult{Delivery: t.AnsweredVia}, nil
	}
	switch r.State {
	case serving.RequestStored, serving.RequestNotFound, serving.RequestFailed:
	default:
		return NotifyResult{}, badInput("notify request %s: it is %s, not settled", r.ID, r.State)
	}
	var view *serving.ArtistView
	if r.State == serving.RequestStored && r.ArtistID != "" {
		v, ok, err := a.Serving.Artist(ctx, r.ArtistID)
		if err != nil {
			return NotifyResult{}, fmt.Errorf("notify request %s: %w", r.ID, err)
		}
		if ok {
			view = &v
		}
	}

	now := time.Now()
	urlValid := t.URL != "" && now.Before(t.URLExpiresAt)
	var via string
	switch t.Kind {
	case botapi.ReplySlack:
		if urlValid {
			msg := botapi.Answer(r, view, "")
			err := slack.PostWebhookCustomHTTPContext(ctx, t.URL, a.Replies.client(), msg)
			if err = classifyReply(err); err == nil {
				via = botapi.ViaResponseURL
			} else if !rejected(err) {
				return NotifyResult{}, fmt.Errorf("notify request %s at its response_url: %w", r.ID, err)
			} else {
				log.Warn("response_url refused the answer", zap.Error(err))
			}
		}
		if via == "" && a.Replies.SlackBotToken != "" && t.Channel != "" {
			msg := botapi.Answer(r, view, t.User)
			err := a.Replies.postMessage(ctx, t.Channel, msg)
			if err = classifyReply(err); err == nil {
				via = botapi.ViaChat
			} else if !rejected(err) {
				return NotifyResult{}, fmt.Errorf("notify request %s with chat.postMessage to %s: %w", r.ID, t.Channel, err)
			} else {
				log.Warn("chat.postMessage refused the answer", zap.String("channel", t.Channel), zap.Error(err))
			}
		}
		if via == "" {
			t.Answer = botapi.Answer(r, view, t.User).Text
		}
	case botapi.ReplyCallback:
		if urlValid {
			cb := botapi.Callback{Request: botapi.StatusOf(r)}
			if view != nil {
				j := botapi.ArtistJSONOf(*view)
				cb.Artist = &j
			}
			err := a.Replies.Callbacks.CheckURL(t.URL)
			if err == nil {
				err = a.Replies.postJSON(ctx, t.URL, cb)
			}
			err = classifyReply(err)
			if err == nil {
				via = botapi.ViaCallback
			} else if !rejected(err) {
				return NotifyResult{}, fmt.Errorf("notify request %s at its callback_url: %w", r.ID, err)
			} else {
				log.Warn("callback_url refused the answer", zap.Error(err))
			}
		}
		if via == "" {
			t.Answer = fmt.Sprintf("%s: %s %s", r.Artist, r.State, r.Detail)
		}
	}
	if via == "" {
		via = botapi.ViaRecorded
		log.Warn("answer recorded, not posted: its URL expired and no other way to post is configured",
			zap.String("artist", r.Artist), zap.String("state", string(r.State)), zap.String("answer", t.Answer))
	}

	t.URL, t.AnsweredVia, t.AnsweredAt = "", via, now.UTC()
	if r.ReplyTo, err = t.Encode(); err != nil {
		return NotifyResult{}, badInput("notify request %s: %v", r.ID, err)
	}
	if err := a.Serving.PutRequest(ctx, r); err != nil {
		return NotifyResult{}, fmt.Errorf("notify request %s: record the answer (%s): %w", r.ID, via, err)
	}
	log.Info("request answered", zap.String("via", via), zap.String("artist", r.Artist), zap.String("state", string(r.State)))
	return NotifyResult{Delivery: via}, nil
}

func (s ReplySettings) client() *http.Client {
	if s.HTTPClient != nil {
		return s.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// postMessage posts m to channel with the bot token.
func (s ReplySettings) postMessage(ctx context.Context, channel string, m *slack.WebhookMessage) error {
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

// postJSON posts v as JSON to url; a status other than 2xx is a
// slack.StatusCodeError, classified like Slack's.
func (s ReplySettings) postJSON(ctx context.Context, target string, v any) error {
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
		c = botapi.NewCallbackClient(&botapi.CallbackDialer{Policy: s.Callbacks})
	}
	resp, err := c.Do(req)
	if err != nil {
		return redactURL(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	return nil
}

// classifyReply turns a posting error into a Temporal error: refusals that
// no retry changes (4xx, Slack's ok=false answers such as channel_not_found)
// are non-retryable ErrReplyRejected; rate limits retry after their
// Retry-After; 5xx and transport errors retry. It strips the URL from
// transport errors: a response_url must not reach history.
func classifyReply(err error) error {
	if err == nil {
		return nil
	}
	var limited *slack.RateLimitedError
	if errors.As(err, &limited) {
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: limited.RetryAfter})
	}
	var status slack.StatusCodeError
	if errors.As(err, &status) {
		if status.Retryable() {
			return temporal.NewApplicationError(status.Error(), "ReplyUnavailable")
		}
		return temporal.NewNonRetryableApplicationError(status.Error(), ErrReplyRejected, nil)
	}
	if errors.Is(err, botapi.ErrCallbackRefused) {
		// The allow-list or the address rule refused it; no retry helps.
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrReplyRejected, nil)
	}
	var refused slack.SlackErrorResponse
	if errors.As(err, &refused) {
		return temporal.NewNonRetryableApplicationError("slack: "+refused.Err, ErrReplyRejected, nil)
	}
	return redactURL(err)
}

// rejected reports an ErrReplyRejected error.
func rejected(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == ErrReplyRejected
}

// redactURL drops the URL from a *url.Error, keeping the operation's
// cause: the URL may be a capability.
func redactURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if errors.Is(ue.Err, botapi.ErrCallbackRefused) {
		// Kept wrapped: classifyReply makes it non-retryable.
		return fmt.Errorf("post the answer: %w", ue.Err)
	}
	msg := "post the answer: " + ue.Err.Error()
	if ue.Timeout() {
		return temporal.NewApplicationError(msg, "ReplyTimeout")
	}
	return temporal.NewApplicationError(msg, "ReplyUnavailable")
}
