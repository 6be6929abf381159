package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/runs"
	"github.com/metronome-data/metronome/workflows"
)

func newStatusCommand(g *globalFlags) *cobra.Command {
	var (
		watch    bool
		from, to string
		limit    int
	)
	cmd := &cobra.Command{
		Use:   "status [WORKFLOW_ID]",
		Short: "Show a pipeline run or backfill live, or list the recent runs",
		Long: `status shows one workflow by ID through its progress query: for a pipeline
run the stage and counts, for a backfill a progress bar (dates done / total,
ETA) and the failed dates with their messages, for artist-requests the
requests waiting and recently stored. --watch redraws until it closes.
A closed run shows its result. The exit code is 1 when the workflow failed,
was cancelled, terminated or timed out.

Without an ID, status lists the recent pipeline runs (visibility query on
the PipelineDate search attribute; --from/--to filter by logical date) and
the backfills running.`,
		Example: `  starter status
  starter status --from 2026-11-01 --to 2026-11-07
  starter status pipeline-2026-11-01
  starter status backfill-2026-10-01-2026-10-31 --watch`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 || limit > 1000 {
				return usagef("--limit %d: want 1 to 1000 runs", limit)
			}
			var fromDay, toDay time.Time
			var err error
			if from != "" {
				if fromDay, err = parseDay("from", from); err != nil {
					return err
				}
			}
			if to != "" {
				if toDay, err = parseDay("to", to); err != nil {
					return err
				}
			}
			if from != "" && to != "" && fromDay.After(toDay) {
				return usagef("--from %s is after --to %s: give the earlier date first", from, to)
			}
			if len(args) == 1 && (from != "" || to != "") {
				return usagef("--from and --to filter the list of runs: give them without a WORKFLOW_ID")
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				return listRuns(cmd.Context(), out, g.output, c, cfg, fromDay, toDay, limit)
			}
			return showWorkflow(cmd.Context(), out, g.output, c, cfg, args[0], watch)
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "redraw every second until the workflow closes")
	cmd.Flags().StringVar(&from, "from", "", "list runs of logical dates from this one (YYYY-MM-DD)")
	cmd.Flags().StringVar(&to, "to", "", "list runs of logical dates up to this one (YYYY-MM-DD)")
	cmd.Flags().IntVar(&limit, "limit", 20, "list at most this many runs")
	return cmd
}

// describeWorkflow describes the latest run of id; an unknown ID is a usage
// error.
func describeWorkflow(ctx context.Context, c client.Client, cfg *config.Config, id string) (*workflowpb.WorkflowExecutionInfo, error) {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, usagef("no workflow %q in namespace %s: list recent runs with `starter status`", id, cfg.Temporal.Namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("describe workflow %s: %w", id, err)
	}
	return desc.GetWorkflowExecutionInfo(), nil
}

// workflowView is what status shows of one workflow.
type workflowView struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Type       string `json:"type"`
	Status     string `json:"status"`
	Progress   any    `json:"progress,omitempty"`
	Result     any    `json:"result,omitempty"`
	Error      string `json:"error,omitempty"`
	UI         string `json:"ui"`
}

func showWorkflow(ctx context.Context, out io.Writer, format string, c client.Client, cfg *config.Config, id string, watch bool) error {
	// While it watches, status redraws the text on progress; the final
	// view is rendered once, in format.
	progress := progressOut(format, out)
	redraw := watch && isTerminal(progress)
	for {
		info, err := describeWorkflow(ctx, c, cfg, id)
		if err != nil {
			return err
		}
		v, err := viewWorkflow(ctx, c, cfg, info)
		if err != nil {
			return err
		}
		running := info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		last := !watch || !running
		if redraw {
			fmt.Fprint(progress, "\033[H\033[2J")
		}
		if last {
			if err := render(out, format, v); err != nil {
				return err
			}
		} else if err := v.renderText(progress); err != nil {
			return err
		}
		if last {
			if !running && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED &&
				info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				return fmt.Errorf("%s %s", id, strings.ToLower(v.Status))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// viewWorkflow reads the progress of a running workflow by query, or the
// result of a closed one.
func viewWorkflow(ctx context.Context, c client.Client, cfg *config.Config, info *workflowpb.WorkflowExecutionInfo) (workflowView, error) {
	exec := info.GetExecution()
	v := workflowView{
		WorkflowID: exec.GetWorkflowId(), RunID: exec.GetRunId(), Type: info.GetType().GetName(),
		Status: statusName(info.GetStatus()),
		UI:     runUIURL(cfg, exec.GetWorkflowId(), exec.GetRunId()),
	}
	progress, result := progressAndResult(v.Type)
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		if progress == nil {
			return v, nil
		}
		val, err := c.QueryWorkflow(ctx, v.WorkflowID, v.RunID, workflows.ProgressQuery)
		if err != nil {
			v.Error = fmt.Sprintf("progress query: %v (is a worker polling task queue %s?)", err, cfg.Temporal.TaskQueue)
			return v, nil
		}
		if err := val.Get(progress); err != nil {
			return v, fmt.Errorf("decode progress of %s: %w", v.WorkflowID, err)
		}
		v.Progress = progress
		return v, nil
	}
	if result == nil {
		return v, nil
	}
	err := c.GetWorkflow(ctx, v.WorkflowID, v.RunID).Get(ctx, result)
	if err == nil {
		v.Result = result
		return v, nil
	}
	v.Error = err.Error()
	// A failed backfill carries its result in the error's details.
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(result) == nil {
		v.Result = result
	}
	return v, nil
}

// progressAndResult returns values to decode the progress and result of a
// workflow type into, or nil for types status does not know.
func progressAndResult(workflowType string) (progress, result any) {
	switch workflowType {
	case "PipelineWorkflow":
		return &workflows.Progress{}, &workflows.PipelineResult{}
	case "BackfillWorkflow":
		return &workflows.BackfillProgress{}, &workflows.BackfillResult{}
	case "ArtistRequestWorkflow":
		return &workflows.RequestProgress{}, nil
	case "ArtistRequestRunWorkflow":
		return &workflows.Progress{}, &workflows.RequestRunResult{}
	case "CollectChunkWorkflow":
		// The batches of a large run, and its quota waits.
		return &workflows.Progress{}, nil
	}
	return nil, nil
}

func (v workflowView) renderText(out io.Writer) error {
	fmt.Fprintf(out, "%s  %s  %s\n", v.WorkflowID, v.Type, v.Status)
	switch p := v.Progress.(type) {
	case *workflows.Progress:
		renderPipelineProgress(out, *p)
	case *workflows.BackfillProgress:
		renderBackfillProgress(out, *p)
	case *workflows.RequestProgress:
		renderRequestProgress(out, *p)
	}
	switch r := v.Result.(type) {
	case *workflows.PipelineResult:
		fmt.Fprintf(out, "  date      %s (%s, %s API mode)\n  artists   %d (%d unresolved)\n  rows      %s\n  rejected  %d\n  manifest  %s\n",
			r.Date, kindName(r.Kind), r.Mode, r.Artists, len(r.Unresolved), formatCounts(r.Quality.RowsOut), r.Quality.RejectedTotal(), r.ManifestKey)
	case *workflows.BackfillResult:
		renderBackfillProgress(out, workflows.BackfillProgress{
			From: r.From, To: r.To, Total: r.Total, Completed: r.Completed, Skipped: r.Skipped,
			NotCaptured: r.NotCaptured, Failed: r.Failed, PeakRunning: r.PeakRunning, Executions: r.Executions, Done: true,
		})
	case *workflows.RequestRunResult:
		fmt.Fprintf(out, "  date      %s\n  artists   %d stored in %s\n", r.Date, r.Store.Artists, r.Scope)
		for _, o := range r.Outcomes {
			fmt.Fprintf(out, "  %-9s %s %s\n", o.State, o.Artist, o.ArtistID)
		}
	}
	if v.Error != "" {
		fmt.Fprintf(out, "  error     %s\n", v.Error)
	}
	fmt.Fprintf(out, "  Web UI    %s\n", v.UI)
	return nil
}

func renderPipelineProgress(out io.Writer, p workflows.Progress) {
	fmt.Fprintf(out, "  date      %s\n", p.Date)
	if p.Kind != "" {
		fmt.Fprintf(out, "  kind      %s\n", kindName(p.Kind))
	}
	fmt.Fprintf(out, "  stage     %s", p.Stage)
	if len(p.StagesDone) > 0 {
		fmt.Fprintf(out, "  (done: %s)", strings.Join(p.StagesDone, ", "))
	}
	fmt.Fprintf(out, "\n  artists   %d\n  batches   %d/%d  %s\n", p.Artists, p.BatchesDone, p.BatchesTotal, bar(p.BatchesDone, p.BatchesTotal, 20))
	if len(p.Records) > 0 {
		fmt.Fprintf(out, "  records   %s\n", formatCounts(p.Records))
	}
	fmt.Fprintf(out, "  rejected  %d\n", p.Rejected)
	if line := quotaWaitLine(p.QuotaWaitUntil, time.Now()); line != "" {
		fmt.Fprintf(out, "  spotify   %s\n", line)
	}
	for _, e := range p.Errors {
		fmt.Fprintf(out, "  failure   %s\n", e)
	}
}

// quotaWaitLine says until when a run waits for the Spotify quota, in UTC
// (the worker, the server and the reader may be in three time zones; the
// run's dates are UTC too), with the date when it is not today's and how
// long is left; "" when no wait is on.
func quotaWaitLine(until, now time.Time) string {
	if until.IsZero() {
		return ""
	}
	until, now = until.UTC(), now.UTC()
	at := until.Format("15:04") + " UTC"
	if until.Format(workflows.DateLayout) != now.Format(workflows.DateLayout) {
		at += " on " + until.Format(workflows.DateLayout)
	}
	left := "due now"
	if d := until.Sub(now); d > 0 {
		left = "in " + d.Round(time.Second).String()
	}
	return fmt.Sprintf("waiting for the Spotify quota until %s (%s)", at, left)
}

func renderBackfillProgress(out io.Writer, p workflows.BackfillProgress) {
	settled := p.Settled()
	fmt.Fprintf(out, "  range     %s .. %s (%d dates, %d at once)\n", p.From, p.To, p.Total, max(p.Parallel, p.PeakRunning))
	fmt.Fprintf(out, "  progress  %s %d/%d dates  completed %d  skipped %d  not captured %d  failed %d  running %d\n",
		bar(settled, p.Total, 30), settled, p.Total, len(p.Completed), len(p.Skipped), len(p.NotCaptured), len(p.Failed), len(p.Running))
	if len(p.NotCaptured) > 0 {
		fmt.Fprintf(out, "  gaps      %s (never captured: Spotify keeps no history)\n", joinFirstN(p.NotCaptured, 10))
	}
	if len(p.Running) > 0 {
		fmt.Fprintf(out, "  running   %s\n", strings.Join(p.Running, ", "))
	}
	if !p.Done && !p.StartedAt.IsZero() && !p.Now.IsZero() {
		elapsed := p.Now.Sub(p.StartedAt)
		eta := "unknown until a date settles"
		if settled > 0 {
			eta = (elapsed * time.Duration(p.Total-settled) / time.Duration(settled)).Round(time.Second).String()
		}
		fmt.Fprintf(out, "  elapsed   %s  ETA %s\n", elapsed.Round(time.Second), eta)
	}
	for _, f := range p.Failed {
		fmt.Fprintf(out, "  failed    %s  %s\n", f.Date, firstLine(f.Error))
	}
}

func renderRequestProgress(out io.Writer, p workflows.RequestProgress) {
	fmt.Fprintf(out, "  runs      %d\n  pending   %d\n", p.Runs, len(p.Pending))
	if p.CurrentRun != "" {
		fmt.Fprintf(out, "  running   %s (%d requests)\n", p.CurrentRun, len(p.Running))
	}
	recent := p.Recent
	if len(recent) > 10 {
		recent = recent[len(recent)-10:]
	}
	for _, o := range recent {
		fmt.Fprintf(out, "  %-9s %s %s %s\n", o.State, o.Artist, o.ArtistID, o.Detail)
	}
}

// bar draws done/total as [####------].
func bar(done, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat("-", width) + "]"
	}
	n := min(width, done*width/total)
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "]"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func statusName(s enumspb.WorkflowExecutionStatus) string { return runs.StatusName(s) }

// runRow is one line of the list of runs.
type runRow = runs.Run

// listQuery is the visibility query of the recent pipeline runs, of the
// logical dates from..to when given (to is inclusive: any time of its day).
func listQuery(from, to time.Time) string {
	var conds []string
	if !from.IsZero() {
		conds = append(conds, fmt.Sprintf("PipelineDate >= '%s'", from.UTC().Format(time.RFC3339)))
	}
	if !to.IsZero() {
		conds = append(conds, fmt.Sprintf("PipelineDate < '%s'", to.UTC().AddDate(0, 0, 1).Format(time.RFC3339)))
	}
	if len(conds) == 0 {
		return "PipelineDate IS NOT NULL"
	}
	return strings.Join(conds, " AND ")
}

func listRuns(ctx context.Context, out io.Writer, format string, c client.Client, cfg *config.Config, from, to time.Time, limit int) error {
	runs, err := listWorkflows(ctx, c, cfg, listQuery(from, to), limit)
	if err != nil {
		return err
	}
	backfills, err := listWorkflows(ctx, c, cfg, "WorkflowType = 'BackfillWorkflow' AND ExecutionStatus = 'Running'", 100)
	if err != nil {
		return err
	}
	return render(out, format, runList{Runs: runs, BackfillsRunning: backfills,
		workflowsURL: fmt.Sprintf("%s/namespaces/%s/workflows", uiBase(cfg), cfg.Temporal.Namespace)})
}

// runList is what status shows without an ID.
type runList struct {
	BackfillsRunning []runRow `json:"backfills_running"`
	Runs             []runRow `json:"runs"`
	workflowsURL     string
}

func (l runList) renderText(out io.Writer) error {
	if len(l.Runs) == 0 {
		fmt.Fprintln(out, "no pipeline runs found; start one with `starter run`")
	} else {
		fmt.Fprintf(out, "%-34s %-10s %-16s %7s  %-20s %s\n", "WORKFLOW ID", "DATE", "STATUS", "ARTISTS", "STARTED", "DURATION")
	}
	for _, r := range l.Runs {
		artists := "-"
		if r.Artists != nil {
			artists = fmt.Sprint(*r.Artists)
		}
		dur := "-"
		if !r.Closed.IsZero() {
			dur = r.Closed.Sub(r.Started).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(out, "%-34s %-10s %-16s %7s  %-20s %s\n", r.WorkflowID, r.Date, r.Status, artists,
			r.Started.Local().Format("2006-01-02 15:04:05"), dur)
	}
	for _, b := range l.BackfillsRunning {
		fmt.Fprintf(out, "backfill running: %s (started %s) — `starter status %s`\n",
			b.WorkflowID, b.Started.Local().Format("2006-01-02 15:04:05"), b.WorkflowID)
	}
	fmt.Fprintf(out, "Web UI: %s\n", l.workflowsURL)
	return nil
}

func listWorkflows(ctx context.Context, c client.Client, cfg *config.Config, query string, limit int) ([]runRow, error) {
	return runs.List(ctx, c, cfg.Temporal.Namespace, query, limit)
}

// joinFirstN joins the first n items and says how many more there are.
func joinFirstN(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
