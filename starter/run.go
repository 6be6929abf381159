package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/worker/app"
	"github.com/metronome-data/metronome/workflows"
)

func newRunCommand(g *globalFlags) *cobra.Command {
	var (
		date        string
		artists     []string
		artistsFile string
		wait        bool
		captureNow  bool
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Start the pipeline run of a date, or attach to it if it is running",
		Long: `run starts PipelineWorkflow with ID pipeline-DATE, the one writer of the date;
when the date is running, run attaches to it instead of starting a second one.

Spotify keeps no history, so what a run does depends on the date:
  - today (from the start of the date until its end plus pipeline.capture_grace,
    default 24h): a capture: Spotify is called and raw/…/dt=DATE is written,
    replacing an earlier capture of the same date;
  - an older date that was captured: a reprocess: curated tables, serving store
    and marts are rebuilt from the raw objects captured that day, with no
    Spotify call (after a change of the cleaning rules, for example);
  - an older date never captured: refused with exit code 2, since Spotify's
    numbers of today are not that date's. --capture-now captures them anyway
    and labels them with the date as a late capture: every row and the manifest
    say so, and the marts' day-over-day columns do not compare across it. Use
    it for a first load or a demo, never to fill gaps of a real history.`,
		Example: `  starter run --wait
  starter run --artists "Daft Punk,4tZwfgrHOc3mvqYlEYSvVi" --wait
  starter run --date 2026-11-01 --wait                 # reprocess a captured date
  starter run --date 2026-11-01 --capture-now --wait   # first load: today's numbers labelled 2026-11-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, g, nil)
			if err != nil {
				return err
			}
			in, err := pipelineInput(cfg, date, artists, artistsFile)
			if err != nil {
				return err
			}
			in.CaptureNow = captureNow
			logger, err := newLogger(cfg)
			if err != nil {
				return err
			}
			c, err := app.Dial(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			defer c.Close()
			run, attached, err := startPipeline(cmd.Context(), c, cfg, in)
			if err != nil {
				return err
			}
			if err := awaitPlan(cmd.Context(), c, run, in); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			progress := progressOut(g.output, out)
			started := workflowStarted{WorkflowID: run.GetID(), RunID: run.GetRunID(), Attached: attached,
				UI: runUIURL(cfg, run.GetID(), run.GetRunID())}
			if !wait {
				return render(out, g.output, started)
			}
			if err := started.renderText(progress); err != nil {
				return err
			}
			res, err := watchRun(cmd.Context(), c, run, progress)
			if err != nil {
				return err
			}
			return render(out, g.output, runResult{Result: res, UI: started.UI})
		},
	}
	cmd.Flags().StringVar(&date, "date", "", "logical date YYYY-MM-DD (default today, UTC)")
	cmd.Flags().StringSliceVar(&artists, "artists", nil, "artist names or Spotify IDs, comma-separated (default: the tracked set)")
	cmd.Flags().StringVar(&artistsFile, "artists-file", "", "file of artist names or Spotify IDs, one a line")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run, showing each stage, and exit 1 if it fails")
	cmd.Flags().BoolVar(&captureNow, "capture-now", false,
		"outside the date's capture window, call Spotify now and label the result with the date as a late capture")
	return cmd
}

// awaitPlan waits, for a date outside its capture window, until the run has
// decided what it does: a run that may not capture the date and has no
// capture to reprocess is refused by the workflow before it calls or
// writes anything, and that is bad usage (exit 2), not a failed run. The
// workflow decides, not the CLI: only the worker is sure to see the lake
// the run writes.
func awaitPlan(ctx context.Context, c client.Client, run client.WorkflowRun, in workflows.PipelineInput) error {
	window, err := workflows.CaptureWindowOf(in.Date, in.TimeZone, in.CaptureGrace)
	if err != nil || window.Contains(time.Now()) {
		return nil // a capture, or bad input the run reports itself
	}
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, nil) }()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && (appErr.Type() == workflows.ErrCaptureRefused || appErr.Type() == workflows.ErrNotCaptured) {
				return usagef("%s", appErr.Message())
			}
			return nil // the run's outcome is reported as usual
		case <-tick.C:
			v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ProgressQuery)
			if err != nil {
				continue
			}
			var p workflows.Progress
			if v.Get(&p) == nil && p.Kind != "" {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pipelineInput validates the run flags into the workflow's input.
func pipelineInput(cfg *config.Config, date string, artists []string, artistsFile string) (workflows.PipelineInput, error) {
	in := workflows.PipelineInput{Trigger: "manual", Parallelism: cfg.Pipeline.Parallelism,
		SpotifyTaskQueue: cfg.Temporal.SpotifyTaskQueue, CaptureGrace: cfg.Pipeline.CaptureGrace}
	if date == "" {
		date = time.Now().UTC().Format(workflows.DateLayout)
	}
	if _, err := pastDay("date", date); err != nil {
		return in, err
	}
	in.Date = date
	if len(artists) > 0 && artistsFile != "" {
		return in, usagef("--artists and --artists-file exclude each other: give one")
	}
	for _, a := range artists {
		if a = strings.TrimSpace(a); a != "" {
			in.Artists = append(in.Artists, a)
		}
	}
	if len(artists) > 0 && len(in.Artists) == 0 {
		return in, usagef("--artists %q names no artist", strings.Join(artists, ","))
	}
	if artistsFile != "" {
		if err := checkArtistsFileSize(artistsFile); err != nil {
			return in, err
		}
		lines, err := app.ReadArtistsFile(artistsFile)
		if err != nil {
			return in, usagef("--artists-file: %v", err)
		}
		in.Artists = lines
	}
	return in, checkRunArtists("--artists / --artists-file", len(in.Artists))
}

// startPipeline starts pipeline-D, or attaches to it when it is running.
// Workflow ID policies make a duplicate run impossible: a running ID is
// reused, a closed one may run again.
func startPipeline(ctx context.Context, c client.Client, cfg *config.Config, in workflows.PipelineInput) (client.WorkflowRun, bool, error) {
	day, _ := time.Parse(workflows.DateLayout, in.Date)
	return startOrAttach(ctx, c, client.StartWorkflowOptions{
		ID:                    workflows.PipelineWorkflowID(in.Date),
		TaskQueue:             cfg.Temporal.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.PipelineDateKey.ValueSet(day)),
		Priority:              workflows.RunPriority(),
	}, workflows.PipelineWorkflow, in)
}

// startOrAttach starts a workflow, or attaches to it while it runs: a
// running ID is reused, a closed one may run again, so no start ever makes
// a duplicate run. attached reports a run already in progress.
func startOrAttach(ctx context.Context, c client.Client, opts client.StartWorkflowOptions, workflow, in any) (client.WorkflowRun, bool, error) {
	attached := false
	if desc, err := c.DescribeWorkflowExecution(ctx, opts.ID, ""); err == nil &&
		desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		attached = true
	}
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	run, err := c.ExecuteWorkflow(ctx, opts, workflow, in)
	if err != nil {
		return nil, false, fmt.Errorf("start %s on task queue %s: %w", opts.ID, opts.TaskQueue, err)
	}
	return run, attached, nil
}

// watchRun prints each stage as it completes, using the progress query,
// and returns the run's result.
func watchRun(ctx context.Context, c client.Client, run client.WorkflowRun, out io.Writer) (workflows.PipelineResult, error) {
	var res workflows.PipelineResult
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, &res) }()

	printed := 0
	started := time.Now()
	show := func() {
		v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ProgressQuery)
		if err != nil {
			return
		}
		var p workflows.Progress
		if v.Get(&p) != nil {
			return
		}
		for ; printed < len(p.StagesDone); printed++ {
			fmt.Fprintf(out, "  ✓ %-9s %s  (%s)\n", p.StagesDone[printed], stageDetail(p.StagesDone[printed], p),
				time.Since(started).Round(10*time.Millisecond))
		}
	}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				show()
				return res, fmt.Errorf("run %s failed: %w", run.GetID(), err)
			}
			show()
			for ; printed < len(workflows.Stages); printed++ {
				fmt.Fprintf(out, "  ✓ %s\n", workflows.Stages[printed])
			}
			return res, nil
		case <-tick.C:
			show()
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
}

func stageDetail(stage string, p workflows.Progress) string {
	switch stage {
	case workflows.StageResolve:
		return fmt.Sprintf("%d artists, %d batches", p.Artists, p.BatchesTotal)
	case workflows.StageCollect:
		return fmt.Sprintf("%d/%d batches, records %s", p.BatchesDone, p.BatchesTotal, formatCounts(p.Records))
	case workflows.StageClean:
		return fmt.Sprintf("%d rejected", p.Rejected)
	}
	if d, ok := p.Details[stage]; ok {
		return d
	}
	return ""
}

// workflowStarted is what run shows of the run it started or attached
// to, and backfill of the backfill.
type workflowStarted struct {
	Attached   bool   `json:"attached"`
	RunID      string `json:"run_id"`
	UI         string `json:"ui"`
	WorkflowID string `json:"workflow_id"`
}

func (s workflowStarted) verb() string {
	if s.Attached {
		return "attached to running"
	}
	return "started"
}

func (s workflowStarted) renderText(out io.Writer) error {
	fmt.Fprintf(out, "%s %s (run %s)\n  %s\n", s.verb(), s.WorkflowID, s.RunID, s.UI)
	return nil
}

// runResult is the summary of a finished run and where to look: the
// run's Web UI page, and for dev the lake and serving store.
type runResult struct {
	Lake    string                   `json:"lake"`
	Result  workflows.PipelineResult `json:"result"`
	Serving string                   `json:"serving"`
	UI      string                   `json:"ui"`
}

func (r runResult) renderText(out io.Writer) error {
	res := r.Result
	fmt.Fprintf(out, "\nrun of %s finished (%s, %s API mode)\n", res.Date, kindName(res.Kind), res.Mode)
	fmt.Fprintf(out, "  artists      %d (%d unresolved)\n", res.Artists, len(res.Unresolved))
	fmt.Fprintf(out, "  tracks       %d\n", res.Quality.RowsOut["tracks"])
	fmt.Fprintf(out, "  rows         %s\n", formatCounts(res.Quality.RowsOut))
	fmt.Fprintf(out, "  rejected     %d\n", res.Quality.RejectedTotal())
	fmt.Fprintf(out, "  marts        %s\n", formatCounts64(res.Aggregate.Rows))
	// The manifest's word on marts it did not publish (genres absent).
	for _, mart := range slices.Sorted(maps.Keys(res.Aggregate.Skipped)) {
		fmt.Fprintf(out, "  not built    %s: %s\n", mart, res.Aggregate.Skipped[mart])
	}
	if res.Kind == workflows.KindReprocess {
		fmt.Fprintf(out, "  spotify      no call: rebuilt from the capture of %s\n", res.Capture.CapturedAt)
	} else {
		fmt.Fprintf(out, "  spotify      %s\n", formatCounts(res.Collect.Calls))
	}
	if res.Capture.LateCapture {
		fmt.Fprintf(out, "  late capture the numbers are those of %s, labelled %s\n", res.Capture.CapturedAt, res.Date)
	}
	if len(res.Collect.Unavailable) > 0 {
		fmt.Fprintf(out, "  unavailable  %s (not offered in this API mode)\n", strings.Join(res.Collect.Unavailable, ", "))
	}
	fmt.Fprintf(out, "  manifest     %s\n", res.ManifestKey)
	fmt.Fprintf(out, "\nwhere to look:\n  Web UI    %s\n", r.UI)
	if r.Lake != "" {
		fmt.Fprintf(out, "  lake      %s\n", r.Lake)
	}
	if r.Serving != "" {
		fmt.Fprintf(out, "  serving   %s\n", r.Serving)
	}
	return nil
}

// kindName names a run's kind of work for people.
func kindName(kind string) string {
	switch kind {
	case workflows.KindReprocess:
		return "reprocess"
	case workflows.KindLateCapture:
		return "late capture"
	case workflows.KindCapture:
		return "capture"
	}
	return "kind unknown"
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func formatCounts64(m map[string]int64) string {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = int(v)
	}
	return formatCounts(c)
}
