package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestQuotaWaitLine(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	tests := []struct {
		name  string
		until time.Time
		want  string
	}{
		{"no wait", time.Time{}, ""},
		{"today", now.Add(90 * time.Minute), "waiting for the Spotify quota until 12:00 UTC (in 1h30m0s)"},
		{"given in another zone, shown in UTC", now.Add(time.Hour).In(berlin), "waiting for the Spotify quota until 11:30 UTC (in 1h0m0s)"},
		{"tomorrow", now.Add(15 * time.Hour), "waiting for the Spotify quota until 01:30 UTC on 2026-11-03 (in 15h0m0s)"},
		{"over, not yet retried", now.Add(-time.Second), "waiting for the Spotify quota until 10:29 UTC (due now)"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, quotaWaitLine(tt.until, now), tt.name)
	}
}
