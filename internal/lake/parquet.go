package lake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
)

// Row group and part sizes of the Parquet files the lake writes.
//
// DuckDB parallelises a scan by row group and writes 122,880-row groups
// itself; Athena splits work by file and by row group. Curated rows are
// narrow (100–300 bytes), so a 122,880-row group is a few MB compressed:
// enough for both engines, and the most a writer holds in memory. A part
// file rolls over after 8 row groups, which keeps files in the tens of MB.
const (
	DefaultRowGroupRows = 122_880
	DefaultPartRows     = 8 * DefaultRowGroupRows
)

// StagingRoot is the prefix under which unpublished partitions are written.
// Readers glob curated/, marts/ … and never see it.
const StagingRoot = "_staging/"

// Compression is a Parquet compression codec.
type Compression string

// The codecs the lake writes. Zstd (the default) compresses better; Snappy
// is cheaper on CPU. DuckDB and Athena read both.
const (
	Zstd   Compression = "zstd"
	Snappy Compression = "snappy"
)

func (c Compression) codec() (compress.Codec, error) {
	switch c {
	case Zstd, "":
		return &parquet.Zstd, nil
	case Snappy:
		return &parquet.Snappy, nil
	default:
		return nil, fmt.Errorf("compression %q: want %q or %q", c, Zstd, Snappy)
	}
}

// WriterOption configures a PartitionWriter.
type WriterOption func(*writerConfig)

type writerConfig struct {
	compression  Compression
	rowGroupRows int64
	partRows     int64
	tempDir      string
	staging      string
}

// WithCompression sets the codec (default Zstd).
func WithCompression(c Compression) WriterOption {
	return func(w *writerConfig) { w.compression = c }
}

// WithRowGroupRows sets the rows per row group (default DefaultRowGroupRows).
func WithRowGroupRows(n int64) WriterOption {
	return func(w *writerConfig) { w.rowGroupRows = n }
}

// WithPartRows sets the rows after which a new part file starts (default
// DefaultPartRows).
func WithPartRows(n int64) WriterOption {
	return func(w *writerConfig) { w.partRows = n }
}

// WithTempDir sets the local directory of the part file being written
// (default os.TempDir()).
func WithTempDir(dir string) WriterOption {
	return func(w *writerConfig) { w.tempDir = dir }
}

// WithStagingPrefix sets where the parts wait for Publish: the partition
// prefix P is staged under <staging>P. It must start with StagingRoot and
// end with "/". The default is _staging/<random id>/; a caller that resumes
// a run after a crash passes a deterministic one.
func WithStagingPrefix(staging string) WriterOption {
	return func(w *writerConfig) { w.staging = staging }
}

// PartitionWriter streams rows of type T into the Parquet part files of one
// partition (e.g. curated/artists/dt=2026-11-01/) and publishes them whole.
//
// Rows go to a local temporary file; each finished part file is uploaded
// under the staging prefix, so memory holds at most one row group whatever
// the partition size. Nothing is visible under the partition prefix before
// Publish, which replaces the partition whole: a re-run never leaves parts
// of an earlier run behind.
//
// What a reader of the partition may see during Publish:
//   - file://: the complete old partition, then for an instant between two
//     directory renames no partition, then the complete new one; never a mix
//     and never a partial part.
//   - s3://: S3 cannot rename, so Publish copies the new parts over the old
//     ones (server-side, part by part), then deletes the old parts the new
//     partition does not have. A reader listing the partition during those
//     few requests may see a mix of old and new parts (never a partial
//     part). A first publication is only ever seen growing part by part. A
//     reader that needs a consistent view reads the part keys the run
//     manifest names, written after every partition is published.
//
// A PartitionWriter is not safe for concurrent use.
type PartitionWriter[T any] struct {
	store   Store
	prefix  string
	staging string // staging + prefix
	cfg     writerConfig
	codec   compress.Codec

	file     *os.File
	writer   *parquet.GenericWriter[T]
	partRows int64 // rows in the open part
	rows     int64
	parts    []string // final keys of finished parts
	closed   bool
}

// NewPartitionWriter starts writing the partition prefix (which must end
// with "/") of store.
func NewPartitionWriter[T any](store Store, prefix string, opts ...WriterOption) (*PartitionWriter[T], error) {
	cfg := writerConfig{rowGroupRows: DefaultRowGroupRows, partRows: DefaultPartRows}
	for _, opt := range opts {
		opt(&cfg)
	}
	codec, err := cfg.compression.codec()
	if err != nil {
		return nil, fmt.Errorf("partition writer %q: %w", prefix, err)
	}
	if err := checkDirPrefix(prefix); err != nil {
		return nil, fmt.Errorf("partition writer: %w", err)
	}
	if strings.HasPrefix(prefix, StagingRoot) {
		return nil, fmt.Errorf("partition writer: prefix %q is inside %s", prefix, StagingRoot)
	}
	if cfg.rowGroupRows <= 0 || cfg.partRows <= 0 {
		return nil, fmt.Errorf("partition writer %q: row group rows %d and part rows %d must be positive",
			prefix, cfg.rowGroupRows, cfg.partRows)
	}
	if cfg.staging == "" {
		cfg.staging = StagingRoot + randomID() + "/"
	}
	if !strings.HasPrefix(cfg.staging, StagingRoot) {
		return nil, fmt.Errorf("partition writer %q: staging prefix %q must start with %s", prefix, cfg.staging, StagingRoot)
	}
	if err := checkDirPrefix(cfg.staging); err != nil {
		return nil, fmt.Errorf("partition writer %q: staging: %w", prefix, err)
	}
	return &PartitionWriter[T]{
		store:   store,
		prefix:  prefix,
		staging: cfg.staging + prefix,
		cfg:     cfg,
		codec:   codec,
	}, nil
}

// Prefix is the partition prefix the writer publishes to.
func (w *PartitionWriter[T]) Prefix() string { return w.prefix }

// Rows is the number of rows written so far.
func (w *PartitionWriter[T]) Rows() int64 { return w.rows }

// Keys are the keys the part files have once published, in order.
func (w *PartitionWriter[T]) Keys() []string { return append([]string(nil), w.parts...) }

// Write appends rows, starting a new part file every partRows rows.
func (w *PartitionWriter[T]) Write(ctx context.Context, rows []T) error {
	if w.closed {
		return fmt.Errorf("write partition %q: writer is closed", w.prefix)
	}
	for len(rows) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("write partition %q: %w", w.prefix, err)
		}
		if w.writer == nil {
			if err := w.startPart(); err != nil {
				return err
			}
		}
		n := min(int64(len(rows)), w.cfg.partRows-w.partRows)
		if _, err := w.writer.Write(rows[:n]); err != nil {
			return fmt.Errorf("write partition %q part %d: %w", w.prefix, len(w.parts), err)
		}
		w.partRows += n
		w.rows += n
		rows = rows[n:]
		if w.partRows == w.cfg.partRows {
			if err := w.finishPart(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close finishes and uploads the last part file. A partition without rows
// still gets one part file with the schema and no rows, so that readers find
// an empty table rather than a missing one.
func (w *PartitionWriter[T]) Close(ctx context.Context) error {
	if w.closed {
		return nil
	}
	if w.writer == nil && len(w.parts) == 0 {
		if err := w.startPart(); err != nil {
			return err
		}
	}
	if w.writer != nil {
		if err := w.finishPart(ctx); err != nil {
			return err
		}
	}
	w.closed = true
	return nil
}

// Publish closes the writer if needed and replaces the partition with the
// staged parts; see PartitionWriter for what readers observe meanwhile.
func (w *PartitionWriter[T]) Publish(ctx context.Context) error {
	if err := w.Close(ctx); err != nil {
		return err
	}
	return Publish(ctx, w.store, w.staging, w.prefix)
}

// Abort drops the open part and everything staged. The published partition,
// if any, is untouched.
func (w *PartitionWriter[T]) Abort(ctx context.Context) error {
	w.discardPart()
	w.closed = true
	if err := w.store.DeletePrefix(ctx, w.staging); err != nil {
		return fmt.Errorf("abort partition %q: %w", w.prefix, err)
	}
	return nil
}

// Publish replaces the partition prefix dst with the objects staged under
// src; see PartitionWriter for what readers observe meanwhile. It is
// PartitionWriter.Publish for files written by other means, e.g. Parquet
// files an engine wrote into a staging prefix of a file store.
func Publish(ctx context.Context, store Store, src, dst string) error {
	if !strings.HasPrefix(src, StagingRoot) {
		return fmt.Errorf("publish %q: source %q is not under %s", dst, src, StagingRoot)
	}
	if err := store.ReplacePrefix(ctx, src, dst); err != nil {
		return fmt.Errorf("publish %q: %w", dst, err)
	}
	return nil
}

// writerOptions are the parquet-go options of every file the lake writes.
// Data Page V1, not parquet-go's default V2: Snowflake and several Spark and
// Trino versions reject or mis-read V2 pages, and DuckDB writes V1 too.
func writerOptions(codec compress.Codec, rowGroupRows int64) []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(codec),
		parquet.DataPageVersion(1),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		parquet.CreatedBy("metronome", "", ""),
	}
}

func (w *PartitionWriter[T]) startPart() error {
	f, err := os.CreateTemp(w.cfg.tempDir, "metronome-part-*.parquet")
	if err != nil {
		return fmt.Errorf("write partition %q: %w", w.prefix, err)
	}
	w.file = f
	w.writer = parquet.NewGenericWriter[T](f, writerOptions(w.codec, w.cfg.rowGroupRows)...)
	w.partRows = 0
	return nil
}

func (w *PartitionWriter[T]) finishPart(ctx context.Context) error {
	defer w.discardPart()
	n := len(w.parts)
	if err := w.writer.Close(); err != nil {
		return fmt.Errorf("write partition %q part %d: %w", w.prefix, n, err)
	}
	if _, err := w.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("write partition %q part %d: %w", w.prefix, n, err)
	}
	if err := w.store.Put(ctx, PartKey(w.staging, n), w.file); err != nil {
		return fmt.Errorf("write partition %q part %d: %w", w.prefix, n, err)
	}
	w.parts = append(w.parts, PartKey(w.prefix, n))
	return nil
}

func (w *PartitionWriter[T]) discardPart() {
	if w.file != nil {
		w.file.Close()
		os.Remove(w.file.Name())
	}
	w.file, w.writer, w.partRows = nil, nil, 0
}

// WriteParquet writes rows as the single Parquet object key, replacing it.
// It suits small objects such as staged intermediate files; partitions use
// PartitionWriter.
func WriteParquet[T any](ctx context.Context, store Store, key string, rows []T, opts ...WriterOption) error {
	cfg := writerConfig{rowGroupRows: DefaultRowGroupRows}
	for _, opt := range opts {
		opt(&cfg)
	}
	codec, err := cfg.compression.codec()
	if err != nil {
		return fmt.Errorf("write parquet %q: %w", key, err)
	}
	f, err := os.CreateTemp(cfg.tempDir, "metronome-*.parquet")
	if err != nil {
		return fmt.Errorf("write parquet %q: %w", key, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	pw := parquet.NewGenericWriter[T](f, writerOptions(codec, max(cfg.rowGroupRows, 1))...)
	if _, err := pw.Write(rows); err != nil {
		return fmt.Errorf("write parquet %q: %w", key, err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("write parquet %q: %w", key, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("write parquet %q: %w", key, err)
	}
	if err := store.Put(ctx, key, f); err != nil {
		return fmt.Errorf("write parquet %q: %w", key, err)
	}
	return nil
}

// readBatch is how many rows ReadParquet decodes at a time.
const readBatch = 1024

// ReadParquet calls fn for each row of the Parquet object key, in order,
// and stops at the first error fn returns. A file store's object is read in
// place; a remote one is first downloaded to a temporary file, so memory
// stays bounded. Columns of the file missing from T are skipped, and fields
// of T missing from the file are left zero.
func ReadParquet[T any](ctx context.Context, store Store, key string, fn func(T) error) error {
	f, cleanup, err := openLocal(ctx, store, key)
	if err != nil {
		return fmt.Errorf("read parquet: %w", err)
	}
	defer cleanup()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read parquet %q: %w", key, err)
	}
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		return fmt.Errorf("read parquet %q: %w", key, err)
	}
	r, err := newGenericReader[T](pf)
	if err != nil {
		return fmt.Errorf("read parquet %q: %w", key, err)
	}
	defer r.Close()
	buf := make([]T, readBatch)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read parquet %q: %w", key, err)
		}
		// Fresh zero rows each time, so no slice or pointer of a row
		// handed to fn is reused by the next Read.
		clear(buf)
		n, err := r.Read(buf)
		for _, row := range buf[:n] {
			if ferr := fn(row); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read parquet %q: %w", key, err)
		}
	}
}

// newGenericReader turns the panics parquet-go raises for a schema it
// cannot convert into an error.
func newGenericReader[T any](pf *parquet.File) (r *parquet.GenericReader[T], err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("schema of file does not fit %T: %v", *new(T), p)
		}
	}()
	return parquet.NewGenericReader[T](pf), nil
}

// openLocal opens the object key as a local file: in place for a file
// store, as a downloaded temporary copy otherwise.
func openLocal(ctx context.Context, store Store, key string) (*os.File, func(), error) {
	if err := checkKey(key); err != nil {
		return nil, nil, err
	}
	if dir, ok := store.LocalDir(); ok {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(key)))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil, fmt.Errorf("open %q in %s: %w", key, store.URL(), ErrNotFound)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("open %q: %w", key, err)
		}
		return f, func() { f.Close() }, nil
	}
	rc, err := store.Get(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "metronome-get-*")
	if err != nil {
		return nil, nil, fmt.Errorf("download %q: %w", key, err)
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, rc); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("download %q: %w", key, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("download %q: %w", key, err)
	}
	return f, cleanup, nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
