package lake_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/metronome-data/metronome/internal/lake"
)

type corruptRow struct {
	ID     string   `parquet:"id"`
	N      int64    `parquet:"n"`
	Tags   []string `parquet:"tags,list,optional"`
	Detail *string  `parquet:"detail,optional"`
}

// A damaged Parquet part (garbage, cut short, bytes flipped in its pages or
// its footer) gives an error naming the object, never a panic and never a
// silent success that hides the damage of the footer.
func TestReadParquetDamagedPart(t *testing.T) {
	ctx := context.Background()
	s, err := lake.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]corruptRow, 5000)
	for i := range rows {
		d := strings.Repeat("x", i%40)
		rows[i] = corruptRow{ID: fmt.Sprintf("id-%05d", i), N: int64(i), Tags: []string{"a", d}, Detail: &d}
	}
	key := "curated/artists/dt=2026-11-01/part-00000.parquet"
	if err := lake.WriteParquet(ctx, s, key, rows); err != nil {
		t.Fatal(err)
	}
	rc, _ := s.Get(ctx, key)
	whole, _ := io.ReadAll(rc)
	rc.Close()
	flip := func(from, to int) []byte {
		c := append([]byte(nil), whole...)
		for i := from; i < to && i < len(c); i++ {
			c[i] ^= 0x5a
		}
		return c
	}
	tests := []struct {
		name string
		body []byte
		ok   bool // damage parquet cannot see (page data it does not checksum) may read
	}{
		{"garbage", []byte(strings.Repeat("garbage ", 100)), false},
		{"empty", nil, false},
		{"magic only", []byte("PAR1PAR1"), false},
		{"cut in half", whole[:len(whole)/2], false},
		{"footer length lies", append(append([]byte(nil), whole[:len(whole)-8]...), 0xff, 0xff, 0xff, 0x7f, 'P', 'A', 'R', '1'), false},
		{"footer flipped", flip(len(whole)-200, len(whole)-8), false},
		{"pages flipped", flip(len(whole)/4, len(whole)/4+256), true},
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 100 {
		at := rnd.IntN(len(whole) - 16)
		tests = append(tests, struct {
			name string
			body []byte
			ok   bool
		}{fmt.Sprintf("random flip %d at %d", i, at), flip(at, at+1+rnd.IntN(64)), true})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Put(ctx, key, bytes.NewReader(tt.body)); err != nil {
				t.Fatal(err)
			}
			n := 0
			err := lake.ReadParquet(ctx, s, key, func(corruptRow) error { n++; return nil })
			if err == nil {
				if !tt.ok {
					t.Fatalf("read %d rows of a damaged part without an error", n)
				}
				return
			}
			if !strings.Contains(err.Error(), key) {
				t.Errorf("error %q does not name %s", err, key)
			}
		})
	}
}
