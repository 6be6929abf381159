// Package laketest holds lake stores for tests.
package laketest

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/metronome-data/metronome/internal/lake"
)

// CountingStore is a lake.Store that counts the objects read, to test what
// a cache saves.
type CountingStore struct {
	lake.Store
	Gets atomic.Int64
}

// Get counts the read and passes it on.
func (s *CountingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	s.Gets.Add(1)
	return s.Store.Get(ctx, key)
}
