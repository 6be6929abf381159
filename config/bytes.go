package config

import (
	"fmt"
	"strconv"
	"strings"
)

// byteUnits are the suffixes parseBytes accepts, longest first.
var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// parseBytes parses a size such as "256MiB", "512MB" or "1GiB"; empty is 0.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	for _, u := range byteUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("size %q: want a positive number before %s", s, u.suffix)
		}
		return int64(n * float64(u.factor)), nil
	}
	return 0, fmt.Errorf("size %q: want a unit (KiB, MiB, GiB, KB, MB, GB or B)", s)
}
