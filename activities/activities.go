// Package activities holds the pipeline's activities: methods on one struct
// that carries their dependencies, so tests inject fakes and `starter dev`
// injects the embedded backends. One file per stage.
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
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/metrics"
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
	Replies ReplySettings
	// Temporal is the worker's client, with which RunPipeline starts or
	// joins pipeline-D; nil fails RunPipeline.
	Temporal client.Client
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
// backoff, bad requests, credentials and unknown IDs do not retry.
func spotifyError(op string, err error) error {
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
	case apiErr.Status == 429:
		typ := ErrRateLimited
		if apiErr.Quota {
			typ = ErrQuotaExceeded
		}
		return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{
			Cause:          err,
			NextRetryDelay: apiErr.RetryAfter,
		})
	case apiErr.Retryable:
		return temporal.NewApplicationErrorWithCause(msg, "SpotifyUnavailable", err)
	case apiErr.Status == 401:
		return temporal.NewNonRetryableApplicationError(msg+": check spotify.client_id and spotify.client_secret (SPOTIFY_ID/SPOTIFY_SECRET)", ErrBadCredentials, err)
	case apiErr.Status == 404:
		return temporal.NewNonRetryableApplicationError(msg, ErrNotFound, err)
	default:
		return temporal.NewNonRetryableApplicationError(msg, ErrBadInput, err)
	}
}

// badInput is a non-retryable error for input only the run can judge.
func badInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrBadInput, nil)
}
