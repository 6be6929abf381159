package activities

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// lakePath is the file of key in the harness's file lake.
func (h *harness) lakePath(t *testing.T, key string) string {
	t.Helper()
	root, ok := h.acts.Lake.LocalDir()
	require.True(t, ok)
	return filepath.Join(root, filepath.FromSlash(key))
}

// completeLines counts the lines of a damaged gzip object that decompress
// whole and decode, as a reader that stops at the damage sees them (bytes
// flipped in a deflate stream can garble a line before gzip notices).
func completeLines(t *testing.T, b []byte) int {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return 0 // not even a gzip header
	}
	br := bufio.NewReader(zr)
	n := 0
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			require.False(t, errors.Is(err, io.EOF) && len(line) == 0, "the object is not damaged")
			return n
		}
		if json.Valid(line) {
			n++
		}
	}
}

// A raw object cut short (a crash mid-upload, a full disk): Clean keeps
// the records of its complete lines and quarantines the rest with a reason
// naming the object, instead of failing the date.
func TestCleanSalvagesATruncatedRawObject(t *testing.T) {
	tests := []struct {
		name string
		cut  func(b []byte) []byte
	}{
		{"cut at 60%", func(b []byte) []byte { return b[:len(b)*6/10] }},
		{"trailer missing", func(b []byte) []byte { return b[:len(b)-8] }},
		{"not gzip at all", func([]byte) []byte { return []byte("<html>503 Service Unavailable</html>") }},
		{"empty", func([]byte) []byte { return nil }},
		{"bytes flipped mid-stream", func(b []byte) []byte {
			c := append([]byte(nil), b...)
			for i := len(c) / 2; i < len(c)/2+64; i++ {
				c[i] ^= 0xff
			}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, "extended", 40)
			// How many lines flipped bytes garble depends on the compressed
			// bytes, which change with every run's fetched_at: the reject
			// cap would fail the date now and then. Salvage is the point
			// here; the cap has tests of its own.
			h.acts.Settings.MaxRejectRate = 1
			const date = "2026-03-01"
			resolved, err := h.acts.Resolve(ctx, contract.ResolveInput{Date: date})
			require.NoError(t, err)
			for b := range resolved.Batches {
				_, err := h.acts.CollectBatch(ctx, contract.CollectInput{Date: date, ArtistsKey: resolved.ArtistsKey, Batch: b,
					BatchSize: resolved.BatchSize, Mode: resolved.Mode})
				require.NoError(t, err)
			}
			key := lake.RawKey(curate.EntityArtists, date, 0)
			path := h.lakePath(t, key)
			whole, err := os.ReadFile(path)
			require.NoError(t, err)
			damaged := tt.cut(whole)
			require.NoError(t, os.WriteFile(path, damaged, 0o644))
			kept := completeLines(t, damaged)

			res, err := h.acts.Clean(ctx, contract.CleanInput{Date: date, Mode: resolved.Mode})
			require.NoError(t, err)
			require.Equal(t, 1, res.Report.Rejected[curate.EntityArtists][curate.ReasonCorruptObject])
			require.Equal(t, kept, res.Report.RowsOut[tables.Artists], "the complete lines are kept")

			qkey := lake.QuarantineKey(curate.EntityArtists, date, 0)
			require.Contains(t, res.Report.QuarantineKeys, qkey)
			var corrupt []curate.QuarantineRecord
			require.NoError(t, lake.ReadJSONL(ctx, h.acts.Lake, qkey, func(q curate.QuarantineRecord) error {
				if q.Reason == curate.ReasonCorruptObject {
					corrupt = append(corrupt, q)
				}
				return nil
			}, nil))
			require.Len(t, corrupt, 1)
			require.Equal(t, key, corrupt[0].Source)
			require.Contains(t, corrupt[0].Detail, key, "the reason names the object")
			require.Contains(t, corrupt[0].Detail, "corrupt or truncated")
		})
	}
}

// A garbage file among the curated parts: Store and Aggregate fail with an
// error naming the part, not a panic or a bare decoder message.
func TestStoreAndAggregateNameAGarbagePart(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, "extended", 20)
	const date = "2026-03-02"
	in := h.run(t, date)
	tests := []struct {
		name  string
		table string
		run   func() error
	}{
		{"Store over a garbage artists part", tables.Artists, func() error {
			_, err := h.acts.Store(ctx, contract.StoreInput{Date: date, Mode: in.Resolve.Mode})
			return err
		}},
		{"Aggregate over a garbage tracks part", tables.Tracks, func() error {
			_, err := h.acts.Aggregate(ctx, contract.AggregateInput{Date: date})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := h.acts.Lake.List(ctx, lake.CuratedPrefix(tt.table, date))
			require.NoError(t, err)
			require.NotEmpty(t, keys)
			path := h.lakePath(t, keys[0])
			good, err := os.ReadFile(path)
			require.NoError(t, err)
			t.Cleanup(func() { _ = os.WriteFile(path, good, 0o644) })
			require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("not parquet at all\n", 50)), 0o644))

			err = tt.run()
			require.Error(t, err)
			require.Contains(t, err.Error(), keys[0], "the error names the part")
		})
	}
}

// A manifest that is not JSON: ReadManifest names its key.
func TestReadManifestNamesAnUnreadableManifest(t *testing.T) {
	ctx := context.Background()
	store, err := lake.Open(ctx, "file://"+t.TempDir())
	require.NoError(t, err)
	const date = "2026-03-03"
	for _, body := range []string{"{not json", "", "\x1f\x8b\x08garbage", `{"date": 7}`} {
		require.NoError(t, store.Put(ctx, lake.ManifestKey(date), strings.NewReader(body)))
		_, err := ReadManifest(ctx, store, date)
		require.Error(t, err, "%q", body)
		require.Contains(t, err.Error(), lake.ManifestKey(date), "%q", body)
		require.Contains(t, err.Error(), "not a valid manifest", "%q", body)
	}
}
