package analytics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// DuckDB is the embedded analytics engine: an in-memory DuckDB database that
// reads the Parquet files of a local lake. It is safe for concurrent use: each
// call works on its own connection with its own temporary views.
type DuckDB struct {
	db        *sql.DB
	tempDir   string
	ownedTemp *ownedTempDir // nil when the caller gave the temp dir
	blockSize int
	sliceSize int
	settings  url.Values // of every database: see session
	heartbeat HeartbeatFunc
}

// Option configures NewDuckDB.
type Option func(*options)

type options struct {
	memoryLimit string
	threads     int
	tempDir     string
	blockSize   int
	sliceSize   int
	heartbeat   HeartbeatFunc
}

// WithMemoryLimit caps the memory DuckDB uses before it spills to the temp
// dir, in DuckDB's notation ("2GB", "512MiB"). The default is DuckDB's own
// (80% of the machine's memory).
func WithMemoryLimit(limit string) Option {
	return func(o *options) { o.memoryLimit = limit }
}

// WithThreads sets the number of worker threads of DuckDB. The default is
// one per core.
func WithThreads(n int) Option {
	return func(o *options) { o.threads = n }
}

// WithTempDir sets the directory DuckDB spills to when a query does not fit
// in memory, which also holds the local copies of remote lakes that
// BuildMartsInLake and SimilarInLake make. The default is a fresh directory
// under os.TempDir, removed by Close, or after a crash by the next engine
// made with the default; a directory given here is left in place.
func WithTempDir(dir string) Option {
	return func(o *options) { o.tempDir = dir }
}

// WithSimilarityBlockSize sets the largest number of artists of one genre that
// artist_similarity compares with each other (default
// DefaultSimilarityBlockSize). Work and memory grow linearly with it.
func WithSimilarityBlockSize(n int) Option {
	return func(o *options) { o.blockSize = n }
}

// WithSimilaritySliceSize sets how many artists one part of artist_similarity
// computes (default DefaultSimilaritySliceSize): the mart is built in
// ceil(artists / n) parts, one Parquet file each. DuckDB's memory grows with
// n, its time with the number of parts.
func WithSimilaritySliceSize(n int) Option {
	return func(o *options) { o.sliceSize = n }
}

// DefaultSimilaritySliceSize keeps artist_similarity within 256 MB of
// DuckDB memory: at 100,000 artists in blocks of 100, about 150,000
// candidate pairs per 1,000 artists.
const DefaultSimilaritySliceSize = 2500

// WithHeartbeat sets the function told of the progress of BuildMarts,
// BuildMartsInLake and SimilarInLake: before each mart is built and while a
// remote lake is copied to local disk.
func WithHeartbeat(fn HeartbeatFunc) Option {
	return func(o *options) { o.heartbeat = fn }
}

// NewDuckDB opens an in-memory DuckDB database. Close it when done.
func NewDuckDB(opts ...Option) (*DuckDB, error) {
	o := options{blockSize: DefaultSimilarityBlockSize, sliceSize: DefaultSimilaritySliceSize}
	for _, opt := range opts {
		opt(&o)
	}
	if o.threads < 0 {
		return nil, fmt.Errorf("duckdb threads %d: must not be negative", o.threads)
	}
	if o.blockSize < 2 {
		return nil, fmt.Errorf("similarity block size %d: must be at least 2", o.blockSize)
	}
	if o.sliceSize < 1 {
		return nil, fmt.Errorf("similarity slice size %d: must be at least 1", o.sliceSize)
	}

	d := &DuckDB{tempDir: o.tempDir, blockSize: o.blockSize, sliceSize: o.sliceSize, heartbeat: o.heartbeat}
	if d.tempDir == "" {
		// Best effort: a stale dir that cannot be removed now is tried
		// again by the next engine, and is no reason to fail this one.
		_, _ = removeStaleTempDirs(os.TempDir())
		owned, err := newOwnedTempDir(os.TempDir())
		if err != nil {
			return nil, err
		}
		d.tempDir, d.ownedTemp = owned.path, owned
	} else if err := os.MkdirAll(d.tempDir, 0o755); err != nil {
		return nil, fmt.Errorf("create duckdb temp dir %q: %w", d.tempDir, err)
	}

	cfg := url.Values{}
	// No internet here or on workers: fail at once instead of trying to
	// download an extension a query happens to need.
	cfg.Set("autoinstall_known_extensions", "false")
	if o.memoryLimit != "" {
		cfg.Set("memory_limit", o.memoryLimit)
	}
	// Lets DuckDB write query results without buffering them to keep
	// their order: less memory. Results with an ORDER BY keep it.
	cfg.Set("preserve_insertion_order", "false")
	// Return freed memory to the system after each query instead of
	// keeping up to 128 MB of it: the worker runs other stages between
	// marts (35 MB less peak at 100,000 artists).
	cfg.Set("allocator_flush_threshold", "8MB")
	cfg.Set("allocator_background_threads", "true")
	if o.threads > 0 {
		cfg.Set("threads", strconv.Itoa(o.threads))
	}
	d.settings = cfg
	db, err := d.open(d.tempDir)
	if err != nil {
		err = fmt.Errorf("open duckdb (memory limit %q, threads %d, temp dir %q): %w",
			o.memoryLimit, o.threads, d.tempDir, err)
		return nil, errors.Join(err, d.removeTempDir())
	}
	d.db = db
	return d, nil
}

// open opens an in-memory database with the engine's settings, spilling
// to tempDir.
func (d *DuckDB) open(tempDir string) (*sql.DB, error) {
	cfg := maps.Clone(d.settings)
	cfg.Set("temp_directory", tempDir)
	connector, err := duckdb.NewConnector("?"+cfg.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

// session runs fn on a connection to a fresh in-memory database with the
// curated tables of the lake at root as views, and closes the
// database after. DuckDB keeps caches and allocator memory for as long as a
// database lives: at 100,000 artists, ten similarity slices in one database
// peaked 100 MiB higher than in one database each. Each session spills to
// its own directory under the temp dir, so concurrent builds never share
// temp files; each has its own memory limit, so the limit holds per mart
// being built, not per engine.
func (d *DuckDB) session(ctx context.Context, root string, fn func(*sql.Conn) error) (err error) {
	dir, err := d.mkdirTemp("session-")
	if err != nil {
		return fmt.Errorf("create duckdb session dir: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	db, err := d.open(dir)
	if err != nil {
		return fmt.Errorf("open duckdb session: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to duckdb: %w", err)
	}
	defer conn.Close()
	if _, err := bindCurated(ctx, conn, root); err != nil {
		return err
	}
	return fn(conn)
}

// mkdirTemp creates a fresh dir under the engine's temp dir, recreating
// the temp dir first if it is gone: a long-lived worker must not fail
// every query after a temp cleaner removed it.
func (d *DuckDB) mkdirTemp(prefix string) (string, error) {
	if err := d.ensureTempDir(); err != nil {
		return "", err
	}
	return os.MkdirTemp(d.tempDir, prefix)
}

// ensureTempDir recreates the engine's temp dir, and its lock if the
// engine made the dir, when something removed it.
func (d *DuckDB) ensureTempDir() error {
	if d.ownedTemp != nil {
		return d.ownedTemp.ensure()
	}
	if err := os.MkdirAll(d.tempDir, 0o755); err != nil {
		return fmt.Errorf("recreate duckdb temp dir %q: %w", d.tempDir, err)
	}
	return nil
}

// Close closes the database and removes the temp dir it created.
func (d *DuckDB) Close() error {
	err := d.db.Close()
	if err != nil {
		err = fmt.Errorf("close duckdb: %w", err)
	}
	return errors.Join(err, d.removeTempDir())
}

func (d *DuckDB) removeTempDir() error {
	if d.ownedTemp == nil {
		return nil
	}
	return d.ownedTemp.remove()
}

// MartsReport tells what BuildMarts wrote.
type MartsReport struct {
	// Rows is the number of rows of each mart.
	Rows map[string]int64
	// Keys are the lake keys written, relative to the lake root, slash-separated.
	Keys []string
	// Skipped names the marts not published, with why (see
	// skipGenreMarts); their partition of the date is removed, and they
	// have no Rows.
	Skipped map[string]string
}

// BuildMarts builds every mart for the logical date dt from the curated tables
// of the local lake at lakeRoot (a path or a file:// URL), and publishes each
// as marts/<mart>/dt=<dt>/part-00000.parquet. The marts are first written
// under _staging/ of the lake and then moved into place by directory rename,
// so a reader never sees a half-written partition; an existing partition of
// dt is replaced whole. Nothing is published unless every mart was built.
func (d *DuckDB) BuildMarts(ctx context.Context, lakeRoot, dt string) (MartsReport, error) {
	if err := validateDT(dt); err != nil {
		return MartsReport{}, err
	}
	root, err := localRoot(lakeRoot)
	if err != nil {
		return MartsReport{}, err
	}
	stagingParent := filepath.Join(root, "_staging")
	if err := os.MkdirAll(stagingParent, 0o755); err != nil {
		return MartsReport{}, fmt.Errorf("create staging dir %q: %w", stagingParent, err)
	}
	staging, err := os.MkdirTemp(stagingParent, "marts-")
	if err != nil {
		return MartsReport{}, fmt.Errorf("create staging dir under %q: %w", stagingParent, err)
	}
	defer os.RemoveAll(staging)

	report := MartsReport{Rows: make(map[string]int64, len(Marts))}
	for _, mart := range Marts {
		if d.heartbeat != nil {
			d.heartbeat(ctx, Progress{Step: "build", Mart: mart})
		}
		dir := filepath.Join(staging, mart, "dt="+dt)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return MartsReport{}, fmt.Errorf("create staging dir %q: %w", dir, err)
		}
		files, n, err := d.writeMart(ctx, root, mart, dt, dir)
		if err != nil {
			return MartsReport{}, err
		}
		report.Rows[mart] = n
		for _, f := range files {
			report.Keys = append(report.Keys, path.Join("marts", mart, "dt="+dt, f))
		}
	}

	report.Skipped, err = skipGenreMarts(ctx, report.Rows, func(ctx context.Context) (genreCoverage, error) {
		return d.genreCoverage(ctx, root, dt)
	})
	if err != nil {
		return MartsReport{}, fmt.Errorf("build marts of dt=%s: %w", dt, err)
	}
	for mart := range report.Skipped {
		report.drop(mart)
		// What replaces the partition is nothing.
		if err := os.RemoveAll(filepath.Join(staging, mart, "dt="+dt)); err != nil {
			return MartsReport{}, fmt.Errorf("discard mart %s for dt=%s: %w", mart, dt, err)
		}
	}

	for _, mart := range Marts {
		partition := filepath.Join("marts", mart, "dt="+dt)
		err := publish(filepath.Join(staging, mart, "dt="+dt), filepath.Join(root, partition),
			filepath.Join(staging, "replaced-"+mart))
		if err != nil {
			return MartsReport{}, fmt.Errorf("publish mart %s for dt=%s: %w", mart, dt, err)
		}
	}
	return report, nil
}

// writeMart runs the SQL of mart for dt over the lake at root and writes
// the result to Parquet files in dir: one, or one per slice of
// artist_similarity, each in a session of its own. It returns the files'
// names and the number of rows.
func (d *DuckDB) writeMart(ctx context.Context, root, mart, dt, dir string) ([]string, int64, error) {
	slices := 1
	if mart == ArtistSimilarity {
		var artists int
		err := d.session(ctx, root, func(conn *sql.Conn) error {
			return conn.QueryRowContext(ctx, "SELECT count(DISTINCT artist_id) FROM artists WHERE dt = '"+dt+"'").Scan(&artists)
		})
		if err != nil {
			return nil, 0, fmt.Errorf("count artists of dt=%s: %w", dt, err)
		}
		slices = max(1, (artists+d.sliceSize-1)/d.sliceSize)
	}
	var files []string
	var rows int64
	for slice := range slices {
		if slice > 0 && d.heartbeat != nil {
			d.heartbeat(ctx, Progress{Step: "build", Mart: mart})
		}
		query, err := MartSQL(mart, MartParams{DT: dt, SimilarityBlockSize: d.blockSize, Slice: slice, Slices: slices})
		if err != nil {
			return nil, 0, err
		}
		file := fmt.Sprintf("part-%05d.parquet", slice)
		err = d.session(ctx, root, func(conn *sql.Conn) error {
			// Said rather than left to DuckDB's defaults: Data Page V1 and
			// Snappy, which every engine reads (see lake.PartitionWriter).
			res, err := conn.ExecContext(ctx, "COPY ("+query+") TO "+quote(filepath.Join(dir, file))+
				" (FORMAT parquet, COMPRESSION snappy, PARQUET_VERSION V1)")
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			rows += n
			return err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("build mart %s for dt=%s (part %d of %d): %w", mart, dt, slice+1, slices, err)
		}
		files = append(files, file)
	}
	return files, rows, nil
}

// publish moves the directory staged to final, moving an existing final out
// of the way to replaced first (removed with the staging dir). Without a
// staged directory (a skipped mart) final is only moved away.
func publish(staged, final, replaced string) error {
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return fmt.Errorf("create %q: %w", filepath.Dir(final), err)
	}
	hadOld := true
	if err := os.Rename(final, replaced); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move old partition %q aside: %w", final, err)
		}
		hadOld = false
	}
	if _, err := os.Stat(staged); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.Rename(staged, final); err != nil {
		if hadOld {
			// Put the old partition back rather than leave none.
			err = errors.Join(err, os.Rename(replaced, final))
		}
		return fmt.Errorf("move %q to %q: %w", staged, final, err)
	}
	return nil
}

// genreCoverage counts the artists of dt in the lake at root and those
// with genres.
func (d *DuckDB) genreCoverage(ctx context.Context, root, dt string) (genreCoverage, error) {
	var c genreCoverage
	err := d.session(ctx, root, func(conn *sql.Conn) error {
		return conn.QueryRowContext(ctx, genreCoverageSQL(dt)).Scan(&c.artists, &c.withGenres)
	})
	return c, err
}

// SimilarArtist is one entry of an artist's similar artists.
type SimilarArtist struct {
	ArtistID string
	Name     string
	Score    float64
	Rank     int // 1-based, best first
}

// Similar reads the artist_similarity mart of dt from the lake at lakeRoot and
// calls fn once per artist with its similar artists in rank order. Artists
// come part by part of the mart, in ID order within a part: sorting one
// part at a time keeps the memory of a part's sort, not the mart's. An
// error of fn stops the reading and is returned wrapped. A missing
// partition is an error wrapping fs.ErrNotExist, and an artist in two parts
// is an error.
func (d *DuckDB) Similar(ctx context.Context, lakeRoot, dt string, fn func(artistID string, similar []SimilarArtist) error) error {
	if err := validateDT(dt); err != nil {
		return err
	}
	root, err := localRoot(lakeRoot)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "marts", ArtistSimilarity, "dt="+dt)
	files, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if err != nil {
		return fmt.Errorf("list %q: %w", dir, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("mart %s of dt=%s: no parquet file in %q: %w", ArtistSimilarity, dt, dir, fs.ErrNotExist)
	}
	// The engine's own database spills there while sorting.
	if err := d.ensureTempDir(); err != nil {
		return err
	}
	seen := map[string]string{} // artist → its part
	for _, file := range files {
		err := d.similarInPart(ctx, file, func(artistID string, similar []SimilarArtist) error {
			if other, ok := seen[artistID]; ok {
				return fmt.Errorf("artist %q is in two parts of mart %s: %s and %s", artistID, ArtistSimilarity, other, filepath.Base(file))
			}
			seen[artistID] = filepath.Base(file)
			return fn(artistID, similar)
		})
		if err != nil {
			return fmt.Errorf("read mart %s of dt=%s: %w", ArtistSimilarity, dt, err)
		}
	}
	return nil
}

// similarInPart calls fn per artist of one part file of artist_similarity.
func (d *DuckDB) similarInPart(ctx context.Context, file string, fn func(artistID string, similar []SimilarArtist) error) error {
	rows, err := d.db.QueryContext(ctx,
		"SELECT artist_id, similar_artist_id, similar_name, score, rank FROM read_parquet("+
			quote(file)+") ORDER BY artist_id, rank")
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(file), err)
	}
	defer rows.Close()

	var current string
	var similar []SimilarArtist
	flush := func() error {
		if len(similar) == 0 {
			return nil
		}
		if err := fn(current, similar); err != nil {
			return fmt.Errorf("handle similar artists of %q: %w", current, err)
		}
		similar = nil
		return nil
	}
	for rows.Next() {
		var artistID string
		var s SimilarArtist
		if err := rows.Scan(&artistID, &s.ArtistID, &s.Name, &s.Score, &s.Rank); err != nil {
			return fmt.Errorf("scan %s: %w", filepath.Base(file), err)
		}
		if artistID != current {
			if err := flush(); err != nil {
				return err
			}
			current = artistID
		}
		similar = append(similar, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(file), err)
	}
	return flush()
}

// Query runs sql against the lake at lakeRoot. The curated tables and the
// marts are views named after them, over all their partitions, with dt as a
// VARCHAR column. DATE values come back as YYYY-MM-DD strings. A query DuckDB
// refuses returns an error carrying DuckDB's message.
func (d *DuckDB) Query(ctx context.Context, lakeRoot, query string) (*Result, error) {
	if strings.TrimSpace(query) == "" {
		return nil, errors.New("query: empty SQL")
	}
	root, err := localRoot(lakeRoot)
	if err != nil {
		return nil, err
	}
	// The engine's own database spills there.
	if err := d.ensureTempDir(); err != nil {
		return nil, err
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to duckdb: %w", err)
	}
	defer conn.Close()
	views, err := bindCurated(ctx, conn, root)
	defer func() { dropViews(conn, views) }()
	if err != nil {
		return nil, err
	}
	martViews, err := bindMarts(ctx, conn, root)
	views = append(views, martViews...)
	if err != nil {
		return nil, err
	}

	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	return collect(rows)
}

// localRoot turns a lake root (a path or a file:// URL) into an absolute
// directory path DuckDB can glob.
func localRoot(lakeRoot string) (string, error) {
	path := lakeRoot
	if rest, ok := strings.CutPrefix(lakeRoot, "file://"); ok {
		path = rest
	} else if strings.Contains(lakeRoot, "://") {
		return "", fmt.Errorf("lake root %q: the DuckDB engine reads a local lake only (a path or file://)", lakeRoot)
	}
	if path == "" {
		return "", errors.New("lake root is empty")
	}
	// The root becomes part of glob patterns.
	if strings.ContainsAny(path, "*?[]{}") {
		return "", fmt.Errorf("lake root %q: glob characters *?[]{} are not supported", lakeRoot)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("lake root %q: %w", lakeRoot, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("lake root %q: %w", lakeRoot, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("lake root %q: not a directory", lakeRoot)
	}
	return abs, nil
}

// quote makes s an SQL string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
