package lake_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metronome-data/metronome/internal/lake"
)

func TestFileStore(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) lake.Store {
		s, err := lake.Open(context.Background(), "file://"+t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenFileRelativeDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := lake.Open(context.Background(), "file://data/lake")
	if err != nil {
		t.Fatal(err)
	}
	root, ok := s.LocalDir()
	want := filepath.Join(dir, "data", "lake")
	if !ok || root != want {
		t.Fatalf("LocalDir = %q, %v; want %q, true", root, ok, want)
	}
	if s.URL() != "file://"+filepath.ToSlash(want) {
		t.Fatalf("URL = %q", s.URL())
	}
	put(t, s, "curated/x/dt=2026-11-01/part-00000.parquet", "p")
	if _, err := os.Stat(filepath.Join(want, "curated", "x", "dt=2026-11-01", "part-00000.parquet")); err != nil {
		t.Fatalf("object is not the file LocalDir/key: %v", err)
	}
}

// The file store must not leave empty directories behind, and must hide its
// own temporary files from List (a crashed Put leaves one).
func TestFileStoreHousekeeping(t *testing.T) {
	ctx := context.Background()
	s, err := lake.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root, _ := s.LocalDir()
	put(t, s, "a/b/c/d", "x")
	if err := os.WriteFile(filepath.Join(root, "a", "b", ".lake-tmp-123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := list(t, s, "a/"); len(got) != 1 || got[0] != "a/b/c/d" {
		t.Fatalf("List = %q, want only a/b/c/d", got)
	}
	if err := s.Delete(ctx, "a/b/c/d"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "b", "c")); !os.IsNotExist(err) {
		t.Fatalf("empty directory a/b/c left behind (stat error %v)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "b")); err != nil {
		t.Fatalf("directory a/b with a file in it was removed: %v", err)
	}
}

func TestOpenUnsupportedURL(t *testing.T) {
	for _, url := range []string{"", "data/lake", "gs://bucket", "file://", "s3://"} {
		if _, err := lake.Open(context.Background(), url); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", url)
		} else if url != "" && !strings.Contains(err.Error(), url) {
			t.Errorf("Open(%q) error %q does not name the URL", url, err)
		}
	}
}
