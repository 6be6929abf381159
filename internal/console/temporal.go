package console

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/runs"
	"github.com/metronome-data/metronome/internal/webui"
)

// temporalBackoff is how long the console stops asking a Temporal server
// that did not answer: pages render from the lake at once meanwhile,
// rather than each waiting for the timeout.
const temporalBackoff = 10 * time.Second

// temporalState remembers the last failure to reach Temporal.
type temporalState struct {
	mu        sync.Mutex
	downUntil time.Time
	lastErr   error
}

// errNoTemporal is the error of a console built without a client.
var errNoTemporal = errors.New("no Temporal client configured")

// withTemporal runs fn with a client and a bounded context, unless
// Temporal failed within the backoff; the error is what the banner shows.
func (c *Console) withTemporal(ctx context.Context, fn func(ctx context.Context, tc client.Client) error) error {
	if c.o.Temporal == nil {
		return errNoTemporal
	}
	now := time.Now()
	c.temporal.mu.Lock()
	if now.Before(c.temporal.downUntil) {
		err := c.temporal.lastErr
		c.temporal.mu.Unlock()
		return err
	}
	c.temporal.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.o.TemporalTimeout)
	defer cancel()
	err := fn(ctx, c.o.Temporal)
	if err != nil && ctx.Err() == nil && !unreachable(err) {
		// An answer that is an error (a bad query, say) is not an outage.
		return err
	}
	if err != nil {
		c.temporal.mu.Lock()
		c.temporal.downUntil, c.temporal.lastErr = now.Add(temporalBackoff), err
		c.temporal.mu.Unlock()
		c.log.Warn("Temporal is not answering", zap.String("address", c.o.TemporalAddress), zap.Error(err))
	}
	return err
}

// unreachable tells a Temporal that did not answer from one that refused.
func unreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"Unavailable", "connection refused", "no such host", "DeadlineExceeded", "context deadline", "failed to dial", "connection error"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// temporalBanner says what a page cannot show while Temporal is down.
func (c *Console) temporalBanner(err error, what string) string {
	if errors.Is(err, errNoTemporal) {
		return fmt.Sprintf("Temporal is not configured for this console: %s not shown.", what)
	}
	state := "is not answering"
	if !unreachable(err) {
		// Such as a search attribute not registered: `starter setup`.
		state = "answered with an error"
	}
	return fmt.Sprintf("Temporal at %s (namespace %s) %s: %s not shown; the lake's data below is current. (%v)",
		c.o.TemporalAddress, c.o.Namespace, state, what, err)
}

// runURL is the Web UI page of a run, or "" without a Web UI or a run.
func (c *Console) runURL(workflowID, runID string) string {
	if c.o.WebUIURL == "" || workflowID == "" {
		return ""
	}
	return webui.RunURL(c.o.WebUIURL, c.o.Namespace, workflowID, runID)
}

// pipelineRuns returns the latest pipeline run of each logical date from
// from to to, and every running one: one visibility query each.
func (c *Console) pipelineRuns(ctx context.Context, from, to time.Time) (map[string]runs.Run, error) {
	latest := map[string]runs.Run{}
	err := c.withTemporal(ctx, func(ctx context.Context, tc client.Client) error {
		inRange := fmt.Sprintf("WorkflowType = 'PipelineWorkflow' AND PipelineDate >= '%s' AND PipelineDate < '%s'",
			from.UTC().Format(time.RFC3339), to.UTC().AddDate(0, 0, 1).Format(time.RFC3339))
		// A run that has just started may not have set PipelineDate yet:
		// its ID names the date.
		running := "WorkflowType = 'PipelineWorkflow' AND ExecutionStatus = 'Running'"
		for _, q := range []string{inRange, running} {
			list, err := runs.List(ctx, tc, c.o.Namespace, q, 1000)
			if err != nil {
				return err
			}
			for _, r := range list {
				date := runDate(r)
				if date == "" {
					continue
				}
				if old, ok := latest[date]; !ok || r.Started.After(old.Started) {
					latest[date] = r
				}
			}
		}
		return nil
	})
	return latest, err
}

// runDate is the logical date of a pipeline run: its PipelineDate, else
// the date of its ID pipeline-D.
func runDate(r runs.Run) string {
	if r.Date != "" {
		return r.Date
	}
	if d, ok := strings.CutPrefix(r.WorkflowID, "pipeline-"); ok && lake.CheckDate(d) == nil {
		return d
	}
	return ""
}

// failedStatus reports a run that ended without its result.
func failedStatus(status string) bool {
	switch status {
	case "Failed", "TimedOut", "Terminated", "Canceled":
		return true
	}
	return false
}
