package botapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/serving"
)

// CannotCollect is what the asker of an unknown artist is told when its
// collection could not be started (Temporal is down or did not answer in
// time): 503 with Retry-After on the JSON API, an ephemeral Slack message.
//
// Such a request is refused, not kept: the handler is stateless (it also
// runs as a Lambda function), so nothing would start a kept request once
// Temporal is back. The request item is marked failed with this detail,
// so GET /v1/requests/{id} never shows it pending forever, and the asker
// is told to ask again.
const CannotCollect = "cannot collect right now"

// RetryAfter is the Retry-After, in seconds, of a refused collection.
const RetryAfter = 60

// errCannotCollect marks a collection that could not be started.
var errCannotCollect = errors.New(CannotCollect)

// collectMargin is the part of the deadline kept (at most a quarter of
// it), after a collection that did not start in time, to record the
// request as failed and answer.
const collectMargin = 300 * time.Millisecond

// collect starts the collection of req, already in the store. When it
// cannot be started, req is marked failed and recorded so (at best
// effort: the answer says the same) and the error wraps errCannotCollect.
func (h *handler) collect(ctx context.Context, req *serving.Request) error {
	cctx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		margin := min(collectMargin, time.Until(deadline)/4)
		var cancel context.CancelFunc
		cctx, cancel = context.WithDeadline(ctx, deadline.Add(-margin))
		defer cancel()
	}
	id, artist := req.ID, req.Artist // the call may outlive this one
	err := call(cctx, func(ctx context.Context) error { return h.o.Collect(ctx, id, artist) })
	if err == nil {
		return nil
	}
	h.log.Warn("collection not started", zap.String("request", req.ID), zap.String("artist", req.Artist), zap.Error(err))
	req.State = serving.RequestFailed
	req.Detail = CannotCollect
	failed := *req // a copy: the put may outlive this call (see call)
	if perr := call(ctx, func(ctx context.Context) error { return h.o.Store.PutRequest(ctx, failed) }); perr != nil {
		h.log.Warn("could not record a refused request", zap.String("request", req.ID), zap.Error(perr))
	}
	return fmt.Errorf("%w: %w", errCannotCollect, err)
}
