package analytics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/parallel"
	"github.com/metronome-data/metronome/internal/tables"
)

// Engine is what the aggregate stage needs from an analytics engine, whatever
// the engine (*DuckDB, *Athena) and the lake backend (file://, s3://).
type Engine interface {
	// BuildMartsInLake builds every mart for the logical date dt from the
	// curated tables of store and publishes each as the partition
	// marts/<mart>/dt=<dt>/ of store, replacing the partition whole.
	BuildMartsInLake(ctx context.Context, store lake.Store, dt string) (MartsReport, error)
	// SimilarInLake reads the artist_similarity mart of dt from store and
	// calls fn once per artist, in artist ID order, with its similar artists
	// in rank order. An error of fn stops the reading and is returned wrapped.
	SimilarInLake(ctx context.Context, store lake.Store, dt string, fn func(artistID string, similar []SimilarArtist) error) error
}

var (
	_ Engine = (*DuckDB)(nil)
	_ Engine = (*Athena)(nil)
)

// Progress is a step of a long-running engine call, reported to a
// HeartbeatFunc. Only the fields of the step are set.
type Progress struct {
	// Step is "stage" (copying lake objects to local disk), "build" (building
	// a mart), "unload" (an Athena UNLOAD), "publish", "query" (an Athena
	// query) or "exec" (an Athena statement).
	Step string
	// Mart is the mart being built, unloaded or published.
	Mart string
	// QueryID and State are those of the Athena query being polled.
	QueryID string
	State   string
	// Done and Total count the objects of a "stage" step.
	Done, Total int
}

// HeartbeatFunc receives the progress of a long-running engine call, with the
// context of the call, e.g. to record a Temporal activity heartbeat. It may be
// called from several goroutines, never concurrently for one call.
type HeartbeatFunc func(ctx context.Context, p Progress)

// stageConcurrency is the number of objects copied at once between a remote
// lake and local disk.
const stageConcurrency = 8

// Staged tells what StageFromLake copied.
type Staged struct {
	Objects int
	Bytes   int64
}

// StageFromLake copies the Parquet files of the curated tables
// (curated/<table>/dt=*/part-*.parquet) with dt <= through, all dates when
// through is "", from store into dir in the same layout, so that the DuckDB
// engine can read them as a local lake. The marts look back at every earlier
// date, so a mart of dt needs the whole history up to dt: the disk space and
// the time staging takes grow with it.
func StageFromLake(ctx context.Context, store lake.Store, tableNames []string, through, dir string) (Staged, error) {
	return stageFromLake(ctx, store, tableNames, through, dir, nil)
}

func stageFromLake(ctx context.Context, store lake.Store, tableNames []string, through, dir string, hb HeartbeatFunc) (Staged, error) {
	if through != "" {
		if err := validateDT(through); err != nil {
			return Staged{}, err
		}
	}
	var keys []string
	for _, table := range tableNames {
		if strings.ContainsAny(table, "/*?[]\\") || table == "" {
			return Staged{}, fmt.Errorf("stage curated table %q: not a table name", table)
		}
		prefix := "curated/" + table + "/"
		listed, err := store.List(ctx, prefix)
		if err != nil {
			return Staged{}, fmt.Errorf("stage curated table %s from %s: %w", table, store.URL(), err)
		}
		for _, key := range listed {
			// What DuckDB reads of the table: dt=<date>/part-*.parquet.
			dtDir, file, ok := strings.Cut(strings.TrimPrefix(key, prefix), "/")
			dt, isDT := strings.CutPrefix(dtDir, "dt=")
			if !ok || !isDT || validateDT(dt) != nil || (through != "" && dt > through) {
				continue
			}
			if match, _ := path.Match("part-*.parquet", file); match {
				keys = append(keys, key)
			}
		}
	}
	return stageKeys(ctx, store, keys, dir, hb)
}

// stageKeys copies the objects keys of store to dir, each to dir/<key>.
func stageKeys(ctx context.Context, store lake.Store, keys []string, dir string, hb HeartbeatFunc) (Staged, error) {
	var (
		mu     sync.Mutex
		staged Staged
	)
	err := parallel.ForEach(ctx, len(keys), stageConcurrency, func(ctx context.Context, i int) error {
		n, err := copyToFile(ctx, store, keys[i], dir)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		staged.Objects++
		staged.Bytes += n
		if hb != nil {
			hb(ctx, Progress{Step: "stage", Done: staged.Objects, Total: len(keys)})
		}
		return nil
	})
	if err != nil {
		return Staged{}, fmt.Errorf("stage %d objects from %s to %s: %w", len(keys), store.URL(), dir, err)
	}
	return staged, nil
}

func copyToFile(ctx context.Context, store lake.Store, key, dir string) (int64, error) {
	rel := filepath.FromSlash(key)
	if !filepath.IsLocal(rel) {
		return 0, fmt.Errorf("key %q: not a local path", key)
	}
	file := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return 0, fmt.Errorf("stage %q: %w", key, err)
	}
	r, err := store.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("stage %q: %w", key, err)
	}
	defer r.Close()
	f, err := os.Create(file)
	if err != nil {
		return 0, fmt.Errorf("stage %q: %w", key, err)
	}
	n, err := io.Copy(f, r)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return 0, fmt.Errorf("stage %q to %s: %w", key, file, err)
	}
	return n, nil
}

// BuildMartsInLake builds the marts of dt in store. A file:// store is read
// and written in place (BuildMarts on its directory). Any other store is
// staged: the curated partitions up to dt are copied to a directory under
// the engine's temp dir (see StageFromLake for what that costs), the marts
// are built there, uploaded under _staging/ of store and then moved into
// place with ReplacePrefix; see lake.Store.ReplacePrefix for what readers
// may observe meanwhile. Nothing is moved into place unless every mart was
// built and uploaded.
func (d *DuckDB) BuildMartsInLake(ctx context.Context, store lake.Store, dt string) (MartsReport, error) {
	if err := validateDT(dt); err != nil {
		return MartsReport{}, err
	}
	if dir, ok := store.LocalDir(); ok {
		return d.BuildMarts(ctx, dir, dt)
	}
	work, err := d.mkdirTemp("lake-")
	if err != nil {
		return MartsReport{}, fmt.Errorf("create staging dir for %s: %w", store.URL(), err)
	}
	defer os.RemoveAll(work)
	if _, err := stageFromLake(ctx, store, tables.All, dt, work, d.heartbeat); err != nil {
		return MartsReport{}, fmt.Errorf("build marts of dt=%s: %w", dt, err)
	}
	report, err := d.BuildMarts(ctx, work, dt)
	if err != nil {
		return MartsReport{}, err
	}

	staging, err := stagingPrefix("duckdb", dt)
	if err != nil {
		return MartsReport{}, err
	}
	for _, key := range report.Keys {
		if err := putFile(ctx, store, staging+key, filepath.Join(work, filepath.FromSlash(key))); err != nil {
			return MartsReport{}, errors.Join(
				fmt.Errorf("upload marts of dt=%s: %w", dt, err),
				discardStaging(ctx, store, staging))
		}
	}
	if err := publishMarts(ctx, store, staging, dt, d.heartbeat); err != nil {
		return MartsReport{}, errors.Join(err, discardStaging(ctx, store, staging))
	}
	return report, nil
}

// SimilarInLake reads the artist_similarity mart of dt from store: in place
// for a file:// store, from a local copy of the one partition otherwise. A
// missing partition is an error wrapping fs.ErrNotExist.
func (d *DuckDB) SimilarInLake(ctx context.Context, store lake.Store, dt string, fn func(artistID string, similar []SimilarArtist) error) error {
	if err := validateDT(dt); err != nil {
		return err
	}
	if dir, ok := store.LocalDir(); ok {
		return d.Similar(ctx, dir, dt, fn)
	}
	prefix := lake.MartPrefix(ArtistSimilarity, dt)
	keys, err := store.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("read mart %s of dt=%s: %w", ArtistSimilarity, dt, err)
	}
	if len(keys) == 0 {
		return fmt.Errorf("mart %s of dt=%s: no object under %s/%s: %w", ArtistSimilarity, dt, store.URL(), prefix, fs.ErrNotExist)
	}
	work, err := d.mkdirTemp("lake-")
	if err != nil {
		return fmt.Errorf("create staging dir for %s: %w", store.URL(), err)
	}
	defer os.RemoveAll(work)
	if _, err := stageKeys(ctx, store, keys, work, d.heartbeat); err != nil {
		return fmt.Errorf("read mart %s of dt=%s: %w", ArtistSimilarity, dt, err)
	}
	return d.Similar(ctx, work, dt, fn)
}

// stagingPrefix returns a fresh prefix under _staging/ of the lake for one
// build of dt by engine. It is unique, so retries and concurrent builds of the
// same date never share one.
func stagingPrefix(engine, dt string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make staging prefix: %w", err)
	}
	return "_staging/" + engine + "-" + dt + "-" + hex.EncodeToString(b[:]) + "/", nil
}

// publishMarts moves <staging>marts/<mart>/dt=<dt>/ to marts/<mart>/dt=<dt>/
// for every mart, replacing what was there; a mart with nothing staged ends
// up with an empty partition.
func publishMarts(ctx context.Context, store lake.Store, staging, dt string, hb HeartbeatFunc) error {
	for _, mart := range Marts {
		if hb != nil {
			hb(ctx, Progress{Step: "publish", Mart: mart})
		}
		dst := lake.MartPrefix(mart, dt)
		if err := store.ReplacePrefix(ctx, staging+dst, dst); err != nil {
			return fmt.Errorf("publish mart %s for dt=%s to %s: %w", mart, dt, store.URL(), err)
		}
	}
	return nil
}

// discardStaging removes a staging prefix after a failure, also when ctx is
// done.
func discardStaging(ctx context.Context, store lake.Store, staging string) error {
	if err := store.DeletePrefix(context.WithoutCancel(ctx), staging); err != nil {
		return fmt.Errorf("remove staging prefix %s of %s: %w", staging, store.URL(), err)
	}
	return nil
}

func putFile(ctx context.Context, store lake.Store, key, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("upload %s: %w", file, err)
	}
	defer f.Close()
	if err := store.Put(ctx, key, f); err != nil {
		return fmt.Errorf("upload %s: %w", file, err)
	}
	return nil
}
