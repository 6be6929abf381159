package lake_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/metronome-data/metronome/internal/lake"
)

// cutStore serves every object's first n bytes and then fails the read,
// as a connection cut short would: not the object's fault.
type cutStore struct {
	lake.Store
	n int
}

func (s cutStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(b[:s.n]), failingReader{})), nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// A damaged object gives its complete lines and one MalformedLine wrapping
// ErrCorruptObject that names the object; without a handler the read
// fails with that error. A read cut short by the store is a plain error,
// never taken for damage: a retry may read the whole object.
func TestReadJSONLCorruptObject(t *testing.T) {
	ctx := context.Background()
	s, err := lake.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	type item struct{ N int }
	items := make([]item, 2000)
	for i := range items {
		items[i] = item{N: i}
	}
	key := "raw/spotify/artists/dt=2026-11-01/batch-00000.jsonl.gz"
	size, err := lake.WriteJSONL(ctx, s, key, items)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := s.Get(ctx, key)
	whole, _ := io.ReadAll(rc)
	rc.Close()

	put := func(t *testing.T, b []byte) {
		t.Helper()
		if err := s.Put(ctx, key, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		body      []byte
		store     lake.Store
		wantLines bool // some complete lines come first
		corrupt   bool // damage, not a failed read
	}{
		{"truncated at half", whole[:size/2], s, true, true},
		{"trailer missing", whole[:size-4], s, true, true},
		{"not gzip at all", []byte("garbage, not gzip"), s, false, true},
		{"empty object", nil, s, false, true},
		{"read cut short", whole, cutStore{Store: s, n: int(size / 2)}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			put(t, tt.body)
			var got int
			var damaged []lake.MalformedLine
			err := lake.ReadJSONL(ctx, tt.store, key, func(it item) error {
				if it.N != got {
					return fmt.Errorf("item %d out of order at %d", it.N, got)
				}
				got++
				return nil
			}, func(m lake.MalformedLine) error {
				damaged = append(damaged, m)
				return nil
			})
			if tt.wantLines != (got > 0) || got > len(items) {
				t.Errorf("read %d complete items of %d", got, len(items))
			}
			if !tt.corrupt {
				if err == nil || errors.Is(err, lake.ErrCorruptObject) || len(damaged) > 0 {
					t.Fatalf("a failed read: err %v, damaged %v; want a plain error", err, damaged)
				}
				if !strings.Contains(err.Error(), key) {
					t.Errorf("error %q does not name %s", err, key)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(damaged) != 1 || !errors.Is(damaged[0].Err, lake.ErrCorruptObject) || !strings.Contains(damaged[0].Err.Error(), key) {
				t.Fatalf("damaged = %+v; want one MalformedLine wrapping ErrCorruptObject naming %s", damaged, key)
			}
			if damaged[0].Line != got+1 {
				t.Errorf("damage at line %d after %d complete lines", damaged[0].Line, got)
			}
			// Without a handler the damage is an error naming the object.
			err = lake.ReadJSONL(ctx, tt.store, key, func(item) error { return nil }, nil)
			if !errors.Is(err, lake.ErrCorruptObject) || !strings.Contains(err.Error(), key) {
				t.Errorf("without a handler: %v", err)
			}
		})
	}
}
