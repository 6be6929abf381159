package contract

// Kinds of work on a logical date D. A run says which one it does in its
// progress, its result and the manifest.
const (
	// KindCapture: Spotify was called during D or its grace.
	KindCapture = "capture"
	// KindLateCapture: Spotify was called after D's capture window
	// (--capture-now); the present state is labelled D.
	KindLateCapture = "late_capture"
	// KindReprocess: curated, serving and marts rebuilt from D's raw.
	KindReprocess = "reprocess"
)

// CaptureInput completes the capture of a date.
type CaptureInput struct {
	Date       string         `json:"date"`
	Kind       string         `json:"kind"`
	Mode       string         `json:"mode"`
	Artists    int            `json:"artists"`
	Batches    int            `json:"batches"`
	BatchSize  int            `json:"batch_size"`
	Calls      map[string]int `json:"calls,omitempty"`
	WorkflowID string         `json:"workflow_id"`
	RunID      string         `json:"run_id"`
}

// FetchWindow is the first and last fetched_at of a capture's raw records,
// RFC 3339 with nanoseconds, UTC.
type FetchWindow struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

// CaptureSummary is what travels through history of a capture record.
type CaptureSummary struct {
	Key         string      `json:"key"`
	Kind        string      `json:"kind"`
	LateCapture bool        `json:"late_capture"`
	CapturedAt  string      `json:"captured_at"`
	Window      FetchWindow `json:"window"`
	Mode        string      `json:"mode"`
	Artists     int         `json:"artists"`
	Batches     int         `json:"batches"`
	BatchSize   int         `json:"batch_size"`
	Objects     int         `json:"objects"`
	Bytes       int64       `json:"bytes"`
}

// PartitionState is what the lake holds of a date.
type PartitionState struct {
	Date string `json:"date"`
	// Captured: the date has a complete capture (a capture record).
	Captured bool           `json:"captured"`
	Capture  CaptureSummary `json:"capture"`
}

// PartitionsInput is a range of dates, inclusive.
type PartitionsInput struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// PartitionsResult lists the dates of a range that the lake holds.
type PartitionsResult struct {
	// Captured are the dates with a complete capture, in order.
	Captured []string `json:"captured"`
	// Processed are the dates with a run manifest, in order.
	Processed []string `json:"processed"`
}
