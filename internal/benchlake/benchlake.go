// Package benchlake generates a lake and a serving store at the size the
// data console must stay fast at — by default 100,000 artists × 30 dates —
// for benchmarks (internal/console's BenchmarkConsole) and `starter bench`.
//
// What it writes is what the pipeline writes, with the project's own
// writers: curated Parquet through lake.PartitionWriter with the row types
// of internal/tables, raw JSON lines through lake.WriteRaw, quarantine
// records (curate.QuarantineRecord) through lake.WriteJSONL, the capture
// record and the run manifest through the activities themselves
// (CompleteCapture, WriteManifest), the marts by the marts' own SQL on
// DuckDB, and the serving store through its Put functions. Only the
// Spotify calls and the clean stage are skipped: the rows are made up
// deterministically from the seed instead of cleaned from fetched JSON.
//
// A lake of the default size takes minutes to build, so Cached builds it
// once per Version and Config under the user cache directory and reuses it.
package benchlake

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/metronome-data/metronome/internal/tables"
)

// Version names what Generate writes; change it whenever that changes, so
// Cached builds a new lake instead of reusing an outdated one.
const Version = "v1"

// Config is the shape of a generated lake. Zero fields take the defaults.
type Config struct {
	// Artists tracked on every date; default 100,000.
	Artists int
	// Dates is the number of consecutive processed dates; default 30.
	Dates int
	// Last is the newest date, YYYY-MM-DD; default 2026-11-30.
	Last string
	// Seed makes the made-up values; default 1.
	Seed uint64
}

// DefaultConfig is the size the console's pages are held to: 300 ms a page
// at 100,000 artists × 30 dates.
var DefaultConfig = Config{Artists: 100_000, Dates: 30, Last: "2026-11-30", Seed: 1}

func (c Config) withDefaults() Config {
	c.Artists = cmp.Or(c.Artists, DefaultConfig.Artists)
	c.Dates = cmp.Or(c.Dates, DefaultConfig.Dates)
	c.Last = cmp.Or(c.Last, DefaultConfig.Last)
	c.Seed = cmp.Or(c.Seed, DefaultConfig.Seed)
	return c
}

func (c Config) validate() error {
	if c.Artists < 1 {
		return fmt.Errorf("bench lake: %d artists: want at least 1", c.Artists)
	}
	if c.Dates < 1 || c.Dates > 3660 {
		return fmt.Errorf("bench lake: %d dates: want 1 to 3660", c.Dates)
	}
	if _, err := tables.ParseDate(c.Last); err != nil {
		return fmt.Errorf("bench lake: last date: %w (want YYYY-MM-DD)", err)
	}
	return nil
}

// name is the cache directory of the config.
func (c Config) name() string {
	return fmt.Sprintf("%s/%dx%d-%s-seed%d", Version, c.Artists, c.Dates, c.Last, c.Seed)
}

// Lake is a generated lake and serving store.
type Lake struct {
	Config
	// Dir holds lake/ and serving.db.
	Dir string
	// LakeURL is file://<Dir>/lake.
	LakeURL string
	// ServingURL is sqlite://<Dir>/serving.db.
	ServingURL string
	// Dates are the processed dates, oldest first.
	Dates []string
}

func newLake(dir string, c Config) Lake {
	last, _ := tables.ParseDate(c.Last)
	dates := make([]string, c.Dates)
	for i := range dates {
		dates[i] = (last - tables.Date(c.Dates-1-i)).String()
	}
	return Lake{Config: c, Dir: dir, LakeURL: "file://" + filepath.Join(dir, "lake"),
		ServingURL: "sqlite://" + filepath.Join(dir, "serving.db"), Dates: dates}
}

// Artist is artist i of the lake (0 ≤ i < Artists): its Spotify ID, name,
// and the dates on which it has a row, oldest first (an artist Spotify did
// not return on a date has none: a gap in its history).
func (l Lake) Artist(i int) (id, name string, dates []string) {
	g := generator{cfg: l.Config}
	for d, dt := range l.Dates {
		if g.present(i, d) {
			dates = append(dates, dt)
		}
	}
	return artistID(i), g.artistName(i), dates
}

// doneFile marks a complete lake: written last, before the rename.
const doneFile = "COMPLETE"

// Cached returns the lake of cfg under os.UserCacheDir()/metronome-bench
// (or $METRONOME_BENCH_CACHE), generating it first if it is not there. It
// is generated in a directory of its own and renamed into place when
// complete, so a concurrent caller never sees half of it: the loser of a
// race discards its copy and uses the winner's. logf (may be nil) hears
// what it does, since a build takes minutes.
func Cached(ctx context.Context, cfg Config, logf func(format string, args ...any)) (Lake, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Lake{}, err
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	root := os.Getenv("METRONOME_BENCH_CACHE")
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return Lake{}, fmt.Errorf("bench lake: no cache directory (set METRONOME_BENCH_CACHE): %w", err)
		}
		root = filepath.Join(cache, "metronome-bench")
	}
	final := filepath.Join(root, filepath.FromSlash(cfg.name()))
	if _, err := os.Stat(filepath.Join(final, doneFile)); err == nil {
		return newLake(final, cfg), nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return Lake{}, fmt.Errorf("bench lake: %w", err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	tmp := final + ".building-" + hex.EncodeToString(suffix)
	defer os.RemoveAll(tmp) // gone after a rename; a failed build's leftovers otherwise
	logf("generating the bench lake %s in %s (once; later runs reuse it)", cfg.name(), tmp)
	start := time.Now()
	if _, err := Generate(ctx, tmp, cfg); err != nil {
		return Lake{}, err
	}
	if err := os.WriteFile(filepath.Join(tmp, doneFile), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return Lake{}, fmt.Errorf("bench lake: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another build won the race (the target exists and is not empty).
		if _, statErr := os.Stat(filepath.Join(final, doneFile)); statErr != nil {
			return Lake{}, fmt.Errorf("bench lake: move %s into place: %w", tmp, err)
		}
	}
	logf("bench lake generated in %v", time.Since(start).Round(time.Second))
	return newLake(final, cfg), nil
}

// Generate writes the lake of cfg into dir, which must not exist or be
// empty, and returns it.
func Generate(ctx context.Context, dir string, cfg Config) (Lake, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Lake{}, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Lake{}, fmt.Errorf("bench lake: %w", err)
	}
	if len(entries) > 0 {
		return Lake{}, fmt.Errorf("bench lake: %s is not empty", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Lake{}, fmt.Errorf("bench lake: %w", err)
	}
	l := newLake(abs, cfg)
	if err := write(ctx, l); err != nil {
		return Lake{}, fmt.Errorf("bench lake %s: %w", strings.TrimPrefix(cfg.name(), Version+"/"), err)
	}
	return l, nil
}
