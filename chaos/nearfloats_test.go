package chaos

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatchNearFloats(t *testing.T) {
	tests := []struct {
		name               string
		lost, extra        []string
		wantLost, wantXtra []string
	}{
		{
			name:  "a few ulps apart: the same row",
			lost:  []string{`{"id":"a","rank":2,"score":0.643009236481}`},
			extra: []string{`{"id":"a","rank":2,"score":0.64300923648}`},
		},
		{
			name:     "another score: lost and extra",
			lost:     []string{`{"id":"a","rank":2,"score":0.64}`},
			extra:    []string{`{"id":"a","rank":2,"score":0.65}`},
			wantLost: []string{`{"id":"a","rank":2,"score":0.64}`},
			wantXtra: []string{`{"id":"a","rank":2,"score":0.65}`},
		},
		{
			name:     "another rank: lost and extra",
			lost:     []string{`{"id":"a","rank":2,"score":0.5}`},
			extra:    []string{`{"id":"a","rank":3,"score":0.5}`},
			wantLost: []string{`{"id":"a","rank":2,"score":0.5}`},
			wantXtra: []string{`{"id":"a","rank":3,"score":0.5}`},
		},
		{
			name:     "another string: lost and extra",
			lost:     []string{`{"id":"a","score":0.5}`},
			extra:    []string{`{"id":"b","score":0.5}`},
			wantLost: []string{`{"id":"a","score":0.5}`},
			wantXtra: []string{`{"id":"b","score":0.5}`},
		},
		{
			name:     "each extra row matches one lost row",
			lost:     []string{`{"id":"a","score":0.30000000000000004}`, `{"id":"a","score":0.3}`},
			extra:    []string{`{"id":"a","score":0.3}`},
			wantLost: []string{`{"id":"a","score":0.3}`},
		},
		{
			name:     "only lost",
			lost:     []string{`{"id":"a"}`},
			wantLost: []string{`{"id":"a"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lost, extra := matchNearFloats(tt.lost, tt.extra)
			require.Equal(t, tt.wantLost, lost)
			require.Equal(t, tt.wantXtra, extra)
		})
	}
}
