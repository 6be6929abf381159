package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
)

func quotaExceeded(w contract.QuotaWait) error {
	return temporal.NewApplicationErrorWithOptions("collect batch 0: spotify artist: HTTP 429: API rate limit exceeded (quota)",
		contract.ErrQuotaExceeded, temporal.ApplicationErrorOptions{NextRetryDelay: w.RetryAfter, Details: []any{w}})
}

// clock notes the workflow time of each call of a mocked activity.
type clock struct {
	mu    sync.Mutex
	env   *testsuite.TestWorkflowEnvironment
	times []time.Time
}

func (c *clock) tick() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.times = append(c.times, c.env.Now())
	return len(c.times)
}

func (c *clock) gaps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(c.times); i++ {
		out = append(out, c.times[i].Sub(c.times[i-1]).Round(time.Minute))
	}
	return out
}

// A quota 429 is a durable wait, not a spent attempt: a collect batch
// answered QuotaExceeded 60 times (more than the 50 attempts of its retry
// policy) completes after the waits, which double from the worker's
// spotify.quota_wait up to 6h while no Retry-After comes, or are Spotify's
// Retry-After when it does; the progress query shows the wait.
func TestQuotaWaitsDoNotSpendAttempts(t *testing.T) {
	const failures = 60
	tests := []struct {
		name string
		wait contract.QuotaWait
		want func(i int) time.Duration // the wait after the i-th failure, from 0
	}{
		{"without Retry-After: doubling to 6h", contract.QuotaWait{QuotaWait: time.Hour},
			func(i int) time.Duration { return min(time.Hour<<min(i, 3), 6*time.Hour) }},
		{"worker without quota_wait: the default", contract.QuotaWait{},
			func(i int) time.Duration { return min(DefaultQuotaWait<<min(i, 3), MaxQuotaWait) }},
		{"Retry-After as given", contract.QuotaWait{RetryAfter: 3 * time.Hour, QuotaWait: time.Hour},
			func(int) time.Duration { return 3 * time.Hour }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := newEnv(t, 1, "CollectBatch")
			var a *activities.Activities
			calls := &clock{env: env}
			env.OnActivity(a.CollectBatch, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in contract.CollectInput) (contract.CollectResult, error) {
					if calls.tick() <= failures {
						return contract.CollectResult{}, quotaExceeded(tt.wait)
					}
					return contract.CollectResult{Batch: in.Batch, Records: map[string]int{"artists": 50}}, nil
				})

			// During the first wait the progress query says until when.
			var during Progress
			env.RegisterDelayedCallback(func() {
				v, err := env.QueryWorkflow(ProgressQuery)
				require.NoError(t, err)
				require.NoError(t, v.Get(&during))
			}, 30*time.Minute)

			env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01"})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var res PipelineResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, 1, res.Collect.Batches)

			gaps := calls.gaps()
			require.Len(t, gaps, failures, "one call per wait, each with a fresh retry budget")
			for i, g := range gaps {
				require.Equal(t, tt.want(i), g, "wait after quota 429 number %d", i+1)
			}
			require.Equal(t, StageCollect, during.Stage)
			require.Equal(t, calls.times[0].Add(tt.want(0)).UTC(), during.QuotaWaitUntil)

			v, err := env.QueryWorkflow(ProgressQuery)
			require.NoError(t, err)
			var after Progress
			require.NoError(t, v.Get(&after))
			require.True(t, after.QuotaWaitUntil.IsZero(), "no wait shown once Spotify answers again")
		})
	}
}

// The batches in flight share one wait (they hit the same quota), and a
// success resets the doubling: resolve waits 1h and 2h, then collect
// starts again from 1h.
func TestQuotaWaitIsSharedAndResetBySuccess(t *testing.T) {
	env, _ := newEnv(t, 3, "Resolve", "CollectBatch")
	var a *activities.Activities
	resolves := &clock{env: env}
	env.OnActivity(a.Resolve, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.ResolveInput) (contract.ResolveResult, error) {
			if resolves.tick() <= 2 {
				return contract.ResolveResult{}, quotaExceeded(contract.QuotaWait{QuotaWait: time.Hour})
			}
			return contract.ResolveResult{ArtistsKey: contract.ArtistsListKey(in.Date), Artists: 150,
				Batches: 3, BatchSize: 50, Mode: "development"}, nil
		})
	var mu sync.Mutex
	collects := map[int]*clock{}
	env.OnActivity(a.CollectBatch, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.CollectInput) (contract.CollectResult, error) {
			mu.Lock()
			c := collects[in.Batch]
			if c == nil {
				c = &clock{env: env}
				collects[in.Batch] = c
			}
			mu.Unlock()
			if c.tick() <= 2 {
				return contract.CollectResult{}, quotaExceeded(contract.QuotaWait{QuotaWait: time.Hour})
			}
			return contract.CollectResult{Batch: in.Batch, Records: map[string]int{"artists": 50}}, nil
		})

	env.ExecuteWorkflow(PipelineWorkflow, PipelineInput{Date: "2026-11-01"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []time.Duration{time.Hour, 2 * time.Hour}, resolves.gaps())
	for batch, c := range collects {
		require.Equal(t, []time.Duration{time.Hour, 2 * time.Hour}, c.gaps(),
			"batch %d: the three batches wait together, from 1h again", batch)
		require.Equal(t, collects[0].times, c.times, "batch %d called with the others", batch)
	}
}

// The wait ends as the input says, whatever the order of the 429s.
func TestQuotaWaitBegin(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	q := &spotifyCalls{}
	tests := []struct {
		name string
		at   time.Duration
		wait contract.QuotaWait
		want time.Duration
	}{
		{"first, no Retry-After", 0, contract.QuotaWait{QuotaWait: 30 * time.Minute}, 30 * time.Minute},
		{"another batch during it joins it", 10 * time.Minute, contract.QuotaWait{QuotaWait: 30 * time.Minute}, 30 * time.Minute},
		{"after it: doubled", 30 * time.Minute, contract.QuotaWait{QuotaWait: 30 * time.Minute}, 90 * time.Minute},
		{"a longer Retry-After extends it", 40 * time.Minute, contract.QuotaWait{RetryAfter: 2 * time.Hour}, 160 * time.Minute},
		{"a shorter Retry-After does not shorten it", 50 * time.Minute, contract.QuotaWait{RetryAfter: time.Minute}, 160 * time.Minute},
		{"then doubled again", 160 * time.Minute, contract.QuotaWait{QuotaWait: 30 * time.Minute}, 280 * time.Minute},
	}
	for _, tt := range tests {
		require.Equal(t, t0.Add(tt.want), q.begin(t0.Add(tt.at), tt.wait), tt.name)
	}
}
