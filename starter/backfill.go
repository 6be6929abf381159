package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/workflows"
)

// defaultMaxBackfillDays is the longest range `starter backfill` starts
// without --max-days.
const defaultMaxBackfillDays = 366

// backfillFlags are the flags of `starter backfill`.
type backfillFlags struct {
	from, to string
	parallel int
	maxDays  int
	artists  []string
	rerun    bool
	wait     bool
}

func newBackfillCommand(g *globalFlags) *cobra.Command {
	f := &backfillFlags{}
	cmd := &cobra.Command{
		Use:   "backfill --from DATE --to DATE",
		Short: "Reprocess every captured date of a past range from its raw data, a few dates at once",
		Long: `backfill starts BackfillWorkflow (ID backfill-FROM-TO), which reprocesses each
date from --from to --to that has a complete capture: a child PipelineWorkflow
(ID pipeline-D) rebuilds its curated tables, serving items and marts from the
raw objects captured on that date, oldest first, with at most --parallel at
once, and calls Spotify not once. Spotify keeps no history, so a date that was
never captured is listed as "not captured" and stays a gap (see "starter run
--capture-now" for a first load). It survives worker restarts,
continues-as-new on long ranges, and reports progress to "starter status".

Dates already processed are skipped unless --rerun asks to rebuild them (after
a change of the cleaning rules, for example). Starting the same range again
attaches while it runs. Cancel it with "starter cancel backfill-FROM-TO": its
children are cancelled cleanly. Exit code 0 when every captured date was
rebuilt or skipped, 1 when a rebuild failed.

Ranges reaching into the future, reversed ranges and ranges longer than
--max-days are refused.`,
		Example: `  starter backfill --from 2026-10-01 --to 2026-10-31 --parallel 3 --wait
  starter backfill --from 2026-10-01 --to 2026-10-31 --rerun`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			out := cmd.OutOrStdout()
			progress := progressOut(g.output, out)
			run, attached, err := startBackfill(cmd.Context(), c, cfg, f.input(cfg))
			if err != nil {
				return err
			}
			started := backfillStarted{workflowStarted{WorkflowID: run.GetID(), RunID: run.GetRunID(), Attached: attached,
				UI: runUIURL(cfg, run.GetID(), run.GetRunID())}, f}
			if !f.wait {
				return render(out, g.output, started)
			}
			if err := started.renderText(progress); err != nil {
				return err
			}
			res, err := watchBackfill(cmd.Context(), c, run, progress)
			if rerr := render(out, g.output, backfillEnded{WorkflowID: run.GetID(), Result: res, UI: started.UI}); rerr != nil {
				return rerr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&f.from, "from", "", "first logical date YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&f.to, "to", "", "last logical date YYYY-MM-DD, inclusive (required)")
	cmd.Flags().IntVar(&f.parallel, "parallel", workflows.DefaultBackfillParallel, "dates run at once")
	cmd.Flags().IntVar(&f.maxDays, "max-days", defaultMaxBackfillDays, "refuse ranges longer than this many days")
	cmd.Flags().StringSliceVar(&f.artists, "artists", nil, "refused: a backfill rebuilds the artists each date captured")
	cmd.Flags().BoolVar(&f.rerun, "rerun", false, "rebuild dates already processed from their raw data")
	cmd.Flags().BoolVar(&f.wait, "wait", false, "show progress until the backfill ends, and exit 1 if a date failed")
	return cmd
}

// backfillStarted is what backfill shows of the backfill it started or
// attached to.
type backfillStarted struct {
	workflowStarted
	flags *backfillFlags
}

func (s backfillStarted) renderText(out io.Writer) error {
	fmt.Fprintf(out, "%s %s (%s .. %s, at most %d dates at once)\n  %s\n", s.verb(), s.WorkflowID, s.flags.from, s.flags.to, s.flags.parallel, s.UI)
	return nil
}

// backfillEnded is the outcome of a backfill that --wait watched.
type backfillEnded struct {
	Result     workflows.BackfillResult `json:"result"`
	UI         string                   `json:"ui"`
	WorkflowID string                   `json:"workflow_id"`
}

func (e backfillEnded) renderText(out io.Writer) error {
	res := e.Result
	fmt.Fprintf(out, "\nbackfill %s .. %s: %d completed, %d skipped (done before), %d not captured, %d failed\n",
		res.From, res.To, len(res.Completed), len(res.Skipped), len(res.NotCaptured), len(res.Failed))
	for _, d := range res.NotCaptured {
		fmt.Fprintf(out, "  not captured  %s  (no raw data of that day: a gap)\n", d)
	}
	for _, fl := range res.Failed {
		fmt.Fprintf(out, "  failed  %s  %s\n", fl.Date, firstLine(fl.Error))
	}
	return nil
}

// validate refuses bad ranges before anything connects.
func (f *backfillFlags) validate() error {
	if f.from == "" || f.to == "" {
		return usagef("backfill needs --from and --to: the first and last logical date, such as --from 2026-10-01 --to 2026-10-31")
	}
	from, err := pastDay("from", f.from)
	if err != nil {
		return err
	}
	to, err := pastDay("to", f.to)
	if err != nil {
		return err
	}
	if from.After(to) {
		return usagef("--from %s is after --to %s: give the earlier date first", f.from, f.to)
	}
	if f.maxDays < 1 || f.maxDays > workflows.MaxBackfillDays {
		return usagef("--max-days %d: want 1 to %d", f.maxDays, workflows.MaxBackfillDays)
	}
	if days := int(to.Sub(from)/(24*time.Hour)) + 1; days > f.maxDays {
		return usagef("%s .. %s spans %d days, more than --max-days %d: split the range or raise --max-days", f.from, f.to, days, f.maxDays)
	}
	if f.parallel < 1 || f.parallel > workflows.MaxBackfillParallel {
		return usagef("--parallel %d: want 1 to %d dates at once", f.parallel, workflows.MaxBackfillParallel)
	}
	if len(f.artists) > 0 {
		return usagef("--artists %q: a backfill reprocesses what each date captured and calls no Spotify API, "+
			"so it cannot add artists to past dates; capture them today with `starter run --artists …`",
			strings.Join(f.artists, ","))
	}
	return nil
}

func (f *backfillFlags) input(cfg *config.Config) workflows.BackfillInput {
	return workflows.BackfillInput{
		From: f.from, To: f.to, Parallel: f.parallel, Rerun: f.rerun,
		Parallelism: cfg.Pipeline.Parallelism, SpotifyTaskQueue: cfg.Temporal.SpotifyTaskQueue,
	}
}

// startBackfill starts backfill-FROM-TO, or attaches to it while it runs.
// An ended backfill of the same range may start again: it skips the dates
// that completed.
func startBackfill(ctx context.Context, c client.Client, cfg *config.Config, in workflows.BackfillInput) (client.WorkflowRun, bool, error) {
	return startOrAttach(ctx, c, client.StartWorkflowOptions{
		ID: workflows.BackfillWorkflowID(in.From, in.To), TaskQueue: cfg.Temporal.TaskQueue,
		Priority: workflows.BackfillPriority(in.From, in.To),
	}, workflows.BackfillWorkflow, in)
}

// watchBackfill prints a progress line whenever the backfill's progress
// changes and returns its result, following continue-as-new.
func watchBackfill(ctx context.Context, c client.Client, run client.WorkflowRun, out io.Writer) (workflows.BackfillResult, error) {
	var res workflows.BackfillResult
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, &res) }()
	last := ""
	show := func() {
		v, err := c.QueryWorkflow(ctx, run.GetID(), "", workflows.ProgressQuery)
		if err != nil {
			return
		}
		var p workflows.BackfillProgress
		if v.Get(&p) != nil {
			return
		}
		settled := p.Settled()
		line := fmt.Sprintf("  %s %d/%d dates  completed %d  skipped %d  not captured %d  failed %d  running %s",
			bar(settled, p.Total, 30), settled, p.Total, len(p.Completed), len(p.Skipped), len(p.NotCaptured), len(p.Failed),
			strings.Join(p.Running, " "))
		if line != last {
			fmt.Fprintln(out, line)
			last = line
		}
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err == nil {
				return res, nil
			}
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.Type() == workflows.ErrBackfillFailed {
				if derr := appErr.Details(&res); derr != nil {
					return res, fmt.Errorf("backfill %s failed: %w (its result is unreadable: %v)", run.GetID(), err, derr)
				}
			}
			return res, fmt.Errorf("backfill %s failed: %w", run.GetID(), err)
		case <-tick.C:
			show()
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
}
