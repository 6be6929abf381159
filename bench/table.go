package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/metronome-data/metronome/workflows"
)

// Targets of the performance issue, printed beside the figures.
const (
	TargetOverheadRatio = 1.15
	TargetUtilization   = 0.9
	TargetShare429      = 0.01
	TargetCallsRatio    = 1.05
	TargetHistoryEvents = 10000
	TargetPeakRSSMB     = 500
	// TargetCapWindowRatio is the bound on the worst 10 s window:
	// 1.1 × the cap, plus a burst of one second's worth (0.1 of 10 s).
	TargetCapWindowRatio = 1.2
	// TargetRequestFirstSpotifySeconds is issue 19's "within a few
	// seconds" for an on-demand request's first Spotify call behind a
	// backfill.
	TargetRequestFirstSpotifySeconds = 5
)

// WriteTable prints the report as tables: the headline figures against
// their targets, then each part's runs.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	p("machine\t%d CPUs, %s, %s, fake latency %s", r.Machine.CPUs, r.Machine.OS, r.Machine.GoVersion, r.Machine.Latency)
	p("")
	p("figure\tvalue\ttarget")
	p("overhead ratio (Temporal ÷ bare, median)\t%.3f\t≤ %.2f", r.OverheadRatio, TargetOverheadRatio)
	p("rate utilization (admitted/s ÷ allowed, worst)\t%.3f\t≥ %.2f", r.RateUtilization, TargetUtilization)
	p("share of calls answered 429 (worst)\t%.2f%%\t≤ %.0f%%", 100*r.Share429, 100*TargetShare429)
	p("calls per artist ÷ minimum (worst)\t%.3f\t≤ %.2f", r.CallsPerArtistRatio, TargetCallsRatio)
	p("history events, largest execution\t%d\t≤ %d", r.MaxHistoryEvents, TargetHistoryEvents)
	p("worker peak RSS, clean/store/aggregate\t%.0f MiB\t≤ %d MiB", r.PeakRSSMB, TargetPeakRSSMB)
	if r.ScaleOutRatio > 0 {
		p("scale-out (wall time N workers ÷ 1)\t%.3f\t", r.ScaleOutRatio)
	}
	if r.ScaleSeconds > 0 {
		p("run at scale, wall time\t%.0f s\t", r.ScaleSeconds)
	}
	if len(r.Cap) > 0 {
		p("Spotify cap: worst 10 s window ÷ cap (worst)\t%.3f\t≤ %.1f", r.CapWindowRatio, TargetCapWindowRatio)
	}

	if len(r.Priority) > 0 {
		p("request behind a backfill: first Spotify call\t%.2f s\t≤ %d s", r.RequestFirstSpotifySeconds, TargetRequestFirstSpotifySeconds)
	}

	if len(r.Overhead) > 0 {
		p("")
		p("overhead\tbare median\tTemporal median\tratio\tevents/1k artists\tlargest execution\truns (bare | Temporal)")
		for _, o := range r.Overhead {
			p("%d artists\t%.2f s\t%.2f s\t%.3f\t%.0f\t%d events\t%s | %s", o.Artists, o.BareMedian, o.TemporalMedian, o.Ratio,
				o.EventsPer1000, o.History.MaxEvents, floats(o.BareSeconds), floats(o.TemporalSeconds))
		}
		for _, o := range r.Overhead {
			p("  %d artists, stage medians\tbare %s\tTemporal %s", o.Artists, formatStages(o.BareStages), formatStages(o.TemporalStages))
		}
	}
	if len(r.Rate) > 0 {
		p("")
		p("rate limit\tartists\tcalls\tcollect\tadmitted/s ÷ allowed\t429s\tcalls/artist\tminimum\tratio")
		for _, x := range r.Rate {
			p("%s, %s run\t%d\t%d\t%.1f s\t%.1f ÷ %.0f = %.3f\t%d (%.2f%%)\t%.3f\t%.3f\t%.3f", x.Mode, x.Run, x.Artists, x.Calls,
				x.CollectSeconds, x.AchievedPerSec, x.AllowedPerSecond, x.Utilization, x.RateLimited, 100*x.Share429,
				x.CallsPerArtist, x.MinPerArtist, x.CallsRatio)
		}
	}
	if len(r.Cap) > 0 {
		p("")
		p("Spotify cap\tworkers\tartists\tcalls\tcollect\tworst 10 s window\t÷ cap\tutilization\t429s\tcalls ÷ min")
		for _, x := range r.Cap {
			p("%s, %.0f requests/s\t%d\t%d\t%d\t%.1f s\t%d (bound %d)\t%.3f\t%.3f\t%d (%.2f%%)\t%.3f", x.Mode, x.Cap, x.Workers,
				x.Artists, x.Calls, x.CollectSeconds, x.WorstWindow, x.Bound, x.WindowRatio, x.Utilization,
				x.RateLimited, 100*x.Share429, x.CallsRatio)
		}
	}
	if len(r.Priority) > 0 {
		p("")
		p("request behind a backfill\tdates (at once)\tbacklog\tfirst activity (queued)\tfirst Spotify call\tdone\tdates settled at the request, when done")
		for _, x := range r.Priority {
			on := "priorities off"
			if x.Priorities {
				on = "priorities on"
			}
			p("%s, %d slots\t%d (%d)\t%d tasks\t%.2f s (%.2f s)\t%.2f s\t%.2f s\t%d, %d", on, x.Slots, x.Dates, x.Parallel, x.Backlog,
				x.FirstActivitySeconds, x.FirstQueueSeconds, x.FirstSpotifySeconds, x.DoneSeconds, x.SettledBefore, x.BackfillSettled)
		}
	}
	var runs []WorkerRun
	if r.ScaleOut != nil {
		runs = append(runs, r.ScaleOut.One)
		if r.ScaleOut.Many.Workers > 0 {
			runs = append(runs, r.ScaleOut.Many)
		}
	}
	if r.Scale != nil {
		runs = append(runs, *r.Scale)
	}
	if len(runs) > 0 {
		p("")
		p("worker processes\tworkers\tlatency\twall\tpeak RSS clean/store/aggregate\tpeak RSS run\tevents/1k artists\tlargest execution\tcalls ÷ min\tstages")
		for _, x := range runs {
			p("%d artists\t%d\t%s\t%.1f s\t%.0f MiB\t%.0f MiB\t%.0f\t%d events\t%.3f\t%s", x.Artists, x.Workers, x.Latency, x.Seconds,
				x.PeakRSSMB, x.RunPeakRSSMB, x.EventsPer1000, x.History.MaxEvents, x.CallsRatio, formatStages(x.StageSeconds))
		}
	}
	for _, x := range runs {
		p("  %d artists, %d worker(s), peak RSS by stage\t%s", x.Artists, x.Workers, formatMiB(x.StagePeakRSSMB))
	}
	for _, pr := range r.Profiles {
		p("")
		p("profile, %d artists, in-process\t%s\t%s", pr.Artists, formatStages(pr.StageSeconds), pr.Dir)
	}
	return tw.Flush()
}

func floats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " ")
}

// formatStages lists stage seconds in pipeline order.
func formatStages(stages map[string]float64) string {
	var parts []string
	for _, s := range workflows.Stages {
		if v, ok := stages[s]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2fs", s, v))
		}
	}
	return strings.Join(parts, ", ")
}

// formatMiB lists stage peaks in pipeline order.
func formatMiB(stages map[string]float64) string {
	var parts []string
	for _, s := range workflows.Stages {
		if v, ok := stages[s]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f MiB", s, v))
		}
	}
	return strings.Join(parts, ", ")
}
