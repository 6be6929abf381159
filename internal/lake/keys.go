package lake

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// DateLayout is the layout of the logical date D in keys (dt=YYYY-MM-DD).
const DateLayout = "2006-01-02"

// CheckDate reports whether dt is a valid logical date YYYY-MM-DD. The key
// helpers do not check their arguments; callers taking a date from outside
// check it once with CheckDate.
func CheckDate(dt string) error {
	t, err := time.Parse(DateLayout, dt)
	if err != nil || t.Format(DateLayout) != dt {
		return fmt.Errorf("logical date %q: want YYYY-MM-DD", dt)
	}
	return nil
}

// RawPrefix is the partition of one raw entity for date dt:
// raw/spotify/<entity>/dt=YYYY-MM-DD/.
func RawPrefix(entity, dt string) string {
	return "raw/spotify/" + entity + "/dt=" + dt + "/"
}

// RawKey is the raw object of one collect batch:
// raw/spotify/<entity>/dt=YYYY-MM-DD/batch=NNNNN.jsonl.gz.
func RawKey(entity, dt string, batch int) string {
	return RawPrefix(entity, dt) + batchName(batch)
}

// CuratedPrefix is the partition of a curated table: curated/<table>/dt=YYYY-MM-DD/.
func CuratedPrefix(table, dt string) string {
	return "curated/" + table + "/dt=" + dt + "/"
}

// QuarantinePrefix is the partition holding the rejected records of one
// raw entity: quarantine/<entity>/dt=YYYY-MM-DD/.
func QuarantinePrefix(entity, dt string) string {
	return "quarantine/" + entity + "/dt=" + dt + "/"
}

// QuarantineKey is the quarantine object of one raw batch:
// quarantine/<entity>/dt=YYYY-MM-DD/batch=NNNNN.jsonl.gz.
func QuarantineKey(entity, dt string, batch int) string {
	return QuarantinePrefix(entity, dt) + batchName(batch)
}

// MartPrefix is the partition of a mart: marts/<mart>/dt=YYYY-MM-DD/.
func MartPrefix(mart, dt string) string {
	return "marts/" + mart + "/dt=" + dt + "/"
}

// ManifestKey is the run manifest of date dt: manifests/dt=YYYY-MM-DD/pipeline.json.
func ManifestKey(dt string) string {
	return "manifests/dt=" + dt + "/pipeline.json"
}

// CaptureKey is the capture record of date dt:
// manifests/dt=YYYY-MM-DD/capture.json. It is written once the raw objects
// of a capture are complete, so a date with a capture record has a complete
// capture to reprocess.
func CaptureKey(dt string) string {
	return "manifests/dt=" + dt + "/capture.json"
}

// ManifestsRoot is the prefix of every manifest and capture record.
const ManifestsRoot = "manifests/"

// PartKey is the n-th Parquet part file of the partition prefix:
// <prefix>part-NNNNN.parquet.
func PartKey(prefix string, n int) string {
	return prefix + fmt.Sprintf("part-%05d.parquet", n)
}

// ParseBatchKey returns the batch number of a raw or quarantine object key
// (…/batch=NNNNN.jsonl.gz).
func ParseBatchKey(key string) (int, error) {
	name := path.Base(key)
	digits, ok := strings.CutPrefix(name, "batch=")
	if ok {
		digits, ok = strings.CutSuffix(digits, ".jsonl.gz")
	}
	if !ok || digits == "" {
		return 0, fmt.Errorf("key %q: want …/batch=NNNNN.jsonl.gz", key)
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("key %q: batch %q is not a non-negative number", key, digits)
	}
	return n, nil
}

func batchName(batch int) string {
	return fmt.Sprintf("batch=%05d.jsonl.gz", batch)
}
