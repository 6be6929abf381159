package spotifyfake

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec    string
		want    Faults
		wantErr string
	}{
		{spec: "", want: Faults{}},
		{spec: "none", want: Faults{}},
		{spec: "5xx=0.02,slow=0.01,truncated=0.03,malformed=0.04,slow_delay=2s,seed=9",
			want: Faults{ServerError: 0.02, Slow: 0.01, Truncated: 0.03, Malformed: 0.04, SlowDelay: 2 * time.Second, Seed: 9}},
		{spec: " truncate = 0.5 ", want: Faults{Truncated: 0.5}},
		{spec: "429=0.05,retry_after=2s", want: Faults{RateLimited: 0.05, RetryAfter: 2 * time.Second}},
		{spec: "5xx=0.1,429=0.05,slow=0.02,malformed=0.01,retry-after=1500ms",
			want: Faults{ServerError: 0.1, RateLimited: 0.05, Slow: 0.02, Malformed: 0.01, RetryAfter: 1500 * time.Millisecond}},
		{spec: "429=1.5", wantErr: "fault fraction 429=1.5: must be between 0 and 1"},
		{spec: "429=-0.1", wantErr: "between 0 and 1"},
		{spec: "429=0.5,5xx=0.3,slow=0.3", wantErr: "sum to"},
		{spec: "429=often", wantErr: "not a number"},
		{spec: "retry_after=soon", wantErr: "retry_after"},
		{spec: "retry_after=-1s", wantErr: "retry_after=-1s: must not be negative"},
		{spec: "5xx=2", wantErr: "between 0 and 1"},
		{spec: "5xx=0.6,slow=0.6", wantErr: "sum to"},
		{spec: "slow=lots", wantErr: "not a number"},
		{spec: "teapot=0.1", wantErr: `unknown key "teapot" (want 5xx, 429, slow, truncated, malformed, slow_delay, retry_after or seed)`},
		{spec: "5xx", wantErr: "not key=value"},
		{spec: "slow_delay=soon", wantErr: "slow_delay"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseFaults(tt.spec)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFaultsChoose(t *testing.T) {
	f := Faults{ServerError: 0.1, RateLimited: 0.1, Slow: 0.1, Truncated: 0.1, Malformed: 0.1}
	tests := []struct {
		u    float64
		want faultKind
	}{
		{0.05, faultServerError}, {0.15, faultRateLimited}, {0.25, faultSlow}, {0.35, faultTruncated},
		{0.45, faultMalformed}, {0.55, faultNone},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, f.choose(tt.u), tt.u)
	}
	// Without 429s the draws map to the other kinds as they always did.
	f.RateLimited = 0
	require.Equal(t, faultSlow, f.choose(0.15))
	require.True(t, Faults{RateLimited: 0.01}.Enabled())
	require.False(t, Faults{RetryAfter: time.Second}.Enabled())
}
