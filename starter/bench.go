package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metronome-data/metronome/bench"
)

func newBenchCommand(g *globalFlags) *cobra.Command {
	var (
		cfg        = bench.DefaultConfig()
		sizes      string
		parts      string
		reportFile string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the pipeline: Temporal's overhead, the rate limit, history, memory, scale",
		Long: `bench runs the pipeline over the fake Spotify catalog on an embedded Temporal
server and measures, in one invocation:

  overhead   PipelineWorkflow against a bare in-process loop over the same
             activities with the same parallelism, alternating, --reps runs
             each per size (--sizes); median seconds and their ratio
  rate       a first and an incremental run in each API mode against the
             fake's rolling-window limit (--rate-budget per --rate-window):
             admitted requests/s ÷ allowed, share of 429s, calls per artist
             ÷ the mode's minimum
  scaleout   --artists artists with one worker process, then with --workers,
             no latency and no rate limit: wall-time ratio, and each worker's
             peak RSS (from /proc) during clean, store and aggregate
  cap        a first capture in each API mode with 1 and 3 worker processes
             under spotify.requests_per_second --cap (--cap-artists,
             --cap-dev-artists): calls over the worst 10 s window ÷ the cap,
             utilization, share of 429s, calls per artist ÷ the minimum
  scale      one run at --scale artists with one worker process

Every run also counts the history events of its workflow executions. Worker
processes run a worker binary (--worker-bin, default: built with the go
tool from this module, so run bench from the module's directory).`,
		Example: `  starter bench
  starter bench --sizes 500,2000 --reps 3 --output json
  starter bench --parts scale --scale 100000 --profile prof/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(g.output); err != nil {
				return err
			}
			var err error
			if cfg.Sizes, err = parseSizes(sizes); err != nil {
				return err
			}
			cfg.Parts = nil
			for _, p := range strings.Split(parts, ",") {
				if p = strings.TrimSpace(p); p != "" {
					cfg.Parts = append(cfg.Parts, p)
				}
			}
			out := cmd.OutOrStdout()
			// The bench's log lines go with the text, and beside the JSON.
			cfg.Log = out
			if g.output == outputJSON {
				cfg.Log = cmd.ErrOrStderr()
			}
			if cfg.Scale > 0 && !slices.Contains(cfg.Parts, bench.PartScale) {
				cfg.Parts = append(cfg.Parts, bench.PartScale)
			}
			if err := refuseZeroFlags(cmd, cfg); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			report, err := runBench(cmd.Context(), cfg)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			if reportFile != "" {
				body, err := json.MarshalIndent(report, "", "  ")
				if err != nil {
					return fmt.Errorf("encode the bench report: %w", err)
				}
				if err := os.WriteFile(reportFile, append(body, '\n'), 0o644); err != nil {
					return fmt.Errorf("write the bench report: %w", err)
				}
			}
			return render(out, g.output, benchView{report})
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Artists, "artists", cfg.Artists, "artists of the scale-out runs (and of the memory figure)")
	f.DurationVar(&cfg.Latency, "latency", cfg.Latency, "latency the fake Spotify API adds to every response")
	f.StringVar(&sizes, "sizes", "500,2000", "artists of the overhead runs, comma-separated")
	f.IntVar(&cfg.Reps, "reps", cfg.Reps, "runs of each kind per overhead size")
	f.IntVar(&cfg.Scale, "scale", 0, "artists of one run at scale (0: none)")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "worker processes of the scale-out run, compared with one")
	f.IntVar(&cfg.Parallelism, "parallelism", cfg.Parallelism, "collect batches in flight (the pipeline's parallelism)")
	f.IntVar(&cfg.RateArtists, "rate-artists", cfg.RateArtists, "artists of the rate-limit runs in extended mode")
	f.IntVar(&cfg.RateDevArtists, "rate-dev-artists", cfg.RateDevArtists, "artists of the rate-limit runs in development mode")
	f.IntVar(&cfg.RateBudget, "rate-budget", cfg.RateBudget, "requests the fake allows per --rate-window")
	f.DurationVar(&cfg.RateWindow, "rate-window", cfg.RateWindow, "the fake's rolling rate-limit window (Spotify's is 30s)")
	f.Float64Var(&cfg.Cap, "cap", cfg.Cap, "spotify.requests_per_second of the cap runs")
	f.IntVar(&cfg.CapArtists, "cap-artists", cfg.CapArtists, "artists of the cap runs in extended mode")
	f.IntVar(&cfg.CapDevArtists, "cap-dev-artists", cfg.CapDevArtists, "artists of the cap runs in development mode")
	f.StringVar(&cfg.WorkerBin, "worker-bin", "", "a built worker binary (default: go build ./worker)")
	f.StringVar(&cfg.Dir, "dir", "", "keep the runs' lakes, serving stores and worker logs here (default: a temporary directory, removed)")
	f.StringVar(&cfg.ProfileDir, "profile", "", "write CPU profiles of clean, store and aggregate, re-run in-process over the scale-out and scale runs' data, here")
	f.StringVar(&reportFile, "report", "", "also write the report as JSON to this file")
	f.StringVar(&parts, "parts", strings.Join(bench.AllParts[:4], ","), "parts to run: overhead, rate, scaleout, cap, scale, priority")
	return cmd
}

// benchView is the report of bench: a table in text.
type benchView struct{ *bench.Report }

func (v benchView) renderText(out io.Writer) error {
	fmt.Fprintln(out)
	return bench.WriteTable(out, v.Report)
}

// runBench is bench.Run; a variable so that tests see the config a command
// line makes without running the bench.
var runBench = bench.Run

// refuseZeroFlags refuses a flag set to 0 where bench.Config takes a zero
// for "the default": run as given, --reps 0 would silently run the
// default 3 reps. (--latency 0 means no latency, and --scale 0 no run at
// scale.)
func refuseZeroFlags(cmd *cobra.Command, cfg bench.Config) error {
	for _, f := range []struct {
		name string
		zero bool
	}{
		{"artists", cfg.Artists == 0},
		{"reps", cfg.Reps == 0},
		{"workers", cfg.Workers == 0},
		{"parallelism", cfg.Parallelism == 0},
		{"rate-artists", cfg.RateArtists == 0},
		{"rate-dev-artists", cfg.RateDevArtists == 0},
		{"rate-budget", cfg.RateBudget == 0},
		{"rate-window", cfg.RateWindow == 0},
		{"cap", cfg.Cap == 0},
		{"cap-artists", cfg.CapArtists == 0},
		{"cap-dev-artists", cfg.CapDevArtists == 0},
	} {
		flag := cmd.Flags().Lookup(f.name)
		if f.zero && flag.Changed {
			return usagef("--%s %s: want more than 0 (leave the flag out for the default, %s)", f.name, flag.Value, flag.DefValue)
		}
	}
	return nil
}

// parseSizes reads a comma-separated list of artist counts.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n <= 0 {
			return nil, usagef("--sizes %q: want positive numbers of artists, comma-separated, such as 500,2000", s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, usagef("--sizes %q names no size", s)
	}
	return out, nil
}
