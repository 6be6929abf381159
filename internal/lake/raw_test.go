package lake_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"testing"

	"github.com/metronome-data/metronome/internal/lake"
)

func TestReadRawMalformedLines(t *testing.T) {
	ctx := context.Background()
	s, err := lake.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A long valid line proves there is no line-length limit.
	long := `{"dt":"2026-11-01","batch":1,"fetched_at":"2026-11-01T10:00:00Z","endpoint":"/v1/x","key":"big","data":{"s":"` +
		string(bytes.Repeat([]byte("a"), 1<<20)) + `"}}`
	lines := []string{
		`{"dt":"2026-11-01","batch":1,"fetched_at":"2026-11-01T10:00:00Z","endpoint":"/v1/x","key":"a","data":{}}`,
		`{"dt":"2026-11-01","batch":1,"key":"trunc`,
		``,
		`{"dt":"2026-11-01","batch":1,"fetched_at":"yesterday","key":"badtime","data":{}}`,
		long,
		`{"key":"no newline at end","data":1}`,
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i, l := range lines {
		zw.Write([]byte(l))
		if i < len(lines)-1 {
			zw.Write([]byte("\n"))
		}
	}
	zw.Close()
	key := lake.RawKey("artists", "2026-11-01", 1)
	if err := s.Put(ctx, key, &buf); err != nil {
		t.Fatal(err)
	}

	var good []string
	var bad []int
	err = lake.ReadRaw(ctx, s, key, func(r lake.RawRecord) error {
		good = append(good, r.Key)
		return nil
	}, func(m lake.MalformedLine) error {
		if m.Key != key || m.Err == nil || len(m.Text) == 0 {
			t.Errorf("malformed line report %+v lacks key, text or error", m)
		}
		bad = append(bad, m.Line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "big", "no newline at end"}; len(good) != 3 || good[0] != want[0] || good[1] != want[1] || good[2] != want[2] {
		t.Errorf("good records = %q, want %q", good, want)
	}
	if len(bad) != 2 || bad[0] != 2 || bad[1] != 4 {
		t.Errorf("malformed lines = %v, want [2 4]", bad)
	}

	// Without a handler the first malformed line is an error.
	err = lake.ReadRaw(ctx, s, key, func(lake.RawRecord) error { return nil }, nil)
	if !errors.Is(err, lake.ErrMalformedLine) {
		t.Errorf("ReadRaw without handler: error = %v, want ErrMalformedLine", err)
	}
	// The callback's error stops the read and comes back as is.
	stop := errors.New("stop")
	if err := lake.ReadRaw(ctx, s, key, func(lake.RawRecord) error { return stop }, nil); err != stop {
		t.Errorf("ReadRaw callback error = %v, want it returned as is", err)
	}
	if err := lake.ReadRaw(ctx, s, "raw/none.jsonl.gz", func(lake.RawRecord) error { return nil }, nil); !errors.Is(err, lake.ErrNotFound) {
		t.Errorf("ReadRaw of a missing object: error = %v, want ErrNotFound", err)
	}
}
