package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/tables"
)

// Volatile fields differ between two runs over the same catalog and date by
// design (they record when a record was fetched or written), so they are
// left out of every comparison.
const (
	volatileRowField  = "fetched_at"
	volatileItemField = "updated_at"
)

// Output is what one run of a date left behind, in a form two runs can be
// compared by: the curated rows of each table, the rows of each mart and
// the serving store's items as canonical JSON (volatile fields dropped,
// sorted, so order does not matter), and the manifest's counts.
type Output struct {
	// Rows are the curated rows by table.
	Rows map[string][]string
	// MartRows are the rows of each mart (floats to 12 significant
	// digits: see roundFloats).
	MartRows map[string][]string
	// Items are every serving-store item.
	Items []string
	// RowsOut, Records and Marts are the manifest's counts: Clean.Report.
	// RowsOut, Collect.Records and Aggregate.Rows.
	RowsOut map[string]int
	Records map[string]int
	Marts   map[string]int64
	// Artists is the manifest's Resolve.Artists.
	Artists int
	// Rejected and QuarantineKeys are the manifest's record of what the
	// clean stage quarantined.
	Rejected       map[string]map[string]int
	QuarantineKeys []string
}

// RowCount is the number of curated rows over every table.
func (o Output) RowCount() int {
	n := 0
	for _, rows := range o.Rows {
		n += len(rows)
	}
	return n
}

// MartRowCount is the number of mart rows over every mart.
func (o Output) MartRowCount() int {
	n := 0
	for _, rows := range o.MartRows {
		n += len(rows)
	}
	return n
}

// ReadOutput reads the output of date from a lake and a serving store.
func ReadOutput(ctx context.Context, store lake.Store, srv *serving.Store, date string) (Output, error) {
	out := Output{Rows: map[string][]string{}}
	readers := map[string]func(string) ([]string, error){
		tables.Artists:         func(k string) ([]string, error) { return readRows[tables.Artist](ctx, store, k) },
		tables.Albums:          func(k string) ([]string, error) { return readRows[tables.Album](ctx, store, k) },
		tables.Tracks:          func(k string) ([]string, error) { return readRows[tables.Track](ctx, store, k) },
		tables.ArtistTopTracks: func(k string) ([]string, error) { return readRows[tables.ArtistTopTrack](ctx, store, k) },
		tables.AudioFeatures:   func(k string) ([]string, error) { return readRows[tables.AudioFeature](ctx, store, k) },
	}
	for _, table := range tables.All {
		read, ok := readers[table]
		if !ok {
			return out, fmt.Errorf("read output of %s: no row type for table %s", date, table)
		}
		keys, err := store.List(ctx, lake.CuratedPrefix(table, date))
		if err != nil {
			return out, fmt.Errorf("list curated %s of %s: %w", table, date, err)
		}
		var rows []string
		for _, k := range keys {
			r, err := read(k)
			if err != nil {
				return out, err
			}
			rows = append(rows, r...)
		}
		sort.Strings(rows)
		out.Rows[table] = rows
	}

	marts, err := readMarts(ctx, store, date)
	if err != nil {
		return out, err
	}
	out.MartRows = marts

	items, err := srv.Items(ctx, "")
	if err != nil {
		return out, fmt.Errorf("read serving items: %w", err)
	}
	for _, it := range items {
		s, err := canonicalItem(it)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, s)
	}
	sort.Strings(out.Items)

	m, err := activities.ReadManifest(ctx, store, date)
	if err != nil {
		return out, err
	}
	out.RowsOut = m.Clean.Report.RowsOut
	out.Records = m.Collect.Records
	out.Marts = m.Aggregate.Rows
	out.Artists = m.Resolve.Artists
	out.Rejected = m.Clean.Report.Rejected
	out.QuarantineKeys = m.Clean.Report.QuarantineKeys
	return out, nil
}

// readRows reads one Parquet object into canonical JSON rows.
func readRows[T any](ctx context.Context, store lake.Store, key string) ([]string, error) {
	var rows []string
	err := lake.ReadParquet(ctx, store, key, func(r T) error {
		s, err := canonical(r, volatileRowField)
		if err != nil {
			return fmt.Errorf("row of %s: %w", key, err)
		}
		rows = append(rows, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return rows, nil
}

func canonicalItem(it serving.Item) (string, error) {
	attrs := maps.Clone(it.Attrs)
	delete(attrs, volatileItemField)
	s, err := canonical(map[string]any{"pk": it.PK, "sk": it.SK, "dt": it.DT, "attrs": attrs})
	if err != nil {
		return "", fmt.Errorf("item %s/%s: %w", it.PK, it.SK, err)
	}
	return s, nil
}

// canonical is v as JSON with object keys sorted and the named top-level
// fields dropped.
func canonical(v any, drop ...string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return "", err
	}
	for _, f := range drop {
		delete(m, f)
	}
	// encoding/json writes map keys sorted, at every depth.
	b, err = json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Diff is how a run's output differs from a reference run's.
type Diff struct {
	// RowsLost are reference rows the run lacks; RowsDuplicated are rows
	// the run holds more often than the reference (a changed row counts
	// as one lost and one extra).
	RowsLost, RowsDuplicated int
	// MartRowsLost and MartRowsExtra compare the marts' rows the same
	// way: a mart row with another value counts as one lost, one extra.
	MartRowsLost, MartRowsExtra int
	// ItemsLost and ItemsExtra compare the serving store's items.
	ItemsLost, ItemsExtra int
	// Counts lists the manifest counts that differ.
	Counts []string
	// Examples are a few differing rows or items, for the failure message.
	Examples []string
}

// Identical reports whether nothing differs.
func (d Diff) Identical() bool {
	return d.RowsLost == 0 && d.RowsDuplicated == 0 && d.MartRowsLost == 0 && d.MartRowsExtra == 0 &&
		d.ItemsLost == 0 && d.ItemsExtra == 0 && len(d.Counts) == 0
}

// String summarizes the difference.
func (d Diff) String() string {
	if d.Identical() {
		return "identical"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rows lost %d, rows duplicated %d, mart rows lost %d, mart rows extra %d, items lost %d, items extra %d",
		d.RowsLost, d.RowsDuplicated, d.MartRowsLost, d.MartRowsExtra, d.ItemsLost, d.ItemsExtra)
	for _, c := range d.Counts {
		b.WriteString("\n  count ")
		b.WriteString(c)
	}
	for _, e := range d.Examples {
		b.WriteString("\n  ")
		b.WriteString(e)
	}
	return b.String()
}

const maxExamples = 6

// Compare compares got with the reference want, order-independently.
func Compare(want, got Output) Diff {
	var d Diff
	for _, table := range sortedKeys(want.Rows, got.Rows) {
		lost, extra := multisetDiff(want.Rows[table], got.Rows[table])
		d.RowsLost += len(lost)
		d.RowsDuplicated += len(extra)
		d.example("lost "+table+" row", lost)
		d.example("extra "+table+" row", extra)
	}
	for _, mart := range sortedKeys(want.MartRows, got.MartRows) {
		lost, extra := matchNearFloats(multisetDiff(want.MartRows[mart], got.MartRows[mart]))
		d.MartRowsLost += len(lost)
		d.MartRowsExtra += len(extra)
		d.example("lost "+mart+" mart row", lost)
		d.example("extra "+mart+" mart row", extra)
	}
	lost, extra := multisetDiff(want.Items, got.Items)
	d.ItemsLost, d.ItemsExtra = len(lost), len(extra)
	d.example("lost item", lost)
	d.example("extra item", extra)

	d.counts("rows_out", toInt64(want.RowsOut), toInt64(got.RowsOut))
	d.counts("records", toInt64(want.Records), toInt64(got.Records))
	d.counts("marts", want.Marts, got.Marts)
	if want.Artists != got.Artists {
		d.Counts = append(d.Counts, fmt.Sprintf("artists: want %d, got %d", want.Artists, got.Artists))
	}
	return d
}

func (d *Diff) example(what string, rows []string) {
	for _, r := range rows {
		if len(d.Examples) >= maxExamples {
			return
		}
		d.Examples = append(d.Examples, what+": "+r)
	}
}

func (d *Diff) counts(name string, want, got map[string]int64) {
	for _, k := range sortedKeys(want, got) {
		if want[k] != got[k] {
			d.Counts = append(d.Counts, fmt.Sprintf("%s[%s]: want %d, got %d", name, k, want[k], got[k]))
		}
	}
}

// multisetDiff returns the elements of want missing from got and those of
// got beyond want, counting repeats.
func multisetDiff(want, got []string) (lost, extra []string) {
	n := make(map[string]int, len(want))
	for _, w := range want {
		n[w]++
	}
	for _, g := range got {
		if n[g] > 0 {
			n[g]--
			continue
		}
		extra = append(extra, g)
	}
	for _, w := range want {
		if n[w] > 0 {
			n[w]--
			lost = append(lost, w)
		}
	}
	return lost, extra
}

// Duplicates counts the rows of o that repeat another row of the same
// table: a clean, de-duplicated output has none, whatever the reference.
func Duplicates(o Output) int {
	n := 0
	for _, rows := range o.Rows {
		for i := 1; i < len(rows); i++ {
			if rows[i] == rows[i-1] {
				n++
			}
		}
	}
	for i := 1; i < len(o.Items); i++ {
		if o.Items[i] == o.Items[i-1] {
			n++
		}
	}
	return n
}

func toInt64(m map[string]int) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(v)
	}
	return out
}

func sortedKeys[V any](ms ...map[string]V) []string {
	set := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			set[k] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
