package analytics

import (
	"context"
	"testing"
)

// BenchmarkQuery is one ad hoc query over a small lake: what a query pays
// on top of its own scan, binding every curated table and mart as a view.
func BenchmarkQuery(b *testing.B) {
	d := newTestDuckDB(b)
	root := b.TempDir()
	writeLake(b, root, extendedLake())
	if _, err := d.BuildMarts(context.Background(), root, day3); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Query(context.Background(), root, "SELECT COUNT(*) FROM artists"); err != nil {
			b.Fatal(err)
		}
	}
}
