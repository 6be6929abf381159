package activities

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/lake"
)

// ListPartitions finds the dates of a range, its ends included, and none
// outside it, whether the range shares a month, a year or nothing.
func TestListPartitionsRange(t *testing.T) {
	ctx := context.Background()
	store, err := lake.Open(ctx, "file://"+t.TempDir())
	require.NoError(t, err)
	for _, d := range []string{"2025-12-31", "2026-01-01", "2026-09-30", "2026-10-01", "2026-10-31", "2026-11-01"} {
		require.NoError(t, store.Put(ctx, lake.CaptureKey(d), strings.NewReader("{}")))
	}
	require.NoError(t, store.Put(ctx, lake.ManifestKey("2026-10-01"), strings.NewReader("{}")))
	for _, tt := range []struct {
		from, to string
		want     []string
	}{
		{"2026-10-01", "2026-10-31", []string{"2026-10-01", "2026-10-31"}},
		{"2026-10-01", "2026-10-01", []string{"2026-10-01"}},
		{"2026-01-01", "2026-10-01", []string{"2026-01-01", "2026-09-30", "2026-10-01"}},
		{"2025-12-31", "2026-11-01", []string{"2025-12-31", "2026-01-01", "2026-09-30", "2026-10-01", "2026-10-31", "2026-11-01"}},
		{"", "2026-01-01", []string{"2025-12-31", "2026-01-01"}},
		{"2026-10-31", "", []string{"2026-10-31", "2026-11-01"}},
	} {
		got, err := ListPartitions(ctx, store, tt.from, tt.to)
		require.NoError(t, err)
		require.Equal(t, tt.want, got.Captured, "%s .. %s", tt.from, tt.to)
	}
	got, err := ListPartitions(ctx, store, "2026-10-01", "2026-10-31")
	require.NoError(t, err)
	require.Equal(t, []string{"2026-10-01"}, got.Processed)
}
