package analytics

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The memo of a conformed view holds only for the files it was described
// from: a part added, rewritten or removed changes the stamp.
func TestViewKeyStampsTheFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
	write := func(path, body string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	write(a, "one", t0)
	stamp := func(files ...string) string {
		t.Helper()
		_, s, ok := viewKey("p", "q", files)
		if !ok {
			t.Fatalf("viewKey(%v) could not stat", files)
		}
		return s
	}
	first := stamp(a)
	if again := stamp(a); again != first {
		t.Fatalf("same file, two stamps: %s, %s", first, again)
	}
	write(b, "two", t0)
	if stamp(a, b) == first {
		t.Error("a part added kept the stamp")
	}
	write(a, "one!", t0)
	if stamp(a) == first {
		t.Error("a part rewritten with another size kept the stamp")
	}
	write(a, "one", t0.Add(time.Second))
	if stamp(a) == first {
		t.Error("a part rewritten at another time kept the stamp")
	}
	if _, _, ok := viewKey("p", "q", []string{filepath.Join(dir, "gone.parquet")}); ok {
		t.Error("a file that is gone was stamped")
	}

	m := &viewMemo{views: map[string]memoView{}}
	m.put("k", "s1", "SELECT 1")
	if body, ok := m.get("k", "s1"); !ok || body != "SELECT 1" {
		t.Errorf("get after put = %q, %v", body, ok)
	}
	if _, ok := m.get("k", "s2"); ok {
		t.Error("a memo served files it was not described from")
	}
}
