// Package activities holds the pipeline's activities: methods on one struct
// that carries their dependencies, so tests inject fakes and `starter dev`
// injects the embedded backends. One file per stage. What they exchange with
// the workflows (inputs, results, error types, the names they are
// registered under) is in internal/contract.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/lineage"
	"github.com/metronome-data/metronome/internal/metrics"
	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
)

// Activities are the pipeline's activities with their dependencies.
type Activities struct {
	Spotify   *spotify.Client
	Lake      lake.Store
	Serving   *serving.Store
	Analytics analytics.Engine
	Settings  Settings
	Logger    *zap.Logger
	// Metrics records the pipeline's counters; nil records nothing.
	Metrics *metrics.Pipeline
	// Replies configure how Notify answers on-demand requests.
	Replies reply.Sender
	// Temporal is the worker's client, with which RunPipeline starts or
	// joins pipeline-D; nil fails RunPipeline.
	Temporal client.Client
	// Lineage receives the OpenLineage run events of the stages
	// (lineage.go); nil sends none.
	Lineage lineage.Emitter
}

// Settings are the knobs of the activities, from config.
type Settings struct {
	// APIMode is auto, extended or development.
	APIMode string
	Market  string
	// BatchSize is the number of artists per collect batch (≤ 50).
	BatchSize int
	// MaxRejectRate fails the clean stage above this share of rejects.
	MaxRejectRate float64
	// Seeds are the artists of a run when none are given and none are
	// tracked yet.
	Seeds []string
	// StoreGroup is the most artists whose rows the store stage holds in
	// memory at once; default DefaultStoreGroup.
	StoreGroup int
	// QuotaWait is spotify.quota_wait: how long a run first waits after a
	// quota 429 without Retry-After. It travels to the workflow in the
	// QuotaExceeded error's details; 0 leaves it to the workflow's default.
	QuotaWait time.Duration
	// ServingURL is serving.url, the namespace of the serving store's
	// datasets in lineage events.
	ServingURL string
}

// Register registers every activity method of a on w.
func Register(w worker.Registry, a *Activities) {
	w.RegisterActivity(a)
}

func (a *Activities) logger(ctx context.Context) *zap.Logger {
	l := a.Logger
	if l == nil {
		l = zap.NewNop()
	}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		l = l.With(zap.String("activity", info.ActivityType.Name),
			zap.String("workflow_id", info.WorkflowExecution.ID),
			zap.Int32("attempt", info.Attempt))
	}
	return l
}

// observe records how long a stage's activity took since start.
func (a *Activities) observe(stage string, start time.Time) {
	a.Metrics.ObserveStage(stage, time.Since(start))
}

// resumePoint returns the progress recorded by the previous attempt's last
// heartbeat, or the zero value.
func resumePoint[T any](ctx context.Context) T {
	var v T
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &v); err != nil {
			var zero T
			return zero
		}
	}
	return v
}

// spotifyError classifies an error of the Spotify client for Temporal's
// retries: a 429 retries after its Retry-After, 5xx and timeouts retry with
// backoff, bad requests, credentials, unknown IDs and an app Spotify
// refuses do not retry.
//
// A quota 429 is a QuotaExceeded error with a QuotaWait in its details:
// the workflow, whose retry policy lists the type as non-retryable, waits
// durably and runs the activity again with a fresh retry budget
// (workflows/quota.go). It stays retryable here, with the Retry-After as
// its next retry delay, so that a run started before quota waits existed
// keeps retrying as it did.
func (a *Activities) spotifyError(op string, err error) error {
	var apiErr *spotify.APIError
	if !errors.As(err, &apiErr) {
		if errors.Is(err, context.Canceled) {
			return err
		}
		// Transport errors (timeouts, resets) are worth a retry.
		return fmt.Errorf("%s: %w", op, err)
	}
	msg := fmt.Sprintf("%s: %v", op, err)
	switch {
	case spotify.IsAppRefused(err):
		return temporal.NewNonRetryableApplicationError(msg, contract.ErrAppRefused, err)
	case apiErr.Status == 429 && apiErr.Quota:
		wait := contract.QuotaWait{RetryAfter: apiErr.RetryAfter, QuotaWait: a.Settings.QuotaWait}
		if d := wait.First(); d > 0 {
			a.Metrics.RecordQuotaWait(time.Now().Add(d))
		}
		return temporal.NewApplicationErrorWithOptions(msg, contract.ErrQuotaExceeded, temporal.ApplicationErrorOptions{
			Cause:          err,
			NextRetryDelay: apiErr.RetryAfter,
			Details:        []any{wait},
		})
	case apiErr.Status == 429:
		return temporal.NewApplicationErrorWithOptions(msg, contract.ErrRateLimited, temporal.ApplicationErrorOptions{
			Cause:          err,
			NextRetryDelay: apiErr.RetryAfter,
		})
	case apiErr.Retryable:
		return temporal.NewApplicationErrorWithCause(msg, contract.ErrSpotifyUnavailable, err)
	case apiErr.Status == 401:
		return temporal.NewNonRetryableApplicationError(msg+": check spotify.client_id and spotify.client_secret (SPOTIFY_ID/SPOTIFY_SECRET)", contract.ErrBadCredentials, err)
	case apiErr.Status == 404:
		return temporal.NewNonRetryableApplicationError(msg, contract.ErrNotFound, err)
	default:
		return temporal.NewNonRetryableApplicationError(msg, contract.ErrBadInput, err)
	}
}

// badInput is a non-retryable error for input only the run can judge.
func badInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), contract.ErrBadInput, nil)
}
