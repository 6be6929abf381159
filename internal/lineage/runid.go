package lineage

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// RunID derives a run's UUID from what identifies it, e.g. a Temporal
// workflow ID, run ID and activity ID: a retry of the activity, on any
// worker, reports the same run instead of inventing a new one. It is a
// version 7 UUID, as the spec recommends, whose time is at (the activity's
// scheduled time, which its retries share) and whose random bits are a
// SHA-256 of the parts.
func RunID(at time.Time, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	var u [16]byte
	copy(u[6:], h[:10])
	ms := uint64(max(at.UnixMilli(), 0))
	binary.BigEndian.PutUint16(u[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(u[2:6], uint32(ms))
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant RFC 9562
	s := hex.EncodeToString(u[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// ParentRunID is the run ID of a workflow run as a parent: Temporal's own
// run ID, a UUID, so the two can be looked up one from the other; one
// derived from the IDs when it is not a UUID (the SDK's test environment).
func ParentRunID(workflowID, runID string) string {
	if uuidPattern.MatchString(runID) {
		return strings.ToLower(runID)
	}
	return RunID(time.Time{}, workflowID, runID)
}
