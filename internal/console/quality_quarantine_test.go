package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
)

// writeQuarantine writes quarantine objects of date with the given numbers
// of records, each record naming its object and position, and returns
// their keys.
func writeQuarantine(t *testing.T, store lake.Store, date string, counts ...int) []string {
	t.Helper()
	var keys []string
	for b, n := range counts {
		key := lake.QuarantineKey(curate.EntityArtists, date, b)
		recs := make([]curate.QuarantineRecord, n)
		for i := range recs {
			recs[i] = curate.QuarantineRecord{Reason: curate.ReasonInvalidID, Detail: fmt.Sprintf("object %d record %d", b, i+1),
				Entity: curate.EntityArtists, Source: lake.RawKey(curate.EntityArtists, date, b), Record: i + 1,
				Data: []byte(`{"id":"bad"}`)}
		}
		if _, err := lake.WriteJSONL(context.Background(), store, key, recs); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	return keys
}

func newFileLake(t *testing.T) lake.Store {
	t.Helper()
	store, err := lake.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func TestQuarantinePages(t *testing.T) {
	ctx := context.Background()
	store := newFileLake(t)
	const date = "2026-11-20"
	keys := writeQuarantine(t, store, date, 30, 45, 1) // 76 records: pages of 50 and 26
	idx, err := newQuarantineIndex(ctx, store, keys)
	if err != nil {
		t.Fatal(err)
	}
	if idx.total != 76 || idx.pages() != 2 {
		t.Fatalf("index: %d records in %d pages, want 76 in 2", idx.total, idx.pages())
	}
	tests := []struct {
		page            int
		wantOK          bool
		wantN           int
		wantFirstDetail string
		wantLastDetail  string
		wantFirst       int
	}{
		{1, true, 50, "object 0 record 1", "object 1 record 20", 1},
		{2, true, 26, "object 1 record 21", "object 2 record 1", 51},
		{3, false, 0, "", "", 0},
		{0, false, 0, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("page ", tt.page), func(t *testing.T) {
			p, ok, err := idx.page(ctx, store, tt.page)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK || len(p.Records) != tt.wantN {
				t.Fatalf("page %d: ok %v with %d records, want %v with %d", tt.page, ok, len(p.Records), tt.wantOK, tt.wantN)
			}
			if !ok {
				return
			}
			if p.First != tt.wantFirst || p.Pages != 2 || p.Total != 76 {
				t.Errorf("page %d: first %d of %d in %d pages, want first %d of 76 in 2", tt.page, p.First, p.Total, p.Pages, tt.wantFirst)
			}
			first, last := p.Records[0], p.Records[len(p.Records)-1]
			if first.Detail != tt.wantFirstDetail || last.Detail != tt.wantLastDetail {
				t.Errorf("page %d runs from %q to %q, want %q to %q", tt.page, first.Detail, last.Detail, tt.wantFirstDetail, tt.wantLastDetail)
			}
			for _, r := range p.Records {
				if r.Source == "" || r.Reason != curate.ReasonInvalidID || r.Object == "" || r.Content() != `{"id":"bad"}` {
					t.Fatalf("record %+v: want reason, source, object and content", r)
				}
			}
		})
	}
}

func TestQuarantineEmptyAndUnreadable(t *testing.T) {
	ctx := context.Background()
	store := newFileLake(t)
	idx, err := newQuarantineIndex(ctx, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, ok, err := idx.page(ctx, store, 1)
	if err != nil || !ok || len(p.Records) != 0 || p.Pages != 1 || p.First != 0 {
		t.Fatalf("empty quarantine page 1: %+v ok=%v err=%v, want an empty first page", p, ok, err)
	}

	// A line of a quarantine object that does not decode is shown, not
	// skipped, and counted like the others.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintln(zw, `{"reason":"missing_field","source":"raw/spotify/artists/dt=2026-11-20/batch=00000.jsonl.gz"}`)
	fmt.Fprintln(zw, `{not json`)
	zw.Close()
	key := lake.QuarantineKey(curate.EntityArtists, "2026-11-20", 0)
	if err := store.Put(ctx, key, &buf); err != nil {
		t.Fatal(err)
	}
	if idx, err = newQuarantineIndex(ctx, store, []string{key}); err != nil {
		t.Fatal(err)
	}
	p, _, err = idx.page(ctx, store, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 2 || p.Records[1].Unreadable == "" || p.Records[1].Content() != "{not json" || p.Records[1].Line != 2 {
		t.Fatalf("records %+v: want the good one and the unreadable line 2", p.Records)
	}

	// A key the manifest names but the lake lost is an error, not an
	// empty page.
	if _, err := newQuarantineIndex(ctx, store, []string{lake.QuarantineKey(curate.EntityArtists, "2026-11-20", 7)}); err == nil {
		t.Fatal("index of a missing object: no error")
	}
}

func TestQuarantineIndexCache(t *testing.T) {
	ctx := context.Background()
	store := newFileLake(t)
	keys := writeQuarantine(t, store, "2026-11-20", 3)
	var cache quarantineIndexes
	idx, err := cache.get(ctx, store, "2026-11-20", "m1", keys)
	if err != nil || idx.total != 3 {
		t.Fatalf("first get: %d records, %v", idx.total, err)
	}
	// The same manifest: the cached counts, even though the object grew.
	keys = writeQuarantine(t, store, "2026-11-20", 5)
	if idx, _ = cache.get(ctx, store, "2026-11-20", "m1", keys); idx.total != 3 {
		t.Errorf("same manifest: %d records, want the cached 3", idx.total)
	}
	// A new manifest: counted again.
	if idx, _ = cache.get(ctx, store, "2026-11-20", "m2", keys); idx.total != 5 {
		t.Errorf("new manifest: %d records, want 5", idx.total)
	}
}

// The fast line count agrees with what a page reads, whatever the shape
// of the object: blank lines, no final newline, a truncated gzip stream.
func TestQuarantineCountsAgreeWithReads(t *testing.T) {
	ctx := context.Background()
	store := newFileLake(t)
	gz := func(text string) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		fmt.Fprint(zw, text)
		zw.Close()
		return buf.Bytes()
	}
	line := `{"reason":"invalid_id","source":"raw/spotify/artists/dt=2026-11-20/batch=00000.jsonl.gz","record":1}`
	many := strings.Repeat(line+"\n", 500)
	tests := map[string][]byte{
		"blank lines":      gz(line + "\n\n  \n" + line + "\n\t\r\n"),
		"no final newline": gz(line + "\n" + line),
		"truncated":        gz(many)[:len(gz(many))/2],
		"not gzip":         []byte("plain text\n"),
		"empty":            gz(""),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			key := lake.QuarantineKey(curate.EntityArtists, "2026-11-20", len(name))
			if err := store.Put(ctx, key, bytes.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			idx, err := newQuarantineIndex(ctx, store, []string{key})
			if err != nil {
				if name == "not gzip" {
					return // ReadJSONL refuses it too: the page says so
				}
				t.Fatal(err)
			}
			read := 0
			for n := 1; n <= idx.pages(); n++ {
				p, _, err := idx.page(ctx, store, n)
				if err != nil {
					t.Fatal(err)
				}
				read += len(p.Records)
			}
			if read != idx.total {
				t.Errorf("counted %d lines, the pages read %d", idx.total, read)
			}
		})
	}
}
