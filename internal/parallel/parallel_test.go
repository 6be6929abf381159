package parallel

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestForEach(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		n, limit  int
		failAt    int // -1: none
		wantErr   error
		wantCalls int
	}{
		{"all succeed", 20, 3, -1, nil, 20},
		{"none", 0, 3, -1, nil, 0},
		{"first error wins and stops the rest", 20, 1, 4, boom, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var running, peak, calls atomic.Int32
			err := ForEach(context.Background(), tc.n, tc.limit, func(ctx context.Context, i int) error {
				calls.Add(1)
				now := running.Add(1)
				defer running.Add(-1)
				for {
					old := peak.Load()
					if now <= old || peak.CompareAndSwap(old, now) {
						break
					}
				}
				if i == tc.failAt {
					return boom
				}
				return nil
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if int(calls.Load()) != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tc.wantCalls)
			}
			if int(peak.Load()) > tc.limit {
				t.Errorf("%d calls at once, limit %d", peak.Load(), tc.limit)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ForEach(ctx, 3, 1, func(context.Context, int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v", err)
	}
}
