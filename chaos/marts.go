package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/lake"
)

// readMarts reads the rows of every mart of date as canonical JSON, sorted,
// by mart. DuckDB writes the marts, so DuckDB reads them, from a local
// copy when the lake is remote; a mart without a partition of date (one
// skipped) has no rows.
func readMarts(ctx context.Context, store lake.Store, date string) (map[string][]string, error) {
	root, ok := store.LocalDir()
	if !ok {
		dir, err := os.MkdirTemp("", "chaos-marts-")
		if err != nil {
			return nil, fmt.Errorf("read marts of %s: %w", date, err)
		}
		defer os.RemoveAll(dir)
		if err := copyMarts(ctx, store, date, dir); err != nil {
			return nil, err
		}
		root = dir
	}
	engine, err := analytics.NewDuckDB(analytics.WithThreads(2))
	if err != nil {
		return nil, fmt.Errorf("read marts of %s: %w", date, err)
	}
	defer engine.Close()

	marts := make(map[string][]string, len(analytics.Marts))
	for _, mart := range analytics.Marts {
		dir := filepath.Join(root, filepath.FromSlash(lake.MartPrefix(mart, date)))
		files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
		if err != nil || len(files) == 0 {
			marts[mart] = nil
			continue
		}
		res, err := engine.Query(ctx, root, "SELECT * FROM read_parquet("+sqlString(filepath.Join(dir, "*.parquet"))+", hive_partitioning = false)")
		if err != nil {
			return nil, fmt.Errorf("read mart %s of %s: %w", mart, date, err)
		}
		rows := make([]string, 0, len(res.Rows))
		for _, r := range res.Rows {
			m := make(map[string]any, len(r))
			for i, v := range r {
				m[res.Columns[i]] = roundFloats(v)
			}
			s, err := canonical(m)
			if err != nil {
				return nil, fmt.Errorf("row of mart %s of %s: %w", mart, date, err)
			}
			rows = append(rows, s)
		}
		sort.Strings(rows)
		marts[mart] = rows
	}
	return marts, nil
}

// copyMarts copies the mart partitions of date from store to dir, at the
// same relative keys.
func copyMarts(ctx context.Context, store lake.Store, date, dir string) error {
	for _, mart := range analytics.Marts {
		keys, err := store.List(ctx, lake.MartPrefix(mart, date))
		if err != nil {
			return fmt.Errorf("list mart %s of %s: %w", mart, date, err)
		}
		for _, key := range keys {
			if err := copyObject(ctx, store, key, filepath.Join(dir, filepath.FromSlash(key))); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyObject(ctx context.Context, store lake.Store, key, path string) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("copy %s: %w", key, err)
	}
	r, err := store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("copy %s: %w", key, err)
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("copy %s: %w", key, err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("copy %s: %w", key, err)
	}
	return nil
}

// roundFloats rounds the floats in v to 12 significant digits: DuckDB may
// sum in another order from one run to the next, which moves the last bits
// of a mean or a score and nothing a reader sees.
func roundFloats(v any) any {
	return mapFloats(v, func(v float64) any {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return strconv.FormatFloat(v, 'g', -1, 64) // JSON has no NaN
		}
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
		return r
	})
}

// sqlString makes s an SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
