package activities

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/tables"
)

// Storing a date in groups of artists writes exactly the items of storing
// it at once, in both API modes.
func TestStoreInGroupsWritesTheSameItems(t *testing.T) {
	if testing.Short() {
		t.Skip("component test over the fake Spotify API and SQLite")
	}
	const date = "2026-11-01"
	for _, mode := range []string{"extended", "development"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, mode, 60)
			h.run(t, date)
			storeWith := func(group int) []serving.Item {
				srv, err := serving.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "serving.db"))
				require.NoError(t, err)
				defer srv.Close()
				a := *h.acts
				a.Serving, a.Settings.StoreGroup = srv, group
				res, err := a.Store(ctx, contract.StoreInput{Date: date, Mode: mode})
				require.NoError(t, err)
				require.Equal(t, 60, res.Artists)
				items, err := srv.Items(ctx, "")
				require.NoError(t, err)
				return items
			}
			whole := storeWith(0)
			require.NotEmpty(t, whole)
			for _, group := range []int{1, 7, 59} {
				require.Equal(t, whole, storeWith(group), "store group %d", group)
			}
		})
	}
}

// The narrow rows Store reads name only columns of their tables, with the
// same types: a renamed column would otherwise read as zero values.
func TestStoreRowsAreColumnsOfTheirTables(t *testing.T) {
	tests := []struct {
		narrow any
		table  any
	}{
		{topTrackRank{}, tables.ArtistTopTrack{}},
		{topTrackDetail{}, tables.Track{}},
		{releaseRow{}, tables.Album{}},
	}
	for _, tt := range tests {
		name := reflect.TypeOf(tt.narrow).Name()
		t.Run(name, func(t *testing.T) {
			table := parquet.SchemaOf(tt.table)
			for _, col := range parquet.SchemaOf(tt.narrow).Fields() {
				want, ok := table.Lookup(col.Name())
				require.True(t, ok, "column %s of %s is not in %s", col.Name(), name, table.Name())
				got, _ := parquet.SchemaOf(tt.narrow).Lookup(col.Name())
				require.Equal(t, want.Node.Type().String(), got.Node.Type().String(), col.Name())
				require.Equal(t, want.Node.Optional(), got.Node.Optional(), col.Name())
			}
		})
	}
}
