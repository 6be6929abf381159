package analytics

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

func TestNewDuckDBOptions(t *testing.T) {
	tmp := t.TempDir()
	d := newTestDuckDB(t, WithThreads(1), WithMemoryLimit("256MiB"), WithTempDir(tmp))
	res := mustQuery(t, d, t.TempDir(), "SELECT current_setting('threads'), current_setting('memory_limit'), current_setting('temp_directory')")
	if got := res.Rows[0]; got[0] != int64(1) || got[1] != "256.0 MiB" || got[2] != tmp {
		t.Errorf("settings = %v, want 1 thread, 256.0 MiB, %s", got, tmp)
	}

	for _, tc := range []struct {
		name string
		opt  Option
		want string
	}{
		{"memory limit", WithMemoryLimit("lots"), "lots"},
		{"threads", WithThreads(-1), "-1"},
		{"block size", WithSimilarityBlockSize(1), "block size 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDuckDB(tc.opt)
			if err == nil {
				d.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCloseRemovesOwnTempDir(t *testing.T) {
	d, err := NewDuckDB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Query(context.Background(), t.TempDir(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.tempDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temp dir %s after Close: %v", d.tempDir, err)
	}
	// A closed engine does not bring its dir back (see ensure).
	if err := d.ensureTempDir(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("ensureTempDir after Close: %v, want an error saying the engine is closed", err)
	}
	if _, err := os.Stat(d.tempDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temp dir %s recreated after Close: %v", d.tempDir, err)
	}
}
