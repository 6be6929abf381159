package nearly

import "testing"

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"floats an ulp apart", 0.1 + 0.2, 0.3, true},
		{"floats apart", 1.0, 1.001, false},
		{"large floats, relative", 1e12, 1e12 + 1e2, true},
		{"float and int", 1.0, int64(1), false},
		{"lists", []any{1.0, "a"}, []any{1.0000000000001, "a"}, true},
		{"lists of other lengths", []any{1.0}, []any{1.0, 2.0}, false},
		{"maps", map[string]any{"x": 0.3}, map[string]any{"x": 0.1 + 0.2}, true},
		{"maps with other keys", map[string]any{"x": 1.0}, map[string]any{"y": 1.0}, false},
		{"other scalars", int64(3), int64(3), true},
		{"other scalars apart", "a", "b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal(%v, %v) = %t, want %t", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
