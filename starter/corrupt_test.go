package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// `starter query` over a curated table with a garbage part fails with exit
// code 1 and names the file; `starter partitions` over a manifest that is
// not JSON names its key. Neither panics.
func TestCommandsNameACorruptObject(t *testing.T) {
	ctx := context.Background()
	const date = "2026-10-05"
	garbage := lake.PartKey(lake.CuratedPrefix(tables.Artists, date), 1)
	tests := []struct {
		name    string
		corrupt func(t *testing.T, store lake.Store)
		args    []string
		want    []string // in the output, stdout and stderr together
	}{
		{"query over a garbage part",
			func(t *testing.T, store lake.Store) {
				require.NoError(t, store.Put(ctx, garbage, strings.NewReader(strings.Repeat("not parquet\n", 40))))
			},
			[]string{"query", "select count(*) as n from artists"},
			[]string{garbage}},
		{"query over an empty part",
			func(t *testing.T, store lake.Store) {
				require.NoError(t, store.Put(ctx, garbage, strings.NewReader("")))
			},
			[]string{"query", "select count(*) as n from artists"},
			[]string{garbage}},
		{"partitions over a manifest that is not JSON",
			func(t *testing.T, store lake.Store) {
				require.NoError(t, store.Put(ctx, lake.ManifestKey(date), strings.NewReader("\x00\x01 not json")))
			},
			[]string{"partitions", "--from", date, "--to", date},
			[]string{lake.ManifestKey(date), "is not a valid manifest", "starter backfill --from " + date}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := partitionsLake(t)
			good := lake.PartKey(lake.CuratedPrefix(tables.Artists, date), 0)
			require.NoError(t, lake.WriteParquet(ctx, store, good, []tables.Artist{{ArtistID: "4Z8W4fKeB5YxbusRsdQVPb", Name: "Radiohead"}}))
			tt.corrupt(t, store)
			r := starter(tt.args...)
			require.Equal(t, 1, r.code, "stdout %s\nstderr %s", r.stdout, r.stderr)
			out := r.stdout + r.stderr
			for _, w := range tt.want {
				require.Contains(t, out, w)
			}
			require.NotContains(t, out, "panic")
		})
	}
}
