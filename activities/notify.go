package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
)

// The reply activity of on-demand requests. The front door (`starter
// serve`) keeps where to answer — a Slack response_url, a capability, or a
// callback_url — in the serving store's REQUEST#<id> item; only the request
// ID travels through Temporal, so no reply target ever enters workflow
// history.

// Notify answers the asker of a settled request. It reads REQUEST#<id>:
// a Slack request is answered at its response_url while that is valid,
// else with chat.postMessage to its channel when a bot token is
// configured, else the answer is recorded in the request item and logged;
// a JSON API request with a callback_url gets a reply.Callback posted
// there. Once answered, the URL is removed from the item and the delivery
// recorded, so a retried Notify does not answer twice. A request without a
// reply target (from `starter request`) or that has expired needs no
// answer.
func (a *Activities) Notify(ctx context.Context, in contract.NotifyInput) (contract.NotifyResult, error) {
	if in.RequestID == "" {
		return contract.NotifyResult{}, badInput("notify: empty request ID")
	}
	if a == nil || a.Serving == nil {
		return contract.NotifyResult{}, badInput("notify request %s: no serving store configured", in.RequestID)
	}
	log := a.logger(ctx).With(zap.String("request", in.RequestID))
	r, found, err := a.Serving.GetRequest(ctx, in.RequestID)
	if err != nil {
		return contract.NotifyResult{}, fmt.Errorf("notify: %w", err)
	}
	if !found || r.ReplyTo == "" {
		log.Info("request needs no answer", zap.Bool("found", found))
		return contract.NotifyResult{Delivery: reply.ViaNone}, nil
	}
	t, err := reply.ParseTarget(r.ReplyTo)
	if err != nil {
		return contract.NotifyResult{}, badInput("notify request %s: %v", r.ID, err)
	}
	if t.AnsweredVia != "" {
		return contract.NotifyResult{Delivery: t.AnsweredVia}, nil
	}
	switch r.State {
	case serving.RequestStored, serving.RequestNotFound, serving.RequestFailed:
	default:
		return contract.NotifyResult{}, badInput("notify request %s: it is %s, not settled", r.ID, r.State)
	}
	var view *serving.ArtistView
	if r.State == serving.RequestStored && r.ArtistID != "" {
		v, ok, err := a.Serving.Artist(ctx, r.ArtistID)
		if err != nil {
			return contract.NotifyResult{}, fmt.Errorf("notify request %s: %w", r.ID, err)
		}
		if ok {
			view = &v
		}
	}

	t, err = a.Replies.Deliver(ctx, r, view, t, time.Now(), log)
	if err != nil {
		return contract.NotifyResult{}, temporalReplyError("notify request "+r.ID+" ", err)
	}
	via := t.AnsweredVia
	if r.ReplyTo, err = t.Encode(); err != nil {
		return contract.NotifyResult{}, badInput("notify request %s: %v", r.ID, err)
	}
	if err := a.Serving.PutRequest(ctx, r); err != nil {
		return contract.NotifyResult{}, fmt.Errorf("notify request %s: record the answer (%s): %w", r.ID, via, err)
	}
	log.Info("request answered", zap.String("via", via), zap.String("artist", r.Artist), zap.String("state", string(r.State)))
	return contract.NotifyResult{Delivery: via}, nil
}

// temporalReplyError is err of reply.Sender, its message after prefix, as a
// Temporal error at the top of the chain, where the server reads the retry
// delay: a rate limit retries after its Retry-After, a
// refusal never gets here (Deliver falls back to the next way instead),
// and anything else retries.
func temporalReplyError(prefix string, err error) error {
	msg := prefix + err.Error()
	var pe *reply.PostError
	switch {
	case !errors.As(err, &pe):
		return temporal.NewApplicationError(msg, "ReplyUnavailable")
	case pe.RetryAfter > 0:
		return temporal.NewApplicationErrorWithOptions(msg, contract.ErrRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: pe.RetryAfter})
	case pe.Timeout:
		return temporal.NewApplicationError(msg, "ReplyTimeout")
	default:
		return temporal.NewApplicationError(msg, "ReplyUnavailable")
	}
}
