package chaos

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// ReportEnv names the file the report table is written to when set.
const ReportEnv = "METRONOME_CHAOS_REPORT"

// Result is one scenario's line of the report.
type Result struct {
	Scenario string
	// Runs is how many pipeline runs the scenario made under faults.
	Runs int
	// Faults says what was injected, with counts.
	Faults string
	// RowsLost and RowsDuplicated compare the curated rows with the
	// reference run's; ItemsLost and ItemsExtra the serving store's items.
	RowsLost, RowsDuplicated int
	ItemsLost, ItemsExtra    int
	// MartRowsLost and MartRowsExtra compare the marts' rows by content.
	MartRowsLost, MartRowsExtra int
	// Rows is the number of curated rows compared (of the reference).
	Rows int
	// Retries counts activity attempts beyond the first, from the
	// workflow histories.
	Retries int
	// Duration is the wall time from the first start to the last run's
	// completion; Reference is the fault-free run's for comparison.
	Duration, Reference time.Duration
	// Note is anything else worth a line: quarantined records, the wait
	// a lost activity cost.
	Note string
	// Err is set when the scenario did not complete.
	Err string
}

// Record sets the figures of a comparison with the reference.
func (res *Result) Record(d Diff) {
	res.RowsLost, res.RowsDuplicated = d.RowsLost, d.RowsDuplicated
	res.MartRowsLost, res.MartRowsExtra = d.MartRowsLost, d.MartRowsExtra
	res.ItemsLost, res.ItemsExtra = d.ItemsLost, d.ItemsExtra
}

// Report is the results of the scenarios, in the order they are listed.
type Report []Result

// Table renders the report as a Markdown table followed by the notes.
func (r Report) Table() string {
	var b strings.Builder
	b.WriteString("| scenario | runs | faults injected | rows compared | rows lost | rows duplicated | mart rows lost / extra | serving items lost / extra | activity retries | time to complete (fault-free) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, res := range r {
		lost, dup := fmt.Sprint(res.RowsLost), fmt.Sprint(res.RowsDuplicated)
		marts, items := fmt.Sprintf("%d / %d", res.MartRowsLost, res.MartRowsExtra), fmt.Sprintf("%d / %d", res.ItemsLost, res.ItemsExtra)
		if res.Err != "" {
			lost, dup, marts, items = "n/a", "n/a", "n/a", "n/a"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %s | %s | %s | %s | %d | %s (%s) |\n",
			res.Scenario, res.Runs, res.Faults, res.Rows, lost, dup, marts, items, res.Retries,
			res.Duration.Round(100*time.Millisecond), res.Reference.Round(100*time.Millisecond))
	}
	for _, res := range r {
		if res.Note != "" {
			fmt.Fprintf(&b, "\n- %s: %s", res.Scenario, res.Note)
		}
		if res.Err != "" {
			fmt.Fprintf(&b, "\n- %s FAILED: %s", res.Scenario, res.Err)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// WriteFile writes the table to path.
func (r Report) WriteFile(path string) error {
	if err := os.WriteFile(path, []byte(r.Table()), 0o644); err != nil {
		return fmt.Errorf("write chaos report %s: %w", path, err)
	}
	return nil
}
