// Package parallel runs a bounded number of calls at once.
package parallel

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// ForEach calls fn for 0 ≤ i < n, at most limit (at least 1) at a time. The
// first error cancels the context of the other calls, starts no more, and
// is returned once the running calls have ended; so is the error of ctx
// when it ends before every call started.
func ForEach(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	g, inner := errgroup.WithContext(ctx)
	g.SetLimit(max(limit, 1))
	for i := range n {
		if inner.Err() != nil {
			break
		}
		g.Go(func() error {
			if inner.Err() != nil {
				return nil // an earlier call failed while this one waited for a slot
			}
			return fn(inner, i)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
