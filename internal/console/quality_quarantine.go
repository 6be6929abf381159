package console

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
)

// quarantinePageSize is how many quarantined records /quality/D shows per
// page.
const quarantinePageSize = 50

// quarantinedRecord is one line of a quarantine object as the page shows
// it: the record, or a line of the object that does not decode.
type quarantinedRecord struct {
	curate.QuarantineRecord
	// Object is the quarantine object holding the line, Line its 1-based
	// position there.
	Object string
	Line   int
	// Unreadable is why the quarantine line itself does not decode.
	Unreadable string
}

// Content is the rejected data as the page shows it: the record's data,
// or the raw line that did not decode, cut to a readable length.
func (q quarantinedRecord) Content() string {
	s := string(q.Data)
	if s == "" {
		s = q.QuarantineRecord.Line
	}
	const most = 600
	if r := []rune(s); len(r) > most {
		return string(r[:most]) + "…"
	}
	return s
}

// quarantineObject is a quarantine object of a date and the number of its
// lines.
type quarantineObject struct {
	Key   string
	Lines int
}

// quarantineIndex is the quarantine of one date: its objects in the
// manifest's (read) order and their line counts, so a page reads only the
// objects it shows.
type quarantineIndex struct {
	objects []quarantineObject
	total   int
}

// quarantinePage is one page of a date's quarantined records.
type quarantinePage struct {
	Records []quarantinedRecord
	Page    int // 1-based
	Pages   int
	Total   int
	First   int // 1-based position of the first record shown; 0 on an empty page
}

// errPageFull ends a read once the page has its records.
var errPageFull = errors.New("page full")

// countersAtOnce is how many quarantine objects newQuarantineIndex
// counts at a time: a date of 100,000 artists has thousands of small
// objects, and opening one waits on the disk.
const countersAtOnce = 4

// newQuarantineIndex counts the lines of each quarantine object. A key
// the manifest names but the lake no longer holds is an error: the
// quarantine of the date is not what its manifest says.
func newQuarantineIndex(ctx context.Context, store lake.Store, keys []string) (quarantineIndex, error) {
	idx := quarantineIndex{objects: make([]quarantineObject, len(keys))}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(countersAtOnce)
	for i, key := range keys {
		g.Go(func() error {
			n, err := countQuarantineLines(ctx, store, key)
			if err != nil {
				return fmt.Errorf("count quarantine %s: %w", key, err)
			}
			idx.objects[i] = quarantineObject{Key: key, Lines: n}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return quarantineIndex{}, err
	}
	for _, obj := range idx.objects {
		idx.total += obj.Lines
	}
	return idx, nil
}

// countQuarantineLines counts the lines ReadJSONL gives of an object, its
// blank lines aside, without decoding them. An object whose gzip stream
// does not read to its end is counted by ReadJSONL itself, which gives
// its damaged tail as one more line.
func countQuarantineLines(ctx context.Context, store lake.Store, key string) (int, error) {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return countDecodedLines(ctx, store, key)
	}
	n, blank := 0, true
	buf := make([]byte, 32<<10)
	for {
		k, rerr := zr.Read(buf)
		for _, b := range buf[:k] {
			switch b {
			case '\n':
				if !blank {
					n++
				}
				blank = true
			case ' ', '\t', '\r', '\v', '\f':
			default:
				blank = false
			}
		}
		if rerr == io.EOF {
			if !blank {
				n++
			}
			return n, nil
		}
		if rerr != nil {
			return countDecodedLines(ctx, store, key)
		}
	}
}

// countDecodedLines counts the lines of an object as ReadJSONL reads
// them, a damaged tail included.
func countDecodedLines(ctx context.Context, store lake.Store, key string) (int, error) {
	n := 0
	count := func(json.RawMessage) error { n++; return nil }
	countBad := func(lake.MalformedLine) error { n++; return nil }
	err := lake.ReadJSONL(ctx, store, key, count, countBad)
	return n, err
}

// pages is the number of pages of the index, at least 1.
func (idx quarantineIndex) pages() int {
	return max(1, (idx.total+quarantinePageSize-1)/quarantinePageSize)
}

// page reads page n (1-based) of the records: it skips whole objects by
// their counts and reads only those the page covers. ok is false when the
// page is beyond the last.
func (idx quarantineIndex) page(ctx context.Context, store lake.Store, n int) (p quarantinePage, ok bool, err error) {
	p = quarantinePage{Page: n, Pages: idx.pages(), Total: idx.total}
	if n < 1 || n > p.Pages {
		return p, false, nil
	}
	skip := (n - 1) * quarantinePageSize
	if idx.total > 0 {
		p.First = skip + 1
	}
	for _, obj := range idx.objects {
		if len(p.Records) == quarantinePageSize {
			break
		}
		if skip >= obj.Lines {
			skip -= obj.Lines
			continue
		}
		line := 0
		keep := func(r quarantinedRecord) error {
			line++
			if line <= skip {
				return nil
			}
			r.Object, r.Line = obj.Key, line
			p.Records = append(p.Records, r)
			if len(p.Records) == quarantinePageSize {
				return errPageFull
			}
			return nil
		}
		record := func(q curate.QuarantineRecord) error { return keep(quarantinedRecord{QuarantineRecord: q}) }
		bad := func(m lake.MalformedLine) error {
			return keep(quarantinedRecord{QuarantineRecord: curate.QuarantineRecord{Line: string(m.Text)}, Unreadable: m.Err.Error()})
		}
		err := lake.ReadJSONL(ctx, store, obj.Key, record, bad)
		if err != nil && !errors.Is(err, errPageFull) {
			return p, false, fmt.Errorf("read quarantine %s: %w", obj.Key, err)
		}
		skip = 0
	}
	return p, true, nil
}

// quarantineIndexes caches the index of each date's quarantine by the
// manifest it was built from: a date's quarantine changes only with a new
// run of the date, which writes a new manifest.
type quarantineIndexes struct {
	mu    sync.Mutex
	byDay map[string]stampedIndex
}

type stampedIndex struct {
	stamp string
	idx   quarantineIndex
}

// get returns the index of date's quarantine for the manifest stamped
// stamp, counting the objects keys when it has none yet.
func (q *quarantineIndexes) get(ctx context.Context, store lake.Store, date, stamp string, keys []string) (quarantineIndex, error) {
	q.mu.Lock()
	cached, ok := q.byDay[date]
	q.mu.Unlock()
	if ok && cached.stamp == stamp {
		return cached.idx, nil
	}
	idx, err := newQuarantineIndex(ctx, store, keys)
	if err != nil {
		return quarantineIndex{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.byDay == nil {
		q.byDay = map[string]stampedIndex{}
	}
	q.byDay[date] = stampedIndex{stamp: stamp, idx: idx}
	return idx, nil
}
