package serving

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Item is one item of the single table, as both backends store it.
//
// Attrs values are one of string, int64, float64, bool or []string; an
// absent attribute is simply missing from the map (empty strings, empty
// lists and nil pointers are not stored). Numbers read back as int64 when
// they are whole and float64 otherwise, on both backends alike.
type Item struct {
	PK string
	SK string
	// DT is the logical date (YYYY-MM-DD) of the data the item holds; empty
	// for items that are not dated (name cache, tracked set, requests).
	// Conditional writes compare it: an older DT never replaces a newer one.
	DT    string
	Attrs map[string]any
}

// key is the primary key of an item.
type key struct{ PK, SK string }

func (it Item) key() key { return key{it.PK, it.SK} }

// Reserved attribute names: the key and the date are columns of their own.
const (
	attrPK = "PK"
	attrSK = "SK"
	attrDT = "dt"
)

// table is the low-level single table under Store. Every method is
// idempotent. The keys of one call are distinct (BatchWriteItem refuses a
// repeated key), in any order; Store dedupes before calling.
type table interface {
	// put writes items unconditionally, batched.
	put(ctx context.Context, items []Item) error
	// putIfNotOlder writes each item unless the stored item with its key has
	// a later DT (an equal DT is rewritten). It reports per item whether it
	// was written.
	putIfNotOlder(ctx context.Context, items []Item) ([]bool, error)
	// delete removes the keys unconditionally, batched.
	delete(ctx context.Context, keys []key) error
	// deleteIfNotNewer removes each key unless the stored item has a DT later
	// than dt. It returns how many items were removed.
	deleteIfNotNewer(ctx context.Context, keys []key, dt string) (int, error)
	// get reads one item.
	get(ctx context.Context, k key) (Item, bool, error)
	// query reads the items of one partition whose SK starts with skPrefix,
	// in SK order.
	query(ctx context.Context, pk, skPrefix string) ([]Item, error)
	// queryKeys is query for the keys alone.
	queryKeys(ctx context.Context, pk, skPrefix string) ([]key, error)
	// scan reads every item whose PK starts with pkPrefix, in (PK, SK) order.
	scan(ctx context.Context, pkPrefix string) ([]Item, error)
	// createTable creates the table if missing.
	createTable(ctx context.Context) error
	close() error
}

func validateItem(it Item) error {
	if it.PK == "" || it.SK == "" {
		return fmt.Errorf("item (%q, %q): PK and SK must not be empty", it.PK, it.SK)
	}
	for name, v := range it.Attrs {
		if name == attrPK || name == attrSK || name == attrDT {
			return fmt.Errorf("item (%q, %q): attribute name %q is reserved", it.PK, it.SK, name)
		}
		switch v := v.(type) {
		case string, int64, bool, []string:
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("item (%q, %q): attribute %q is %v, not a finite number", it.PK, it.SK, name, v)
			}
		default:
			return fmt.Errorf("item (%q, %q): attribute %q has unsupported type %T", it.PK, it.SK, name, v)
		}
	}
	return nil
}

// lastPerKey keeps the last item of each key, in first-seen order: a batch
// request may not name a key twice.
func lastPerKey(items []Item) []Item {
	idx := make(map[key]int, len(items))
	out := make([]Item, 0, len(items))
	for _, it := range items {
		if i, ok := idx[it.key()]; ok {
			out[i] = it
			continue
		}
		idx[it.key()] = len(out)
		out = append(out, it)
	}
	return out
}

func uniqueKeys(keys []key) []key {
	seen := make(map[key]bool, len(keys))
	out := make([]key, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func sortItems(items []Item) {
	slices.SortFunc(items, func(a, b Item) int {
		return cmp.Or(cmp.Compare(a.PK, b.PK), cmp.Compare(a.SK, b.SK))
	})
}

// parseNumber turns a stored number into the canonical Go value: int64
// when whole, float64 otherwise. Both backends use it so numbers read back
// identically.
func parseNumber(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("parse number %q: %w", s, err)
	}
	return f, nil
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Typed attribute accessors: a missing or mistyped attribute reads as the
// zero value, so an item written by an older version still reads.

func attrString(a map[string]any, name string) string {
	s, _ := a[name].(string)
	return s
}

func attrStrings(a map[string]any, name string) []string {
	s, _ := a[name].([]string)
	return s
}

func attrInt(a map[string]any, name string) (int64, bool) {
	switch v := a[name].(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	}
	return 0, false
}

func attrFloat(a map[string]any, name string) float64 {
	switch v := a[name].(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// attrs builds an attribute map, leaving out empty values.
type attrs map[string]any

func (a attrs) str(name, v string) attrs {
	if v != "" {
		a[name] = v
	}
	return a
}

func (a attrs) strs(name string, v []string) attrs {
	if len(v) > 0 {
		a[name] = slices.Clone(v)
	}
	return a
}

func (a attrs) num(name string, v int64) attrs {
	a[name] = v
	return a
}

func (a attrs) optInt(name string, v *int) attrs {
	if v != nil {
		a[name] = int64(*v)
	}
	return a
}

func (a attrs) optInt64(name string, v *int64) attrs {
	if v != nil {
		a[name] = *v
	}
	return a
}

func (a attrs) float(name string, v float64) attrs {
	a[name] = v
	return a
}
