// Package nearly compares decoded values the way two engines' results of
// one computation should compare: equal, but for floats a few ulps apart
// (a sum taken in another order, a division done in another precision).
package nearly

import (
	"math"
	"reflect"
)

// Tolerance is the relative difference two floats may have and still be
// the same value.
const Tolerance = 1e-9

// Equal compares a and b, which have the shapes encoding/json and
// database/sql decode to ([]any, map[string]any, scalars): floats within
// Tolerance, slices and maps element by element, anything else with
// reflect.DeepEqual.
func Equal(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Abs(a-b) <= Tolerance*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !Equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			if bv, ok := b[k]; !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
