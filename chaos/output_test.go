package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/tables"
)

func artistRow(t *testing.T, id, name, fetched string) string {
	t.Helper()
	var at time.Time
	if fetched != "" {
		var err error
		at, err = time.Parse(time.RFC3339, fetched)
		require.NoError(t, err)
	}
	s, err := canonical(tables.Artist{ArtistID: id, Name: name, Genres: []string{"pop"}, FetchedAt: at}, volatileRowField)
	require.NoError(t, err)
	return s
}

func TestCanonicalDropsVolatileFields(t *testing.T) {
	require.Equal(t, artistRow(t, "a", "A", "2026-03-01T10:00:00Z"), artistRow(t, "a", "A", "2026-03-01T11:30:00Z"))
	require.NotEqual(t, artistRow(t, "a", "A", ""), artistRow(t, "a", "B", ""))

	item := func(updated string, pop int) string {
		s, err := canonicalItem(serving.Item{PK: "ARTIST#a", SK: "META", DT: "2026-03-01",
			Attrs: map[string]any{"name": "A", "popularity": pop, "updated_at": updated}})
		require.NoError(t, err)
		return s
	}
	require.Equal(t, item("2026-03-01T10:00:00Z", 5), item("2026-03-02T10:00:00Z", 5))
	require.NotEqual(t, item("x", 5), item("x", 6))
}

func TestCompare(t *testing.T) {
	a, b, c := artistRow(t, "a", "A", ""), artistRow(t, "b", "B", ""), artistRow(t, "c", "C", "")
	changedB := artistRow(t, "b", "B2", "")
	ref := Output{
		Rows:     map[string][]string{tables.Artists: {a, b, c}},
		Items:    []string{"i1", "i2"},
		MartRows: map[string][]string{"artist_daily": {"m1", "m2"}},
		RowsOut:  map[string]int{tables.Artists: 3}, Records: map[string]int{"artists": 3},
		Marts: map[string]int64{"artist_daily": 3}, Artists: 3,
	}
	with := func(edit func(*Output)) Output {
		o := ref
		o.Rows = map[string][]string{tables.Artists: append([]string(nil), ref.Rows[tables.Artists]...)}
		o.Items = append([]string(nil), ref.Items...)
		o.MartRows = map[string][]string{"artist_daily": append([]string(nil), ref.MartRows["artist_daily"]...)}
		o.RowsOut = map[string]int{tables.Artists: 3}
		edit(&o)
		return o
	}
	tests := []struct {
		name                  string
		got                   Output
		lost, dup, iLost, iEx int
		mLost, mEx            int
		counts                int
	}{
		{name: "identical in another order", got: with(func(o *Output) {
			o.Rows[tables.Artists] = []string{c, a, b}
			o.Items = []string{"i2", "i1"}
		})},
		{name: "a row lost", got: with(func(o *Output) { o.Rows[tables.Artists] = []string{a, c} }), lost: 1},
		{name: "a row duplicated", got: with(func(o *Output) { o.Rows[tables.Artists] = []string{a, b, b, c} }), dup: 1},
		{name: "a row changed", got: with(func(o *Output) { o.Rows[tables.Artists] = []string{a, changedB, c} }), lost: 1, dup: 1},
		{name: "a table that should be empty", got: with(func(o *Output) { o.Rows[tables.Albums] = []string{"x"} }), dup: 1},
		{name: "items lost and extra", got: with(func(o *Output) { o.Items = []string{"i1", "i3", "i3"} }), iLost: 1, iEx: 2},
		{name: "a mart row changed, same count", got: with(func(o *Output) { o.MartRows["artist_daily"] = []string{"m1", "m3"} }), mLost: 1, mEx: 1},
		{name: "a mart row lost", got: with(func(o *Output) { o.MartRows["artist_daily"] = []string{"m2"} }), mLost: 1},
		{name: "a mart that should be empty", got: with(func(o *Output) { o.MartRows["genre_daily"] = []string{"g"} }), mEx: 1},
		{name: "a manifest count differs", got: with(func(o *Output) { o.RowsOut[tables.Artists] = 4 }), counts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Compare(ref, tt.got)
			require.Equal(t, tt.lost, d.RowsLost, "rows lost")
			require.Equal(t, tt.dup, d.RowsDuplicated, "rows duplicated")
			require.Equal(t, tt.iLost, d.ItemsLost, "items lost")
			require.Equal(t, tt.iEx, d.ItemsExtra, "items extra")
			require.Equal(t, tt.mLost, d.MartRowsLost, "mart rows lost")
			require.Equal(t, tt.mEx, d.MartRowsExtra, "mart rows extra")
			require.Len(t, d.Counts, tt.counts)
			require.Equal(t, tt.lost+tt.dup+tt.iLost+tt.iEx+tt.mLost+tt.mEx+tt.counts == 0, d.Identical(), d.String())
		})
	}
}

func TestDuplicates(t *testing.T) {
	o := Output{Rows: map[string][]string{"t": {"a", "a", "b"}, "u": {"c"}}, Items: []string{"x", "y", "y", "y"}}
	require.Equal(t, 3, Duplicates(o))
}

func TestReportTable(t *testing.T) {
	r := Report{
		{Scenario: "worker kill -9", Runs: 1, Faults: "5× SIGKILL", Rows: 10, Duration: 90e9, Reference: 10e9, Note: "kills at …"},
		{Scenario: "server restart", Err: "see the test log"},
	}
	table := r.Table()
	require.Contains(t, table, "| worker kill -9 | 1 | 5× SIGKILL | 10 | 0 | 0 | 0 / 0 | 0 / 0 | 0 | 1m30s (10s) |")
	require.Contains(t, table, "| server restart | 0 |  | 0 | n/a | n/a | n/a | n/a |")
	require.Contains(t, table, "- worker kill -9: kills at …")
	require.Contains(t, table, "- server restart FAILED: see the test log")
}
