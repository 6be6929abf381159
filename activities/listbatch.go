package activities

// servingBatch is the number of artists whose lists go to the serving
// store in one call: far fewer transactions and round trips than one
// call per artist, while the batch held in memory stays small (a few
// MiB at the longest lists).
const servingBatch = 500

// listBatch collects per-artist lists and hands them to put servingBatch
// artists at a time.
type listBatch[T any] struct {
	put   func(map[string][]T) error
	lists map[string][]T
}

func newListBatch[T any](put func(map[string][]T) error) *listBatch[T] {
	return &listBatch[T]{put: put, lists: make(map[string][]T, servingBatch)}
}

// add queues the list of an artist, writing the batch once it is full.
func (b *listBatch[T]) add(artistID string, list []T) error {
	b.lists[artistID] = list
	if len(b.lists) < servingBatch {
		return nil
	}
	return b.flush()
}

// flush writes what is queued.
func (b *listBatch[T]) flush() error {
	if len(b.lists) == 0 {
		return nil
	}
	err := b.put(b.lists)
	b.lists = make(map[string][]T, servingBatch)
	return err
}
