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
		{spec: "5xx=2", wantErr: "between 0 and 1"},
		{spec: "5xx=0.6,slow=0.6", wantErr: "sum to"},
		{spec: "slow=lots", wantErr: "not a number"},
		{spec: "teapot=0.1", wantErr: `unknown key "teapot"`},
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
	f := Faults{ServerError: 0.1, Slow: 0.1, Truncated: 0.1, Malformed: 0.1}
	tests := []struct {
		u    float64
		want faultKind
	}{
		{0.05, faultServerError}, {0.15, faultSlow}, {0.25, faultTruncated}, {0.35, faultMalformed}, {0.45, faultNone},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, f.choose(tt.u), tt.u)
	}
}
