package analytics

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// resetPeakRSS restarts the kernel's peak-RSS count of this process (Linux);
// it reports whether that worked.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS returns the peak resident memory of this process (VmHWM, Linux),
// DuckDB's native memory included; 0 when unknown.
func peakRSS() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// similarityRun holds an engine and a connection with the curated views of a
// synthetic lake of n artists.
type similarityRun struct {
	d    *DuckDB
	root string
	ds   dataset
}

func newSimilarityRun(tb testing.TB, n int, opts ...Option) *similarityRun {
	tb.Helper()
	root := tb.TempDir()
	ds := syntheticLake(n, 7, 0.5)
	writeLake(tb, root, ds)
	return &similarityRun{d: newTestDuckDB(tb, opts...), root: root, ds: ds}
}

// similarity builds the artist_similarity mart alone into dir.
func (r *similarityRun) similarity(tb testing.TB, dir string) int64 {
	tb.Helper()
	_, rows, err := r.d.writeMart(context.Background(), r.root, ArtistSimilarity, day3, dir)
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

// TestSimilarityAt10kArtists checks artist_similarity on 10,000 synthetic
// artists against the Go reference and reports its time and peak memory.
func TestSimilarityAt10kArtists(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000-artist dataset")
	}
	r := newSimilarityRun(t, 10_000)
	reset := resetPeakRSS()
	start := time.Now()
	rows := r.similarity(t, t.TempDir())
	elapsed := time.Since(start)
	peak := peakRSS()
	if !reset {
		t.Log("peak RSS could not be reset: it includes generating the dataset")
	}
	t.Logf("artist_similarity on 10000 artists: %d rows in %v, process peak RSS %d MiB (2 threads, 1GB limit)",
		rows, elapsed.Round(time.Millisecond), peak>>20)

	report, err := r.d.BuildMarts(context.Background(), r.root, day3)
	if err != nil {
		t.Fatal(err)
	}
	if report.Rows[ArtistSimilarity] != rows {
		t.Errorf("BuildMarts wrote %d similarity rows, the mart alone %d", report.Rows[ArtistSimilarity], rows)
	}
	checkSimilarity(t, martRows(t, r.d, r.root, ArtistSimilarity, day3), refSimilarity(r.ds, day3, DefaultSimilarityBlockSize))
}

// BenchmarkArtistSimilarity builds artist_similarity on synthetic lakes; it
// reports the process's peak resident memory, DuckDB included. The DuckDB
// memory limit comes from METRONOME_BENCH_MEMORY_LIMIT (default 1GB).
func BenchmarkArtistSimilarity(b *testing.B) {
	memoryLimit := cmp.Or(os.Getenv("METRONOME_BENCH_MEMORY_LIMIT"), "1GB")
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint("artists=", n), func(b *testing.B) {
			r := newSimilarityRun(b, n, WithMemoryLimit(memoryLimit))
			// Free the generated dataset so the peak is mostly DuckDB's.
			r.ds = nil
			debug.FreeOSMemory()
			dir := b.TempDir()
			resetPeakRSS()
			var rows int64
			for b.Loop() {
				rows = r.similarity(b, dir)
			}
			b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
