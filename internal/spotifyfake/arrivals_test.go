package spotifyfake

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWorstWindow(t *testing.T) {
	at := func(ms ...int) []time.Time {
		base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		var out []time.Time
		for _, m := range ms {
			out = append(out, base.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	tests := []struct {
		name  string
		times []time.Time
		want  int
	}{
		{name: "none", want: 0},
		{name: "one", times: at(5), want: 1},
		{name: "all within", times: at(0, 100, 999), want: 3},
		{name: "the window is half-open", times: at(0, 1000), want: 1},
		{name: "a burst later", times: at(0, 500, 2000, 2001, 2002, 2999), want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, _ := WorstWindow(tt.times, time.Second)
			require.Equal(t, tt.want, n)
		})
	}
}
