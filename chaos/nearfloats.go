package chaos

import (
	"encoding/json"

	"github.com/metronome-data/metronome/internal/nearly"
)

// matchNearFloats removes from lost and extra the pairs of rows that are
// equal but for floats within nearly.Tolerance: the same row computed in
// another order, not a row lost and another added. Rows are canonical JSON.
// DuckDB sums in the order it reads the curated parts, so the same rows laid
// out in other parts (a clean resumed from staged segments, say) give
// results a few ulps apart, and rounding to a fixed number of digits does
// not hide that: a value next to a rounding boundary rounds either way.
func matchNearFloats(lost, extra []string) (stillLost, stillExtra []string) {
	if len(lost) == 0 || len(extra) == 0 {
		return lost, extra
	}
	type row struct {
		v    any
		ok   bool // v decoded
		used bool
	}
	rows := make([]*row, len(extra))
	// Candidates are grouped by the row without its numbers, so only rows
	// that can match are compared.
	byShape := map[string][]*row{}
	for i, e := range extra {
		r := &row{}
		r.ok = json.Unmarshal([]byte(e), &r.v) == nil
		rows[i] = r
		if r.ok {
			byShape[shape(r.v)] = append(byShape[shape(r.v)], r)
		}
	}
	for _, l := range lost {
		var v any
		matched := false
		if json.Unmarshal([]byte(l), &v) == nil {
			for _, r := range byShape[shape(v)] {
				if !r.used && nearly.Equal(v, r.v) {
					r.used, matched = true, true
					break
				}
			}
		}
		if !matched {
			stillLost = append(stillLost, l)
		}
	}
	for i, r := range rows {
		if !r.used {
			stillExtra = append(stillExtra, extra[i])
		}
	}
	return stillLost, stillExtra
}

// shape is v as JSON with every number replaced by 0.
func shape(v any) string {
	b, _ := json.Marshal(mapFloats(v, func(float64) any { return 0 }))
	return string(b)
}

// mapFloats is v, a decoded JSON or DuckDB value, with f applied to every
// float at any depth.
func mapFloats(v any, f func(float64) any) any {
	switch v := v.(type) {
	case float64:
		return f(v)
	case float32:
		return f(float64(v))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = mapFloats(e, f)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = mapFloats(e, f)
		}
		return out
	}
	return v
}
