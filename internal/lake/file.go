package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// tmpPrefix starts the names of the file store's own temporary files and
// directories. Keys never start a segment with it (List hides such names),
// and DuckDB/Athena globs such as part-*.parquet never match it.
const tmpPrefix = ".lake-tmp-"

// fileStore keeps each object as the file root/<key>.
type fileStore struct {
	root string // absolute
}

func openFile(dir string) (*fileStore, error) {
	if dir == "" {
		return nil, errors.New("open lake file://: empty directory")
	}
	abs, err := filepath.Abs(filepath.FromSlash(dir))
	if err != nil {
		return nil, fmt.Errorf("open lake file://%s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("open lake file://%s: %w", dir, err)
	}
	return &fileStore{root: abs}, nil
}

func (s *fileStore) URL() string { return "file://" + filepath.ToSlash(s.root) }

func (s *fileStore) LocalDir() (string, bool) { return s.root, true }

func (s *fileStore) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// Put writes to a temporary file next to the target and renames it into
// place, so that readers see the old or the new object, never a partial one.
func (s *fileStore) Put(ctx context.Context, key string, r io.Reader) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("put %s: %w", s.URL(), err)
	}
	target := s.path(key)
	tmp, err := s.createTemp(filepath.Dir(target))
	if err != nil {
		return fmt.Errorf("put %q: %w", key, diskFull(s.root, err))
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		tmp.Close()
		return fmt.Errorf("put %q: %w", key, diskFull(s.root, err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %q: %w", key, diskFull(s.root, err))
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// createTemp creates a temporary file in dir, creating dir first. A
// concurrent Delete may prune the freshly created (still empty) directory,
// hence the retries.
func (s *fileStore) createTemp(dir string) (*os.File, error) {
	var err error
	for range 3 {
		if err = os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		var f *os.File
		if f, err = os.CreateTemp(dir, tmpPrefix+"*"); err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, err
}

func (s *fileStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get %s: %w", s.URL(), err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		// ENOTDIR: a parent of the key is an object, e.g. Get("a/b") with an object "a".
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("get %q from %s: %w", key, s.URL(), ErrNotFound)
		}
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("get %q from %s: %w", key, s.URL(), ErrNotFound)
	}
	return f, nil
}

func (s *fileStore) List(ctx context.Context, prefix string) ([]string, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list %s: %w", s.URL(), err)
	}
	// Walk only the deepest directory the prefix fully names.
	dir := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = prefix[:i]
	}
	start := s.path(dir)
	var keys []string
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, s.URL(), err)
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *fileStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("delete %s: %w", s.URL(), err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	p := s.path(key)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	s.pruneEmptyDirs(filepath.Dir(p))
	return nil
}

func (s *fileStore) DeletePrefix(ctx context.Context, prefix string) error {
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("delete prefix: %w", err)
	}
	for _, key := range keys {
		if err := s.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete prefix %q: %w", prefix, err)
		}
	}
	return nil
}

// ReplacePrefix swaps directories: dst moves aside into a temporary
// directory at the root, src is renamed to dst, and the old dst is removed.
// Each rename is atomic, so a reader sees the complete old partition, then
// (for the instant between the two renames) none, then the complete new one.
func (s *fileStore) ReplacePrefix(ctx context.Context, src, dst string) error {
	if err := checkDirPrefix(src); err != nil {
		return fmt.Errorf("replace prefix in %s: %w", s.URL(), err)
	}
	if err := checkDirPrefix(dst); err != nil {
		return fmt.Errorf("replace prefix in %s: %w", s.URL(), err)
	}
	if strings.HasPrefix(src, dst) || strings.HasPrefix(dst, src) {
		return fmt.Errorf("replace prefix %q with %q: prefixes overlap", dst, src)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("replace prefix %q: %w", dst, err)
	}
	srcDir, dstDir := s.path(strings.TrimSuffix(src, "/")), s.path(strings.TrimSuffix(dst, "/"))
	if _, err := os.Stat(srcDir); errors.Is(err, fs.ErrNotExist) {
		// Nothing staged: the result is an empty dst.
		return s.DeletePrefix(ctx, dst)
	}
	if err := os.MkdirAll(filepath.Dir(dstDir), 0o755); err != nil {
		return fmt.Errorf("replace prefix %q: %w", dst, err)
	}
	trash, err := os.MkdirTemp(s.root, tmpPrefix+"old-*")
	if err != nil {
		return fmt.Errorf("replace prefix %q: %w", dst, err)
	}
	defer os.RemoveAll(trash)
	old := filepath.Join(trash, "old")
	hadOld := true
	if err := os.Rename(dstDir, old); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("replace prefix %q: move old partition aside: %w", dst, err)
		}
		hadOld = false
	}
	if err := os.Rename(srcDir, dstDir); err != nil {
		if hadOld {
			// Put the old partition back so readers keep a complete one.
			_ = os.Rename(old, dstDir)
		}
		return fmt.Errorf("replace prefix %q with %q: %w", dst, src, err)
	}
	s.pruneEmptyDirs(filepath.Dir(srcDir))
	return nil
}

// pruneEmptyDirs removes dir and its parents while they are empty, up to the
// root, so deleted prefixes do not leave directory skeletons behind (S3 has
// no directories, and List must not differ).
func (s *fileStore) pruneEmptyDirs(dir string) {
	for dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)) {
		if err := os.Remove(dir); err != nil {
			return // not empty, or gone
		}
		dir = filepath.Dir(dir)
	}
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
