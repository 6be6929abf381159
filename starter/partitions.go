package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/partitions"
	"github.com/metronome-data/metronome/workflows"
)

const (
	maxPartitionDays     = partitions.MaxDays
	defaultPartitionDays = partitions.DefaultDays
)

// Capture states of a date, the capture_status field of the JSON.
const (
	captureComplete = partitions.CaptureComplete
	captureLate     = partitions.CaptureLate
	captureUnknown  = partitions.CaptureUnknown
	captureRemoved  = partitions.CaptureRemoved
	captureNone     = partitions.CaptureNone
)

// partitionRow is one date of `starter partitions`; its JSON names are a
// contract with scripts (see partitions.Row).
type partitionRow = partitions.Row

// partitionsReport is the JSON of `starter partitions`.
type partitionsReport = partitions.Report

// readPartitions reads the dates from from to to; a zero from is the
// earliest date held.
func readPartitions(ctx context.Context, store lake.Store, from, to time.Time) (partitionsReport, error) {
	return partitions.Read(ctx, store, from, to)
}

func newPartitionsCommand(g *globalFlags) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "partitions [--from DATE] [--to DATE]",
		Short: "List the dates of the lake: captured, processed, how, and the gaps",
		Long: `partitions reads the lake's manifests (manifests/dt=D/capture.json and
pipeline.json) and prints one line per date from --from to --to, newest
first: whether D has a complete capture (late when captured after its
window), whether it was processed and by which kind of run (capture,
late_capture, reprocess), the rows of each curated table and mart, the
rejected records, and the workflow that wrote it. Dates with neither file
are gaps; consecutive gaps are shown as one line, and --output json lists
every date.

--to defaults to today (UTC); --from defaults to the earliest date the
lake holds up to --to (at most ` + fmt.Sprint(maxPartitionDays) + ` dates), or the ` + fmt.Sprint(defaultPartitionDays) + ` dates ending
at --to when it holds none. It reads only the lake: no Temporal server is
needed. The exit code is 1 when a manifest cannot be read, 2 for bad usage.`,
		Example: `  starter partitions
  starter partitions --from 2026-11-01 --to 2026-11-30
  starter partitions --output json | jq -r '.gaps[]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			toDay := time.Now().UTC().Truncate(24 * time.Hour)
			var fromDay time.Time
			var err error
			if to != "" {
				if toDay, err = parseDay("to", to); err != nil {
					return err
				}
			}
			if from != "" {
				if fromDay, err = parseDay("from", from); err != nil {
					return err
				}
				if err := checkPartitionRange(fromDay, toDay, to == ""); err != nil {
					return err
				}
			}
			cfg, err := loadConfig(cmd, g, nil)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			store, err := openLake(ctx, cfg)
			if err != nil {
				return err
			}
			rep, err := readPartitions(ctx, store, fromDay, toDay)
			if err != nil {
				return err
			}
			if err := render(cmd.OutOrStdout(), g.output, partitionsView{rep, cfg.Lake.URL}); err != nil {
				return err
			}
			if n := countErrors(rep); n > 0 {
				return fmt.Errorf("%d of %d dates could not be read: see their lines above", n, len(rep.Dates))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first date YYYY-MM-DD (default: the earliest date in the lake)")
	cmd.Flags().StringVar(&to, "to", "", "last date YYYY-MM-DD, inclusive (default: today, UTC)")
	return cmd
}

// checkPartitionRange refuses reversed and over-long ranges.
func checkPartitionRange(from, to time.Time, toDefaulted bool) error {
	f, t := from.Format(workflows.DateLayout), to.Format(workflows.DateLayout)
	if from.After(to) {
		if toDefaulted {
			return usagef("--from %s is after --to %s (today, UTC): give a past --from or a later --to", f, t)
		}
		return usagef("--from %s is after --to %s: give the earlier date first", f, t)
	}
	if days := dayCount(from, to); days > maxPartitionDays {
		return usagef("%s .. %s spans %d days, more than %d: list a shorter range", f, t, days, maxPartitionDays)
	}
	return nil
}

// dayCount is the number of dates from from to to, inclusive.
func dayCount(from, to time.Time) int { return int(to.Sub(from)/(24*time.Hour)) + 1 }

// partitionsView is what partitions shows: the report, and in text the
// lake it read.
type partitionsView struct {
	partitionsReport
	lakeURL string
}

func (v partitionsView) renderText(out io.Writer) error {
	rep, lakeURL := v.partitionsReport, v.lakeURL
	wfWidth := len("WORKFLOW")
	for _, r := range rep.Dates {
		wfWidth = max(wfWidth, len(r.WorkflowID))
	}
	fmt.Fprintf(out, "%-10s  %-8s  %-9s  %-12s  %8s  %-*s  %s\n",
		"DATE", "CAPTURED", "PROCESSED", "KIND", "REJECTED", wfWidth, "WORKFLOW", "ROWS / MARTS")
	var processed, unprocessed int
	for i := 0; i < len(rep.Dates); i++ {
		r := rep.Dates[i]
		if r.Gap() {
			// Dates run newest first: the run of gaps ends at the oldest.
			j := i
			for j+1 < len(rep.Dates) && rep.Dates[j+1].Gap() {
				j++
			}
			if j == i {
				fmt.Fprintf(out, "%s  gap — not captured\n", r.Date)
			} else {
				fmt.Fprintf(out, "%s .. %s  gap (%d dates) — not captured\n", rep.Dates[j].Date, r.Date, j-i+1)
			}
			i = j
			continue
		}
		if r.Error != "" {
			fmt.Fprintf(out, "%s  unreadable: %s\n", r.Date, r.Error)
			continue
		}
		if r.Processed {
			processed++
		} else {
			unprocessed++
		}
		kind, rejected, counts := dash(r.Kind), "-", "-"
		if r.Processed {
			rejected = fmt.Sprint(r.Rejected)
			counts = formatCounts(r.Rows)
			if len(r.Marts) > 0 {
				counts += " / " + formatCounts64(r.Marts)
			}
		}
		fmt.Fprintf(out, "%-10s  %-8s  %-9s  %-12s  %8s  %-*s  %s\n",
			r.Date, captureWord(r), yesNo(r.Processed), kind, rejected, wfWidth, dash(r.WorkflowID), counts)
		if r.Note != "" {
			fmt.Fprintf(out, "%10s  ↳ %s\n", "", r.Note)
		}
	}
	fmt.Fprintf(out, "%s .. %s: %d dates, %d processed, %d captured not processed, %d gaps",
		rep.From, rep.To, len(rep.Dates), processed, unprocessed, len(rep.Gaps))
	if n := countErrors(rep); n > 0 {
		fmt.Fprintf(out, ", %d unreadable", n)
	}
	fmt.Fprintln(out)
	if processed+unprocessed == 0 {
		fmt.Fprintf(out, "lake %s holds no capture or manifest in this range: run `starter run` to capture today\n", lakeURL)
	}
	return nil
}

// captureWord is the CAPTURED column.
func captureWord(r partitionRow) string {
	switch r.CaptureStatus {
	case captureComplete:
		return "yes"
	case captureLate:
		return "late"
	case captureUnknown:
		return "unknown"
	case captureRemoved:
		return "removed"
	}
	return "no"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func countErrors(rep partitionsReport) int { return rep.Errors() }
