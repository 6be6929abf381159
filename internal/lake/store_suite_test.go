package lake_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/lake"
)

// runStoreSuite is the one behaviour contract of a Store; every backend runs
// it, so the embedded default cannot drift from S3. newStore returns a fresh,
// empty store.
func runStoreSuite(t *testing.T, newStore func(t *testing.T) lake.Store) {
	ctx := context.Background()

	t.Run("PutGetOverwrite", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "a/b/c.txt", "one")
		if got := get(t, s, "a/b/c.txt"); got != "one" {
			t.Fatalf("Get = %q, want %q", got, "one")
		}
		put(t, s, "a/b/c.txt", "two")
		if got := get(t, s, "a/b/c.txt"); got != "two" {
			t.Fatalf("Get after overwrite = %q, want %q", got, "two")
		}
		put(t, s, "empty", "")
		if got := get(t, s, "empty"); got != "" {
			t.Fatalf("Get empty object = %q", got)
		}
	})

	t.Run("GetMissingIsErrNotFound", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "a/b", "x")
		for _, key := range []string{"nope", "a", "a/b/c"} {
			_, err := s.Get(ctx, key)
			if !errors.Is(err, lake.ErrNotFound) {
				t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
			}
		}
	})

	t.Run("ListPrefixSorted", func(t *testing.T) {
		s := newStore(t)
		keys := []string{
			"raw/spotify/artists/dt=2026-11-01/batch=00002.jsonl.gz",
			"raw/spotify/artists/dt=2026-11-01/batch=00000.jsonl.gz",
			"raw/spotify/artists/dt=2026-11-011/batch=00000.jsonl.gz",
			"raw/spotify/albums/dt=2026-11-01/batch=00000.jsonl.gz",
			"curated/artists/dt=2026-11-01/part-00000.parquet",
		}
		for _, k := range keys {
			put(t, s, k, k)
		}
		tests := []struct {
			prefix string
			want   []string
		}{
			{"raw/spotify/artists/dt=2026-11-01/", []string{keys[1], keys[0]}},
			{"raw/spotify/artists/dt=2026-11-01", []string{keys[1], keys[0], keys[2]}},
			{"raw/spotify/a", []string{keys[3], keys[1], keys[0], keys[2]}},
			{"", []string{keys[4], keys[3], keys[1], keys[0], keys[2]}},
			{"marts/", nil},
			{"raw/spotify/artists/dt=2026-11-01/batch=00002.jsonl.gz", []string{keys[0]}},
		}
		for _, tt := range tests {
			got, err := s.List(ctx, tt.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tt.prefix, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("List(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		s := newStore(t)
		for _, key := range []string{"", "/abs", "a/../b", "a//b", "a/", "./a", `a\b`, "a/.lake-tmp-x"} {
			if err := s.Put(ctx, key, strings.NewReader("x")); err == nil {
				t.Errorf("Put(%q) succeeded, want an error", key)
			}
			if _, err := s.Get(ctx, key); err == nil || errors.Is(err, lake.ErrNotFound) {
				t.Errorf("Get(%q) error = %v, want an invalid-key error", key, err)
			}
		}
		if _, err := s.List(ctx, "../"); err == nil {
			t.Error("List(../) succeeded, want an error")
		}
	})

	t.Run("DeleteAndDeletePrefix", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"p/dt=1/a", "p/dt=1/b/c", "p/dt=10/a", "q/a"} {
			put(t, s, k, "x")
		}
		if err := s.Delete(ctx, "q/a"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "q/a"); err != nil {
			t.Fatalf("Delete of a missing object: %v", err)
		}
		if err := s.DeletePrefix(ctx, "p/dt=1/"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePrefix(ctx, "nothing/"); err != nil {
			t.Fatalf("DeletePrefix of an empty prefix: %v", err)
		}
		if got := list(t, s, ""); !slices.Equal(got, []string{"p/dt=10/a"}) {
			t.Fatalf("after deletes List = %q, want only p/dt=10/a", got)
		}
	})

	t.Run("ReplacePrefix", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"part-0", "part-1", "part-2"} {
			put(t, s, "t/dt=1/"+k, "old "+k)
		}
		put(t, s, "t/dt=2/part-0", "other partition")
		put(t, s, "stage/x/t/dt=1/part-0", "new part-0")
		put(t, s, "stage/x/t/dt=1/part-1", "new part-1")
		if err := s.ReplacePrefix(ctx, "stage/x/t/dt=1/", "t/dt=1/"); err != nil {
			t.Fatal(err)
		}
		want := []string{"t/dt=1/part-0", "t/dt=1/part-1", "t/dt=2/part-0"}
		if got := list(t, s, ""); !slices.Equal(got, want) {
			t.Fatalf("after ReplacePrefix List = %q, want %q", got, want)
		}
		if got := get(t, s, "t/dt=1/part-1"); got != "new part-1" {
			t.Fatalf("replaced object = %q, want the staged content", got)
		}
		// Nothing staged: the partition ends up empty.
		if err := s.ReplacePrefix(ctx, "stage/y/t/dt=1/", "t/dt=1/"); err != nil {
			t.Fatal(err)
		}
		if got := list(t, s, ""); !slices.Equal(got, []string{"t/dt=2/part-0"}) {
			t.Fatalf("after empty ReplacePrefix List = %q", got)
		}
		for _, pair := range [][2]string{{"t/", "t/dt=2/"}, {"a", "b/"}, {"a/", "b"}} {
			if err := s.ReplacePrefix(ctx, pair[0], pair[1]); err == nil {
				t.Errorf("ReplacePrefix(%q, %q) succeeded, want an error", pair[0], pair[1])
			}
		}
	})

	t.Run("LargeObject", func(t *testing.T) {
		s := newStore(t)
		// Larger than two S3 multipart parts of 5 MiB.
		data := make([]byte, 11<<20+123)
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, "big/blob", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, "big/blob"); got != string(data) {
			t.Fatalf("large object round trip: got %d bytes, want %d identical bytes", len(got), len(data))
		}
	})

	t.Run("RawRoundTrip", func(t *testing.T) {
		s := newStore(t)
		fetched := time.Date(2026, 11, 1, 10, 11, 12, 123456789, time.FixedZone("CET", 3600))
		recs := []lake.RawRecord{
			{DT: "2026-11-01", Batch: 3, FetchedAt: fetched, Endpoint: "/v1/artists/x", Key: "x",
				Data: json.RawMessage(`{"id":"x","name":"Tom & Jerry <3"}`)},
			{DT: "2026-11-01", Batch: 3, FetchedAt: fetched, Endpoint: "/v1/artists/y", Key: "y",
				Data: json.RawMessage(`{"id":"y","genres":[]}`)},
		}
		key := lake.RawKey("artists", "2026-11-01", 3)
		n, err := lake.WriteRaw(ctx, s, key, recs)
		if err != nil {
			t.Fatal(err)
		}
		if n <= 0 {
			t.Fatalf("WriteRaw reported %d bytes", n)
		}
		var got []lake.RawRecord
		err = lake.ReadRaw(ctx, s, key, func(r lake.RawRecord) error {
			got = append(got, r)
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(recs) {
			t.Fatalf("read %d records, want %d", len(got), len(recs))
		}
		for i := range recs {
			if !got[i].FetchedAt.Equal(recs[i].FetchedAt) || got[i].FetchedAt.Location() != time.UTC {
				t.Errorf("record %d fetched_at = %v, want %v in UTC", i, got[i].FetchedAt, recs[i].FetchedAt)
			}
			if string(got[i].Data) != string(recs[i].Data) {
				t.Errorf("record %d data = %s, want the API object byte for byte %s", i, got[i].Data, recs[i].Data)
			}
			if got[i].Key != recs[i].Key || got[i].Batch != 3 || got[i].DT != "2026-11-01" || got[i].Endpoint != recs[i].Endpoint {
				t.Errorf("record %d envelope = %+v", i, got[i])
			}
		}
	})

	t.Run("PartitionWriterPublish", func(t *testing.T) {
		s := newStore(t)
		prefix := lake.CuratedPrefix("things", "2026-11-01")
		write := func(n int) *lake.PartitionWriter[thing] {
			t.Helper()
			published := list(t, s, prefix)
			w, err := lake.NewPartitionWriter[thing](s, prefix, lake.WithPartRows(1000), lake.WithRowGroupRows(300))
			if err != nil {
				t.Fatal(err)
			}
			rows := make([]thing, n)
			for i := range rows {
				rows[i] = thing{ID: int64(i), Name: "n"}
			}
			// Uneven slices, so parts fill across Write calls.
			for len(rows) > 0 {
				k := min(len(rows), 700)
				if err := w.Write(ctx, rows[:k]); err != nil {
					t.Fatal(err)
				}
				rows = rows[k:]
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := list(t, s, prefix); !slices.Equal(got, published) {
				t.Fatalf("before Publish the partition lists %q, want what was published before: %q", got, published)
			}
			if err := w.Publish(ctx); err != nil {
				t.Fatal(err)
			}
			return w
		}

		w := write(2500)
		want := []string{lake.PartKey(prefix, 0), lake.PartKey(prefix, 1), lake.PartKey(prefix, 2)}
		if got := list(t, s, prefix); !slices.Equal(got, want) {
			t.Fatalf("published partition = %q, want %q", got, want)
		}
		if !slices.Equal(w.Keys(), want) || w.Rows() != 2500 {
			t.Fatalf("writer Keys = %q, Rows = %d", w.Keys(), w.Rows())
		}
		if got := list(t, s, lake.StagingRoot); len(got) != 0 {
			t.Fatalf("staging left behind: %q", got)
		}
		if n := countRows[thing](t, s, prefix); n != 2500 {
			t.Fatalf("partition holds %d rows, want 2500", n)
		}

		// A re-run with fewer rows replaces the partition whole.
		write(10)
		want = []string{lake.PartKey(prefix, 0)}
		if got := list(t, s, prefix); !slices.Equal(got, want) {
			t.Fatalf("re-published partition = %q, want %q", got, want)
		}
		if n := countRows[thing](t, s, prefix); n != 10 {
			t.Fatalf("re-published partition holds %d rows, want 10", n)
		}
	})

	t.Run("PartitionWriterAbort", func(t *testing.T) {
		s := newStore(t)
		prefix := lake.CuratedPrefix("things", "2026-11-02")
		w, err := lake.NewPartitionWriter[thing](s, prefix, lake.WithPartRows(2))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, []thing{{ID: 1}, {ID: 2}, {ID: 3}}); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if got := list(t, s, ""); len(got) != 0 {
			t.Fatalf("after Abort the store holds %q, want nothing", got)
		}
	})
}

type thing struct {
	ID   int64  `parquet:"id"`
	Name string `parquet:"name"`
}

func countRows[T any](t *testing.T, s lake.Store, prefix string) int {
	t.Helper()
	n := 0
	for _, k := range list(t, s, prefix) {
		err := lake.ReadParquet(context.Background(), s, k, func(T) error { n++; return nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func put(t *testing.T, s lake.Store, key, content string) {
	t.Helper()
	if err := s.Put(context.Background(), key, strings.NewReader(content)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t *testing.T, s lake.Store, key string) string {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return string(b)
}

func list(t *testing.T, s lake.Store, prefix string) []string {
	t.Helper()
	keys, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}
