package partitions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/lake/laketest"
)

// remoteStore hides the local directory, as an S3 lake has none.
type remoteStore struct{ *laketest.CountingStore }

func (remoteStore) LocalDir() (string, bool) { return "", false }

func put(t *testing.T, store lake.Store, key string, doc any) {
	t.Helper()
	body, err := json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, store.Put(context.Background(), key, bytes.NewReader(body)))
}

func manifest(date, kind string, tracks int) activities.Manifest {
	var m activities.Manifest
	m.Date, m.Kind, m.WorkflowID, m.RunID = date, kind, "pipeline-"+date, "run-"+date
	m.Clean.Report.RowsOut = map[string]int{"tracks": tracks}
	m.Clean.Report.Rejected = map[string]map[string]int{"tracks": {"missing_id": 2}}
	return m
}

func newLake(t *testing.T) *laketest.CountingStore {
	t.Helper()
	store, err := lake.Open(context.Background(), "file://"+t.TempDir())
	require.NoError(t, err)
	return &laketest.CountingStore{Store: store}
}

var day = func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }

func TestRangeStates(t *testing.T) {
	store := newLake(t)
	put(t, store, lake.CaptureKey("2026-10-03"), activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-03", Kind: contract.KindCapture}, CapturedAt: "2026-10-03T05:00:00Z"})
	put(t, store, lake.ManifestKey("2026-10-03"), manifest("2026-10-03", contract.KindCapture, 40))
	put(t, store, lake.CaptureKey("2026-10-02"), activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-02", Kind: contract.KindLateCapture}})
	require.NoError(t, store.Put(context.Background(), lake.ManifestKey("2026-10-04"), bytes.NewReader([]byte("{broken"))))

	dates, err := NewReader(store).Range(context.Background(), day("2026-10-01"), day("2026-10-04"))
	require.NoError(t, err)
	require.Len(t, dates, 4)
	tests := []struct {
		date              string
		captured, process bool
		status            string
		broken            bool
	}{
		{"2026-10-04", false, false, CaptureNone, true},
		{"2026-10-03", true, true, CaptureComplete, false},
		{"2026-10-02", true, false, CaptureLate, false},
		{"2026-10-01", false, false, CaptureNone, false},
	}
	for i, tt := range tests {
		d := dates[i]
		require.Equal(t, tt.date, d.Row.Date, "newest first")
		require.Equal(t, tt.captured, d.Row.Captured, tt.date)
		require.Equal(t, tt.process, d.Row.Processed, tt.date)
		require.Equal(t, tt.status, d.Row.CaptureStatus, tt.date)
		require.Equal(t, tt.broken, d.Row.Error != "", tt.date)
		require.Equal(t, tt.process, d.Manifest != nil, tt.date)
		require.Equal(t, tt.captured, d.Capture != nil, tt.date)
	}
	require.Equal(t, 2, dates[1].Row.Rejected)
	require.Equal(t, 40, dates[1].Row.Rows["tracks"])

	_, err = NewReader(store).One(context.Background(), "2026-13-01")
	require.Error(t, err, "a bad date is refused")
}

// A cached manifest is not read again until it is rewritten; then the row
// changes at once (local lake) or after the TTL (remote lake).
func TestCacheFollowsRewrites(t *testing.T) {
	ctx := context.Background()
	t.Run("local", func(t *testing.T) {
		store := newLake(t)
		put(t, store, lake.ManifestKey("2026-10-03"), manifest("2026-10-03", contract.KindCapture, 40))
		r := NewReader(store, WithCache(time.Hour))
		d, err := r.One(ctx, "2026-10-03")
		require.NoError(t, err)
		require.Equal(t, 40, d.Row.Rows["tracks"])
		before := store.Gets.Load()
		_, err = r.One(ctx, "2026-10-03")
		require.NoError(t, err)
		require.Equal(t, before, store.Gets.Load(), "an unchanged manifest is not read again")

		put(t, store, lake.ManifestKey("2026-10-03"), manifest("2026-10-03", contract.KindReprocess, 41000))
		d, err = r.One(ctx, "2026-10-03")
		require.NoError(t, err)
		require.Equal(t, 41000, d.Row.Rows["tracks"], "a rewritten manifest is read again")
		require.Equal(t, contract.KindReprocess, d.Row.Kind)

		put(t, store, lake.CaptureKey("2026-10-03"), activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-03", Kind: contract.KindCapture}})
		d, err = r.One(ctx, "2026-10-03")
		require.NoError(t, err)
		require.True(t, d.Row.Captured, "a new capture record shows at once")
	})
	t.Run("remote", func(t *testing.T) {
		local := newLake(t)
		store := remoteStore{local}
		put(t, store, lake.ManifestKey("2026-10-03"), manifest("2026-10-03", contract.KindCapture, 40))
		r := NewReader(store, WithCache(50*time.Millisecond))
		_, err := r.One(ctx, "2026-10-03")
		require.NoError(t, err)
		before := local.Gets.Load()
		_, err = r.One(ctx, "2026-10-03")
		require.NoError(t, err)
		require.Equal(t, before, local.Gets.Load(), "within the TTL the cached manifest is used")
		put(t, store, lake.ManifestKey("2026-10-03"), manifest("2026-10-03", contract.KindCapture, 7))
		require.Eventually(t, func() bool {
			d, err := r.One(ctx, "2026-10-03")
			return err == nil && d.Row.Rows["tracks"] == 7
		}, 5*time.Second, 20*time.Millisecond)
	})
}

func BenchmarkRangeCached(b *testing.B) {
	store, err := lake.Open(context.Background(), "file://"+b.TempDir())
	require.NoError(b, err)
	for i := range 30 {
		date := day("2026-10-01").AddDate(0, 0, i).Format("2006-01-02")
		body, _ := json.Marshal(manifest(date, contract.KindCapture, 100000))
		require.NoError(b, store.Put(context.Background(), lake.ManifestKey(date), bytes.NewReader(body)))
	}
	r := NewReader(store, WithCache(time.Hour))
	for b.Loop() {
		if _, err := r.Range(context.Background(), day("2026-10-01"), day("2026-10-30")); err != nil {
			b.Fatal(err)
		}
	}
}

// The cache holds at most maxCached documents, dropping the one used
// longest ago.
func TestCacheBound(t *testing.T) {
	store := newLake(t)
	r := NewReader(store, WithCache(time.Hour))
	first := day("2020-01-01")
	hot := first.Format("2006-01-02")
	for i := range maxCached + 10 {
		date := first.AddDate(0, 0, i).Format("2006-01-02")
		put(t, store, lake.ManifestKey(date), manifest(date, contract.KindCapture, i))
		_, err := r.One(context.Background(), date)
		require.NoError(t, err)
		// The first date is read again and again, as the grid's first page.
		time.Sleep(time.Millisecond)
		_, err = r.One(context.Background(), hot)
		require.NoError(t, err)
	}
	cached := func(date string) bool { _, ok := r.cache.entries[lake.ManifestKey(date)+"#whole"]; return ok }
	require.Len(t, r.cache.entries, maxCached)
	require.True(t, cached(hot), "a document in use stays")
	require.False(t, cached("2020-01-02"), "the one used longest ago is gone")
	require.True(t, cached(first.AddDate(0, 0, maxCached+9).Format("2006-01-02")))
}

// A range reads heads: no raw object lists; One reads them, and a whole
// document cached serves the heads after it.
func TestHeadsAndWhole(t *testing.T) {
	ctx := context.Background()
	store := newLake(t)
	c := activities.Capture{CaptureInput: contract.CaptureInput{Date: "2026-10-03", Kind: contract.KindCapture, WorkflowID: "w"},
		CapturedAt: "2026-10-03T05:00:00Z", Objects: []activities.RawObject{{Key: "raw/a", Size: 10}}, Bytes: 10}
	m := manifest("2026-10-03", contract.KindCapture, 40)
	m.RawObjects, m.CapturedAt, m.WrittenAt = c.Objects, c.CapturedAt, "2026-10-03T06:00:00Z"
	put(t, store, lake.CaptureKey("2026-10-03"), c)
	put(t, store, lake.ManifestKey("2026-10-03"), m)
	r := NewReader(store, WithCache(time.Hour))

	dates, err := r.Range(ctx, day("2026-10-03"), day("2026-10-03"))
	require.NoError(t, err)
	head := dates[0]
	require.Nil(t, head.Capture.Objects)
	require.Nil(t, head.Manifest.RawObjects)
	require.Equal(t, int64(10), head.Capture.Bytes, "every other field is read")
	require.Equal(t, "2026-10-03T06:00:00Z", head.Manifest.WrittenAt)
	require.Equal(t, 40, head.Manifest.Clean.Report.RowsOut["tracks"])

	whole, err := r.One(ctx, "2026-10-03")
	require.NoError(t, err)
	require.Equal(t, c.Objects, whole.Capture.Objects)
	require.Equal(t, c.Objects, whole.Manifest.RawObjects)
	require.Equal(t, head.Row, whole.Row, "the row is the same either way")

	before := store.Gets.Load()
	_, err = r.Range(ctx, day("2026-10-03"), day("2026-10-03"))
	require.NoError(t, err)
	require.Equal(t, before, store.Gets.Load(), "the whole documents serve the range")

	// An undecodable head reports the whole reader's error.
	require.NoError(t, store.Put(ctx, lake.ManifestKey("2026-10-03"), bytes.NewReader([]byte(`{"raw_objects": [}`))))
	dates, err = r.Range(ctx, day("2026-10-03"), day("2026-10-03"))
	require.NoError(t, err)
	require.Contains(t, dates[0].Row.Error, "decode manifest of 2026-10-03")
	require.Contains(t, dates[0].Row.Error, "starter backfill --from 2026-10-03 --to 2026-10-03 --rerun")
}

// cancelOnGet gives the read up (cancels its context) at its first Get.
type cancelOnGet struct {
	remoteStore
	cancel context.CancelFunc
}

func (s cancelOnGet) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	s.cancel()
	return s.remoteStore.Get(ctx, key)
}

// A date still waiting for one of the readers' slots when the read is
// given up is not read: only those already reading finish.
func TestRangeGivenUpReadsNoMoreDates(t *testing.T) {
	store := newLake(t)
	first, n := day("2026-01-01"), 3*readers
	for i := range n {
		date := first.AddDate(0, 0, i).Format("2006-01-02")
		put(t, store, lake.ManifestKey(date), manifest(date, contract.KindCapture, 40))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := NewReader(cancelOnGet{remoteStore{store}, cancel}).Range(ctx, first, first.AddDate(0, 0, n-1))
	require.ErrorIs(t, err, context.Canceled)
	require.LessOrEqual(t, store.Gets.Load(), int64(readers), "dates that waited for a slot were read after the read was given up")
	require.Positive(t, store.Gets.Load())
}
