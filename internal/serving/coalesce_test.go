package serving

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Concurrent callers share checks, and each gets the result of a check
// that started after it arrived.
func TestCoalescedVersionIsFresh(t *testing.T) {
	var started atomic.Uint64
	check := func(ctx context.Context) (uint64, error) {
		n := started.Add(1) // the n-th check answers n
		time.Sleep(time.Millisecond)
		return n, nil
	}
	version := coalesce(check)
	const callers = 64
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				before := started.Load()
				v, err := version(context.Background())
				require.NoError(t, err)
				require.Greater(t, v, before, "a check that started before the call")
			}
		}()
	}
	wg.Wait()
	require.Less(t, started.Load(), uint64(callers*20), "checks were shared")
}
