package contract

// The inputs and results of the pipeline's stages. Only references (lake
// keys), counts and small summaries travel through workflow history;
// payloads stay in the lake (claim-check).

// ResolveInput names the artists of a run.
type ResolveInput struct {
	Date string `json:"date"`
	// Artists are names or Spotify IDs; empty means the tracked set, or the
	// configured seeds when nothing is tracked yet.
	Artists []string `json:"artists,omitempty"`
	// Scope is the lake prefix of an on-demand request run,
	// RequestScope(run); empty is the daily lake.
	Scope string `json:"scope,omitempty"`
}

// ResolveResult points at the resolved artist list in the lake.
type ResolveResult struct {
	// ArtistsKey is the lake object holding the resolved Spotify IDs, one
	// a line, in batch order.
	ArtistsKey string `json:"artists_key"`
	Artists    int    `json:"artists"`
	Batches    int    `json:"batches"`
	BatchSize  int    `json:"batch_size"`
	// Mode is the Spotify API mode of this run: ModeExtended or
	// ModeDevelopment.
	Mode string `json:"mode"`
	// Unresolved are the names Spotify did not know or that were ambiguous.
	Unresolved []string `json:"unresolved,omitempty"`
	// Searches is the number of search calls made (cache misses).
	Searches int `json:"searches"`
	// Probes is the number of calls made to find the API mode (0 or 1).
	Probes int `json:"probes"`
	// Resolved says which requested entry resolved to which ID; only a
	// scoped (request) run reports it.
	Resolved []ResolvedArtist `json:"resolved,omitempty"`
}

// CollectInput is one batch of at most 50 artists.
type CollectInput struct {
	Date       string `json:"date"`
	ArtistsKey string `json:"artists_key"`
	Batch      int    `json:"batch"`
	BatchSize  int    `json:"batch_size"`
	Mode       string `json:"mode"`
	// Scope is the lake prefix of an on-demand request run,
	// RequestScope(run); empty is the daily lake.
	Scope string `json:"scope,omitempty"`
}

// CollectResult counts what one batch wrote to raw/.
type CollectResult struct {
	Batch int `json:"batch"`
	// Records by entity (artists, top_tracks, …).
	Records map[string]int `json:"records"`
	// Calls by endpoint.
	Calls       map[string]int `json:"calls"`
	Missing     []string       `json:"missing,omitempty"`
	Unavailable []string       `json:"unavailable,omitempty"`
	Bytes       int64          `json:"bytes"`
}

// CleanInput names the date whose raw objects are cleaned.
type CleanInput struct {
	Date string `json:"date"`
	Mode string `json:"mode"`
	// Batches is the number of collect batches of the run; raw objects of
	// higher batches are left over from an earlier, larger run of the date
	// and are removed first. 0 keeps every batch.
	Batches int `json:"batches,omitempty"`
	// LateCapture marks every curated row of the date as a late capture:
	// raw was captured after the date's capture window (--capture-now).
	LateCapture bool `json:"late_capture,omitempty"`
	// Scope is the lake prefix of an on-demand request run,
	// RequestScope(run); empty is the daily lake.
	Scope string `json:"scope,omitempty"`
}

// QualityReport is the data-quality report of the clean stage.
type QualityReport struct {
	RowsIn         map[string]int            `json:"rows_in"`
	RowsOut        map[string]int            `json:"rows_out"`
	Rejected       map[string]map[string]int `json:"rejected"`
	QuarantineKeys []string                  `json:"quarantine_keys,omitempty"`
}

// RejectedTotal is the number of rejected records over every entity.
func (q QualityReport) RejectedTotal() int {
	n := 0
	for _, reasons := range q.Rejected {
		for _, c := range reasons {
			n += c
		}
	}
	return n
}

// CleanResult is the clean stage's report.
type CleanResult struct {
	Report QualityReport `json:"report"`
	// CuratedKeys are the Parquet objects published, by table.
	CuratedKeys map[string][]string `json:"curated_keys"`
}

// StoreInput names the date whose curated tables go to the serving store.
type StoreInput struct {
	Date string `json:"date"`
	Mode string `json:"mode"`
	// Scope is the lake prefix of an on-demand request run,
	// RequestScope(run); empty is the daily lake.
	Scope string `json:"scope,omitempty"`
}

// StoreResult counts serving-store items written.
type StoreResult struct {
	Artists   int `json:"artists"`
	TopTracks int `json:"top_tracks"`
	Releases  int `json:"releases"`
	Tracked   int `json:"tracked"`
}

// AggregateInput names the date whose marts are built.
type AggregateInput struct {
	Date string `json:"date"`
}

// AggregateResult counts mart rows.
type AggregateResult struct {
	Rows    map[string]int64 `json:"rows"`
	Keys    []string         `json:"keys"`
	Similar int              `json:"similar"`
	// Skipped names the marts not published for the date, with why: a
	// genre mart when no artist of the date has genres (development mode),
	// rather than an empty mart that would read as "no genre".
	Skipped map[string]string `json:"skipped,omitempty"`
}

// ManifestInput is everything the run learned, for manifests/dt=D.
type ManifestInput struct {
	Date        string           `json:"date"`
	WorkflowID  string           `json:"workflow_id"`
	RunID       string           `json:"run_id"`
	Trigger     string           `json:"trigger"`
	StartedAt   string           `json:"started_at"`
	Resolve     ResolveResult    `json:"resolve"`
	Collect     CollectSummary   `json:"collect"`
	Clean       CleanResult      `json:"clean"`
	Store       StoreResult      `json:"store"`
	Aggregate   AggregateResult  `json:"aggregate"`
	StageMillis map[string]int64 `json:"stage_millis"`
	// Kind is capture, late_capture or reprocess; empty in manifests of
	// runs before kinds existed, which were all captures.
	Kind string `json:"kind,omitempty"`
	// TimeZone of the run's date, an IANA name; empty is UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Capture is the capture the run processed.
	Capture CaptureSummary `json:"capture"`
}

// CollectSummary adds up the batches of a run.
type CollectSummary struct {
	Batches     int            `json:"batches"`
	Records     map[string]int `json:"records"`
	Calls       map[string]int `json:"calls"`
	Missing     []string       `json:"missing,omitempty"`
	Unavailable []string       `json:"unavailable,omitempty"`
	Bytes       int64          `json:"bytes"`
}

// Add folds one batch into the summary.
func (s *CollectSummary) Add(r CollectResult) {
	s.Merge(CollectSummary{Batches: 1, Records: r.Records, Calls: r.Calls,
		Missing: r.Missing, Unavailable: r.Unavailable, Bytes: r.Bytes})
}

// Merge folds another summary, such as a chunk of the run's batches, into
// the summary.
func (s *CollectSummary) Merge(r CollectSummary) {
	s.Batches += r.Batches
	if s.Records == nil {
		s.Records = map[string]int{}
	}
	if s.Calls == nil {
		s.Calls = map[string]int{}
	}
	for k, v := range r.Records {
		s.Records[k] += v
	}
	for k, v := range r.Calls {
		s.Calls[k] += v
	}
	s.Missing = append(s.Missing, r.Missing...)
	for _, u := range r.Unavailable {
		if !contains(s.Unavailable, u) {
			s.Unavailable = append(s.Unavailable, u)
		}
	}
	s.Bytes += r.Bytes
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ManifestResult points at the manifest written.
type ManifestResult struct {
	Key string `json:"key"`
}
