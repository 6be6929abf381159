package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/workflows"
)

const (
	// defaultScheduleID names the schedule when --id is not given.
	defaultScheduleID = "daily-pipeline"
	// defaultScheduleCron runs every day at 03:00 in the schedule's zone.
	defaultScheduleCron = "0 3 * * *"
	// scheduleActionID is the workflow ID of the schedule's action,
	// ScheduledPipelineWorkflow; the server appends the scheduled time, so
	// scheduled runs are named scheduled-pipeline-2026-11-01T03:00:00Z. Each
	// starts or joins pipeline-2026-11-01, the one run of the date.
	scheduleActionID = "scheduled-pipeline"
	// legacyActionWorkflow is the action of schedules created before
	// ScheduledPipelineWorkflow: PipelineWorkflow itself, under
	// pipeline-<scheduled time>. Such runs hand their date to pipeline-D
	// too; `schedule update` moves the schedule to the new action.
	legacyActionWorkflow   = "PipelineWorkflow"
	scheduleActionWorkflow = "ScheduledPipelineWorkflow"
)

// overlapPolicies are the --overlap values.
var overlapPolicies = map[string]enumspb.ScheduleOverlapPolicy{
	"skip":            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	"buffer-one":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer-all":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	"cancel-other":    enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"terminate-other": enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
	"allow-all":       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

func overlapNames() string {
	names := make([]string, 0, len(overlapPolicies))
	for n := range overlapPolicies {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func parseOverlap(value string) (enumspb.ScheduleOverlapPolicy, error) {
	p, ok := overlapPolicies[value]
	if !ok {
		return 0, usagef("--overlap %q: want one of %s", value, overlapNames())
	}
	return p, nil
}

func overlapName(p enumspb.ScheduleOverlapPolicy) string {
	for n, v := range overlapPolicies {
		if v == p {
			return n
		}
	}
	return "skip (server default)"
}

func newScheduleCommand(g *globalFlags) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Create and operate the Temporal Schedule that runs the pipeline",
		Long: `schedule manages a Temporal Schedule whose action is ScheduledPipelineWorkflow,
named scheduled-pipeline-<scheduled time>. Each action's logical date D is
its scheduled time in the schedule's time zone (the TemporalScheduledStartTime
search attribute), never the wall clock. The action starts pipeline-D, or
waits for it when a manual run or a backfill of D is running already, so a
date never has two runs at once.

An action for a date whose capture window has ended (the date plus
pipeline.capture_grace, default 24h) is refused and reported as failed, not
run: Spotify keeps no history, so a late catch-up cannot capture the date.
A catch-up within the grace captures as usual. Schedules created before
ScheduledPipelineWorkflow (action PipelineWorkflow, runs named
pipeline-<scheduled time>) behave the same; "schedule update" moves them to
the new action.

Each subcommand but list takes the schedule ID as its argument or with
--id; without either it acts on ` + defaultScheduleID + ` (delete needs one).`,
		Example: `  starter schedule create
  starter schedule pause daily-pipeline --note "Spotify outage"
  starter schedule describe --id hourly
  starter schedule delete hourly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("schedule needs a subcommand: create, update, describe, list, pause, unpause, trigger, delete or backfill")
		},
	}
	cmd.PersistentFlags().StringVar(&id, "id", defaultScheduleID, "schedule ID")
	cmd.AddCommand(
		newScheduleCreateCommand(g, &id),
		newScheduleUpdateCommand(g, &id),
		newScheduleDescribeCommand(g, &id),
		newScheduleListCommand(g),
		newSchedulePauseCommand(g, &id, true),
		newSchedulePauseCommand(g, &id, false),
		newScheduleTriggerCommand(g, &id),
		newScheduleDeleteCommand(g, &id),
		newScheduleBackfillCommand(g, &id),
	)
	return cmd
}

// scheduleFlags are the spec and policy flags of create and update.
type scheduleFlags struct {
	cron           string
	every          time.Duration
	tz             string
	jitter         time.Duration
	overlap        string
	catchup        time.Duration
	pauseOnFailure bool
	note           string
	paused         bool
	artists        []string
}

func (f *scheduleFlags) register(cmd *cobra.Command, create bool) {
	cmd.Flags().StringVar(&f.cron, "cron", "", `cron expression, e.g. "0 3 * * *" (default every day at 03:00)`)
	cmd.Flags().DurationVar(&f.every, "every", 0, "fixed interval instead of --cron, e.g. 6h or 1s")
	cmd.Flags().StringVar(&f.tz, "tz", "UTC", "IANA time zone of the spec and of the runs' logical dates")
	cmd.Flags().DurationVar(&f.jitter, "jitter", 0, "start each run up to this much later, at random")
	cmd.Flags().StringVar(&f.overlap, "overlap", "skip", "when a run is still running: "+overlapNames())
	cmd.Flags().DurationVar(&f.catchup, "catchup-window", 24*time.Hour, "after an outage, still start runs missed within this window")
	cmd.Flags().BoolVar(&f.pauseOnFailure, "pause-on-failure", false, "pause the schedule when a run fails")
	cmd.Flags().StringVar(&f.note, "note", "", "note shown with the schedule (e.g. why it is paused)")
	cmd.Flags().StringSliceVar(&f.artists, "artists", nil, "artist names or Spotify IDs, comma-separated (default: the tracked set)")
	if create {
		cmd.Flags().BoolVar(&f.paused, "paused", false, "create the schedule paused")
	}
}

// validate checks the flags that changed (all of them for create).
func (f *scheduleFlags) validate(cmd *cobra.Command) error {
	changed := cmd.Flags().Changed
	if f.cron != "" && f.every != 0 {
		return usagef("--cron and --every exclude each other: give one")
	}
	if changed("cron") && strings.TrimSpace(f.cron) == "" {
		return usagef(`--cron "": want a cron expression such as "0 3 * * *"`)
	}
	if f.cron != "" {
		if err := checkCron(f.cron); err != nil {
			return err
		}
	}
	if changed("every") && f.every < time.Second {
		return usagef("--every %s: want an interval of at least 1s", f.every)
	}
	if _, err := time.LoadLocation(f.tz); err != nil || f.tz == "" {
		return usagef("--tz %q is not an IANA time zone such as UTC or Europe/Berlin", f.tz)
	}
	if f.jitter < 0 {
		return usagef("--jitter %s: want a duration >= 0", f.jitter)
	}
	if f.catchup < 10*time.Second {
		return usagef("--catchup-window %s: want at least 10s (Temporal's minimum)", f.catchup)
	}
	if _, err := parseOverlap(f.overlap); err != nil {
		return err
	}
	if changed("artists") {
		var clean []string
		for _, a := range f.artists {
			if a = strings.TrimSpace(a); a != "" {
				clean = append(clean, a)
			}
		}
		if len(clean) == 0 {
			return usagef("--artists %q names no artist", strings.Join(f.artists, ","))
		}
		f.artists = clean
	}
	return nil
}

func (f *scheduleFlags) spec() client.ScheduleSpec {
	spec := client.ScheduleSpec{TimeZoneName: f.tz, Jitter: f.jitter}
	switch {
	case f.every != 0:
		spec.Intervals = []client.ScheduleIntervalSpec{{Every: f.every}}
	case f.cron != "":
		spec.CronExpressions = []string{f.cron}
	default:
		spec.CronExpressions = []string{defaultScheduleCron}
	}
	return spec
}

// scheduleAction starts scheduled-pipeline-<scheduled time> with the
// schedule's zone, so the run takes its logical date from
// TemporalScheduledStartTime, and hands the date to pipeline-D.
func scheduleAction(cfg *config.Config, in workflows.PipelineInput) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:        scheduleActionID,
		Workflow:  workflows.ScheduledPipelineWorkflow,
		Args:      []any{in},
		TaskQueue: cfg.Temporal.TaskQueue,
		Priority:  workflows.RunPriority(),
	}
}

func newScheduleCreateCommand(g *globalFlags, idFlag *string) *cobra.Command {
	f := &scheduleFlags{}
	cmd := &cobra.Command{
		Use:   "create [ID | --id ID] [--cron EXPR | --every DURATION] [--tz ZONE]",
		Short: "Create the schedule (default: every day at 03:00 UTC, overlap skip)",
		Example: `  starter schedule create
  starter schedule create --id hourly --every 1h --overlap buffer-one
  starter schedule create --cron "30 4 * * 1-5" --tz Europe/Berlin --jitter 5m`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := scheduleID(cmd, *idFlag, args)
			if err != nil {
				return err
			}
			if err := checkScheduleID(id); err != nil {
				return err
			}
			if err := f.validate(cmd); err != nil {
				return err
			}
			overlap, _ := parseOverlap(f.overlap)
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			in := workflows.PipelineInput{
				TimeZone: f.tz, Artists: f.artists, Trigger: "schedule",
				Parallelism: cfg.Pipeline.Parallelism, SpotifyTaskQueue: cfg.Temporal.SpotifyTaskQueue,
				CaptureGrace: cfg.Pipeline.CaptureGrace,
			}
			_, err = c.ScheduleClient().Create(cmd.Context(), client.ScheduleOptions{
				ID: id, Spec: f.spec(), Action: scheduleAction(cfg, in),
				Overlap: overlap, CatchupWindow: f.catchup, PauseOnFailure: f.pauseOnFailure,
				Note: f.note, Paused: f.paused,
			})
			if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
				return usagef("schedule %q exists already: change it with `starter schedule update --id %s …`, or delete it first", id, id)
			}
			if err != nil {
				return scheduleError("create", id, cfg, err)
			}
			return describeSchedule(cmd.Context(), cmd.OutOrStdout(), g.output, c, cfg, id, "created")
		},
	}
	f.register(cmd, true)
	return cmd
}

func newScheduleUpdateCommand(g *globalFlags, idFlag *string) *cobra.Command {
	f := &scheduleFlags{}
	cmd := &cobra.Command{
		Use:   "update [ID | --id ID] [flags]",
		Short: "Change the spec, policies or artists of the schedule; flags not given stay as they are",
		Long: `update changes what its flags say and keeps the rest. A schedule created
before ScheduledPipelineWorkflow (action PipelineWorkflow) gets the new
action with any update, and the capture grace of pipeline.capture_grace
when it has none.`,
		Example: `  starter schedule update --cron "0 5 * * *"
  starter schedule update --overlap buffer-one --catchup-window 72h`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := scheduleID(cmd, *idFlag, args)
			if err != nil {
				return err
			}
			if err := f.validate(cmd); err != nil {
				return err
			}
			u := scheduleUpdate{flags: f, changed: cmd.Flags().Changed}
			if !u.changesAnything() {
				return usagef("update needs at least one of --cron, --every, --tz, --jitter, --overlap, --catchup-window, --pause-on-failure, --note, --artists")
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := updateSchedule(cmd.Context(), c, cfg, id, u); err != nil {
				return err
			}
			return describeSchedule(cmd.Context(), cmd.OutOrStdout(), g.output, c, cfg, id, "updated")
		},
	}
	f.register(cmd, false)
	return cmd
}

// scheduleUpdate is what schedule update changes: the flags given, valid.
type scheduleUpdate struct {
	flags   *scheduleFlags
	changed func(flag string) bool
}

func (u scheduleUpdate) changesAnything() bool {
	for _, flag := range []string{"cron", "every", "tz", "jitter", "overlap", "catchup-window", "pause-on-failure", "note", "artists"} {
		if u.changed(flag) {
			return true
		}
	}
	return false
}

// updateSchedule applies u to schedule id.
func updateSchedule(ctx context.Context, c client.Client, cfg *config.Config, id string, u scheduleUpdate) error {
	err := c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			if err := u.apply(&s, cfg.Pipeline.CaptureGrace); err != nil {
				return nil, err
			}
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return scheduleError("update", id, cfg, err)
	}
	return nil
}

// apply changes s as the flags say and keeps the rest. Every update
// writes the action, which moves a schedule of the old action to the new
// one, with captureGrace when it has none.
func (u scheduleUpdate) apply(s *client.Schedule, captureGrace time.Duration) error {
	f, changed := u.flags, u.changed
	if changed("cron") || changed("every") || changed("tz") || changed("jitter") {
		spec := s.Spec
		if spec == nil {
			spec = &client.ScheduleSpec{}
		}
		if changed("cron") || changed("every") {
			next := f.spec()
			spec.Calendars, spec.CronExpressions, spec.Intervals = nil, next.CronExpressions, next.Intervals
		}
		if changed("tz") {
			spec.TimeZoneName = f.tz
		}
		if changed("jitter") {
			spec.Jitter = f.jitter
		}
		s.Spec = spec
	}
	if s.Policy == nil {
		s.Policy = &client.SchedulePolicies{}
	}
	if changed("overlap") {
		s.Policy.Overlap, _ = parseOverlap(f.overlap)
	}
	if changed("catchup-window") {
		s.Policy.CatchupWindow = f.catchup
	}
	if changed("pause-on-failure") {
		s.Policy.PauseOnFailure = f.pauseOnFailure
	}
	if changed("note") {
		if s.State == nil {
			s.State = &client.ScheduleState{}
		}
		s.State.Note = f.note
	}
	action, in, err := pipelineAction(s.Action)
	if err != nil {
		return err
	}
	if changed("tz") {
		in.TimeZone = f.tz
	}
	if changed("artists") {
		in.Artists = f.artists
	}
	if in.CaptureGrace == 0 {
		in.CaptureGrace = captureGrace
	}
	action.ID, action.Workflow, action.Args = scheduleActionID, scheduleActionWorkflow, []any{in}
	action.Priority = workflows.RunPriority()
	s.Action = action
	return nil
}

// pipelineAction returns the schedule's action and its PipelineInput. Both
// the action of today (ScheduledPipelineWorkflow) and the one of schedules
// created before it (PipelineWorkflow) take one PipelineInput.
func pipelineAction(a client.ScheduleAction) (*client.ScheduleWorkflowAction, workflows.PipelineInput, error) {
	var in workflows.PipelineInput
	action, ok := a.(*client.ScheduleWorkflowAction)
	if !ok || len(action.Args) != 1 {
		return nil, in, fmt.Errorf("the schedule's action is not a %s start with one argument: recreate the schedule", scheduleActionWorkflow)
	}
	if name := actionWorkflowName(action); name != scheduleActionWorkflow && name != legacyActionWorkflow {
		return nil, in, fmt.Errorf("the schedule's action starts %s, not %s: recreate the schedule", name, scheduleActionWorkflow)
	}
	switch arg := action.Args[0].(type) {
	case *commonpb.Payload:
		if err := converter.GetDefaultDataConverter().FromPayload(arg, &in); err != nil {
			return nil, in, fmt.Errorf("read the schedule's PipelineInput: %w", err)
		}
	case workflows.PipelineInput:
		in = arg
	default:
		return nil, in, fmt.Errorf("the schedule's action argument is a %T, not a PipelineInput: recreate the schedule", arg)
	}
	return action, in, nil
}

// actionWorkflowName is the workflow type an action starts: a name when
// described by the server, a function when built here.
func actionWorkflowName(a *client.ScheduleWorkflowAction) string {
	switch w := a.Workflow.(type) {
	case string:
		return w
	case func(workflow.Context, workflows.PipelineInput) (workflows.ScheduledResult, error):
		return scheduleActionWorkflow
	case func(workflow.Context, workflows.PipelineInput) (workflows.PipelineResult, error):
		return legacyActionWorkflow
	}
	return fmt.Sprintf("%T", a.Workflow)
}

func newScheduleDescribeCommand(g *globalFlags, idFlag *string) *cobra.Command {
	return &cobra.Command{
		Use:   "describe [ID | --id ID]",
		Short: "Show the schedule: spec, policies, next run times and recent actions",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := scheduleID(cmd, *idFlag, args)
			if err != nil {
				return err
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			return describeSchedule(cmd.Context(), cmd.OutOrStdout(), g.output, c, cfg, id, "")
		},
	}
}

// scheduleView is what describe shows, also as JSON.
type scheduleView struct {
	ID             string         `json:"id"`
	Spec           string         `json:"spec"`
	TimeZone       string         `json:"time_zone"`
	Overlap        string         `json:"overlap"`
	CatchupWindow  string         `json:"catchup_window"`
	PauseOnFailure bool           `json:"pause_on_failure"`
	Paused         bool           `json:"paused"`
	Note           string         `json:"note,omitempty"`
	Artists        []string       `json:"artists,omitempty"`
	Actions        int            `json:"actions"`
	Missed         int            `json:"missed_catchup_window"`
	Skipped        int            `json:"skipped_overlap"`
	Running        []string       `json:"running"`
	NextRuns       []time.Time    `json:"next_runs"`
	Recent         []recentAction `json:"recent_actions"`

	verb string         // what was done, such as "created"; "" for describe
	loc  *time.Location // the spec's zone, of the times in text
	ui   string         // the schedule's Web UI page
}

type recentAction struct {
	Scheduled  time.Time `json:"scheduled"`
	Actual     time.Time `json:"actual"`
	WorkflowID string    `json:"workflow_id"`
	// Date is the action's logical date: its scheduled time in the zone.
	Date string `json:"date,omitempty"`
	// Pipeline is the run of the date the action started or joined,
	// pipeline-Date; empty when it was refused.
	Pipeline string `json:"pipeline,omitempty"`
	// Outcome is running, completed, joined (completed, waiting for a
	// pipeline-D already running), refused (outside the capture window)
	// or the action's closing status.
	Outcome string `json:"outcome,omitempty"`
}

// actionOutcome describes what the action run id/runID did for date.
func actionOutcome(ctx context.Context, c client.Client, ra *recentAction, runID string) {
	ra.Pipeline = workflows.PipelineWorkflowID(ra.Date)
	desc, err := c.DescribeWorkflowExecution(ctx, ra.WorkflowID, runID)
	if err != nil {
		ra.Outcome = "unknown (" + firstLine(err.Error()) + ")"
		return
	}
	info := desc.GetWorkflowExecutionInfo()
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		ra.Outcome = "running"
		return
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
	default:
		ra.Outcome = strings.ToLower(strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
		return
	}
	run := c.GetWorkflow(ctx, ra.WorkflowID, runID)
	if info.GetType().GetName() != scheduleActionWorkflow {
		// A schedule of the old action: its result is the pipeline's.
		ra.Outcome = "completed"
		if err := run.Get(ctx, nil); err != nil {
			ra.Outcome = "failed"
			if workflows.HasErrorType(err, workflows.ErrCaptureRefused) {
				ra.Outcome, ra.Pipeline = "refused", ""
			}
		}
		return
	}
	var res workflows.ScheduledResult
	if err := run.Get(ctx, &res); err != nil {
		ra.Outcome = "failed"
		if workflows.HasErrorType(err, workflows.ErrCaptureRefused) {
			ra.Outcome, ra.Pipeline = "refused", ""
		}
		return
	}
	ra.Pipeline, ra.Outcome = res.WorkflowID, "completed"
	if res.Attached {
		ra.Outcome = "joined"
	}
}

func describeSchedule(ctx context.Context, out io.Writer, format string, c client.Client, cfg *config.Config, id, verb string) error {
	d, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return scheduleError("describe", id, cfg, err)
	}
	v := scheduleView{
		ID: id, Actions: d.Info.NumActions, Missed: d.Info.NumActionsMissedCatchupWindow,
		Skipped: d.Info.NumActionsSkippedOverlap, Running: []string{}, NextRuns: d.Info.NextActionTimes,
		Recent: []recentAction{},
	}
	if s := d.Schedule.Spec; s != nil {
		v.Spec, v.TimeZone = formatSpec(*s), s.TimeZoneName
	}
	if v.TimeZone == "" {
		v.TimeZone = "UTC"
	}
	if p := d.Schedule.Policy; p != nil {
		v.Overlap, v.CatchupWindow, v.PauseOnFailure = overlapName(p.Overlap), p.CatchupWindow.String(), p.PauseOnFailure
	}
	if st := d.Schedule.State; st != nil {
		v.Paused, v.Note = st.Paused, st.Note
	}
	actionZone := v.TimeZone
	if _, in, err := pipelineAction(d.Schedule.Action); err == nil {
		v.Artists = in.Artists
		if in.TimeZone != "" {
			actionZone = in.TimeZone
		}
	}
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	dateLoc, err := time.LoadLocation(actionZone)
	if err != nil {
		dateLoc = loc
	}
	for _, r := range d.Info.RunningWorkflows {
		v.Running = append(v.Running, r.WorkflowID)
	}
	for _, r := range d.Info.RecentActions {
		ra := recentAction{Scheduled: r.ScheduleTime, Actual: r.ActualTime,
			Date: r.ScheduleTime.In(dateLoc).Format(workflows.DateLayout)}
		if r.StartWorkflowResult != nil {
			ra.WorkflowID = r.StartWorkflowResult.WorkflowID
			actionOutcome(ctx, c, &ra, r.StartWorkflowResult.FirstExecutionRunID)
		}
		v.Recent = append(v.Recent, ra)
	}
	v.verb, v.loc = verb, loc
	v.ui = fmt.Sprintf("%s/namespaces/%s/schedules/%s", uiBase(cfg), cfg.Temporal.Namespace, id)
	return render(out, format, v)
}

func (v scheduleView) renderText(out io.Writer) error {
	id, loc := v.ID, v.loc
	if v.verb != "" {
		fmt.Fprintf(out, "%s schedule %s\n", v.verb, id)
	}
	paused := "no"
	if v.Paused {
		paused = "yes"
	}
	fmt.Fprintf(out, "schedule %s\n  spec        %s in %s\n  overlap     %s, catch-up window %s, pause on failure %t\n  paused      %s\n",
		id, v.Spec, v.TimeZone, v.Overlap, v.CatchupWindow, v.PauseOnFailure, paused)
	if v.Note != "" {
		fmt.Fprintf(out, "  note        %s\n", v.Note)
	}
	artists := "the tracked set"
	if len(v.Artists) > 0 {
		artists = strings.Join(v.Artists, ", ")
	}
	fmt.Fprintf(out, "  artists     %s\n  actions     %d taken, %d missed the catch-up window, %d skipped (overlap)\n",
		artists, v.Actions, v.Missed, v.Skipped)
	for _, r := range v.Running {
		fmt.Fprintf(out, "  running     %s\n", r)
	}
	for i, t := range v.NextRuns {
		label := ""
		if i == 0 {
			label = "next runs"
		}
		fmt.Fprintf(out, "  %-11s %s\n", label, t.In(loc).Format("2006-01-02 15:04:05 MST"))
	}
	for i, r := range v.Recent {
		label := ""
		if i == 0 {
			label = "recent"
		}
		ran := "not started"
		if r.Pipeline != "" {
			ran = "→ " + r.Pipeline
		}
		fmt.Fprintf(out, "  %-11s %s → %s %s (%s)\n", label, r.Scheduled.In(loc).Format("2006-01-02 15:04:05 MST"),
			r.WorkflowID, ran, r.Outcome)
	}
	fmt.Fprintf(out, "  Web UI      %s\n", v.ui)
	return nil
}

// formatSpec renders a described spec: cron expressions and intervals as
// given, calendars (the server's form of cron) field by field.
func formatSpec(s client.ScheduleSpec) string {
	var parts []string
	for _, c := range s.CronExpressions {
		parts = append(parts, fmt.Sprintf("cron %q", c))
	}
	for _, iv := range s.Intervals {
		p := "every " + iv.Every.String()
		if iv.Offset != 0 {
			p += " offset " + iv.Offset.String()
		}
		parts = append(parts, p)
	}
	for _, c := range s.Calendars {
		parts = append(parts, formatCalendar(c))
	}
	if s.Jitter > 0 {
		parts = append(parts, "jitter "+s.Jitter.String())
	}
	if len(parts) == 0 {
		return "no times (runs only when triggered or backfilled)"
	}
	return strings.Join(parts, "; ")
}

func formatCalendar(c client.ScheduleCalendarSpec) string {
	fields := []struct {
		name   string
		ranges []client.ScheduleRange
		lo, hi int
	}{
		{"month", c.Month, 1, 12}, {"day", c.DayOfMonth, 1, 31}, {"weekday", c.DayOfWeek, 0, 6},
		{"hour", c.Hour, 0, 23}, {"minute", c.Minute, 0, 59}, {"second", c.Second, 0, 59},
	}
	var parts []string
	for _, f := range fields {
		if len(f.ranges) == 0 || (len(f.ranges) == 1 && f.ranges[0].Start == f.lo && f.ranges[0].End == f.hi && f.ranges[0].Step <= 1) {
			continue
		}
		var rs []string
		for _, r := range f.ranges {
			s := fmt.Sprint(r.Start)
			if r.End > r.Start {
				s += fmt.Sprintf("-%d", r.End)
			}
			if r.Step > 1 {
				s += fmt.Sprintf("/%d", r.Step)
			}
			rs = append(rs, s)
		}
		parts = append(parts, f.name+"="+strings.Join(rs, ","))
	}
	if c.Comment != "" {
		parts = append(parts, "("+c.Comment+")")
	}
	return "calendar " + strings.Join(parts, " ")
}

func newScheduleListCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the schedules of the namespace",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			it, err := c.ScheduleClient().List(cmd.Context(), client.ScheduleListOptions{PageSize: 100})
			if err != nil {
				return fmt.Errorf("list schedules of namespace %s: %w", cfg.Temporal.Namespace, err)
			}
			entries := scheduleList{}
			for it.HasNext() {
				s, err := it.Next()
				if err != nil {
					return fmt.Errorf("list schedules of namespace %s: %w", cfg.Temporal.Namespace, err)
				}
				e := scheduleEntry{ID: s.ID, Paused: s.Paused, Note: s.Note, Workflow: s.WorkflowType.Name}
				if s.Spec != nil {
					e.Spec = formatSpec(*s.Spec)
				}
				if len(s.NextActionTimes) > 0 {
					e.NextRun = s.NextActionTimes[0]
				}
				entries = append(entries, e)
			}
			sort.Slice(entries, func(i, j int) bool { return entries[i].ID < entries[j].ID })
			return render(cmd.OutOrStdout(), g.output, entries)
		},
	}
}

// scheduleList is what schedule list shows, sorted by ID.
type scheduleList []scheduleEntry

type scheduleEntry struct {
	ID       string    `json:"id"`
	Spec     string    `json:"spec"`
	Paused   bool      `json:"paused"`
	Note     string    `json:"note,omitempty"`
	Workflow string    `json:"workflow"`
	NextRun  time.Time `json:"next_run,omitzero"`
}

func (l scheduleList) renderText(out io.Writer) error {
	if len(l) == 0 {
		fmt.Fprintln(out, "no schedules; create one with `starter schedule create`")
		return nil
	}
	fmt.Fprintf(out, "%-24s %-7s %-20s %s\n", "ID", "PAUSED", "NEXT RUN", "SPEC")
	for _, e := range l {
		next := "-"
		if !e.NextRun.IsZero() && !e.Paused {
			next = e.NextRun.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(out, "%-24s %-7t %-20s %s\n", e.ID, e.Paused, next, e.Spec)
	}
	return nil
}

func newSchedulePauseCommand(g *globalFlags, idFlag *string, pause bool) *cobra.Command {
	var note string
	use, short, verb := "unpause", "Resume the schedule", "unpaused"
	if pause {
		use, short, verb = "pause", "Pause the schedule: no new runs until unpause; running ones go on", "paused"
	}
	cmd := &cobra.Command{
		Use:   use + " [ID | --id ID] [--note TEXT]",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := scheduleID(cmd, *idFlag, args)
			if err != nil {
				return err
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			h := c.ScheduleClient().GetHandle(cmd.Context(), id)
			if note == "" {
				note = verb + " with `starter schedule " + use + "`"
			}
			if pause {
				err = h.Pause(cmd.Context(), client.SchedulePauseOptions{Note: note})
			} else {
				err = h.Unpause(cmd.Context(), client.ScheduleUnpauseOptions{Note: note})
			}
			if err != nil {
				return scheduleError(use, id, cfg, err)
			}
			return render(cmd.OutOrStdout(), g.output, scheduleDone{Action: verb, ID: id, Note: note})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why, shown with the schedule")
	return cmd
}

func newScheduleTriggerCommand(g *globalFlags, idFlag *string) *cobra.Command {
	var overlap string
	cmd := &cobra.Command{
		Use:   "trigger [ID | --id ID]",
		Short: "Start a run of the schedule now",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := scheduleID(cmd, *idFlag, args)
			if err != nil {
				return err
			}
			var policy enumspb.ScheduleOverlapPolicy
			if overlap != "" {
				p, err := parseOverlap(overlap)
				if err != nil {
					return err
				}
				policy = p
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.ScheduleClient().GetHandle(cmd.Context(), id).Trigger(cmd.Context(),
				client.ScheduleTriggerOptions{Overlap: policy}); err != nil {
				return scheduleError("trigger", id, cfg, err)
			}
			return render(cmd.OutOrStdout(), g.output, scheduleDone{Action: "triggered", ID: id})
		},
	}
	cmd.Flags().StringVar(&overlap, "overlap", "", "overlap policy of this run (default: the schedule's): "+overlapNames())
	return cmd
}

func newScheduleDeleteCommand(g *globalFlags, idFlag *string) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID | --id ID",
		Short: "Delete the schedule; runs it started are not affected",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := scheduleID(cmd, *idFlag, args)
			if err != nil {
				return err
			}
			if len(args) == 0 && !cmd.Flags().Changed("id") {
				return usagef("delete needs --id or the ID as argument, such as `starter schedule delete %s`: name the schedule to delete (see `starter schedule list`)", defaultScheduleID)
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.ScheduleClient().GetHandle(cmd.Context(), id).Delete(cmd.Context()); err != nil {
				return scheduleError("delete", id, cfg, err)
			}
			return render(cmd.OutOrStdout(), g.output, scheduleDone{Action: "deleted", ID: id})
		},
	}
}

func newScheduleBackfillCommand(g *globalFlags, idFlag *string) *cobra.Command {
	var (
		from, to string
		overlap  string
		maxDays  int
	)
	cmd := &cobra.Command{
		Use:   "backfill [ID | --id ID] --from DATE --to DATE",
		Short: "Have the schedule take the actions it would have taken for past dates (within the capture grace)",
		Long: `backfill asks the schedule to take the actions its spec gives for the days
--from to --to (inclusive, in the schedule's time zone), with the schedule's
backfill API. Each action is named scheduled-pipeline-<scheduled time> and
runs the date of its scheduled time through pipeline-D. Only dates whose
capture window is still open (the date plus pipeline.capture_grace) are
captured; older ones are refused and counted as failed actions, not run,
since Spotify keeps no history: reprocess dates captured before with
"starter backfill". With --overlap buffer-all (the default) the actions go
one after another.`,
		Example: `  starter schedule backfill --from 2026-11-01 --to 2026-11-03`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := scheduleID(cmd, *idFlag, args)
			if err != nil {
				return err
			}
			if from == "" || to == "" {
				return usagef("schedule backfill needs --from and --to, such as --from 2026-11-01 --to 2026-11-03")
			}
			fromDay, err := pastDay("from", from)
			if err != nil {
				return err
			}
			toDay, err := pastDay("to", to)
			if err != nil {
				return err
			}
			if fromDay.After(toDay) {
				return usagef("--from %s is after --to %s: give the earlier date first", from, to)
			}
			if days := int(toDay.Sub(fromDay)/(24*time.Hour)) + 1; days > maxDays {
				return usagef("%s .. %s spans %d days, more than --max-days %d: split the range or raise --max-days", from, to, days, maxDays)
			}
			policy, err := parseOverlap(overlap)
			if err != nil {
				return err
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			h := c.ScheduleClient().GetHandle(ctx, id)
			d, err := h.Describe(ctx)
			if err != nil {
				return scheduleError("backfill", id, cfg, err)
			}
			loc := time.UTC
			if d.Schedule.Spec != nil && d.Schedule.Spec.TimeZoneName != "" {
				if loc, err = time.LoadLocation(d.Schedule.Spec.TimeZoneName); err != nil {
					return fmt.Errorf("schedule %s has time zone %q, unknown here: %w", id, d.Schedule.Spec.TimeZoneName, err)
				}
			}
			start, end := backfillWindow(fromDay, toDay, loc)
			if err := h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{
				{Start: start, End: end, Overlap: policy},
			}}); err != nil {
				return scheduleError("backfill", id, cfg, err)
			}
			return render(cmd.OutOrStdout(), g.output, scheduleBackfill{End: end, From: from, ID: id, Overlap: overlap, Start: start, To: to})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first day YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&to, "to", "", "last day YYYY-MM-DD, inclusive (required)")
	cmd.Flags().StringVar(&overlap, "overlap", "buffer-all", "overlap policy of the backfilled runs: "+overlapNames())
	cmd.Flags().IntVar(&maxDays, "max-days", defaultMaxBackfillDays, "refuse ranges longer than this many days")
	return cmd
}

// backfillWindow is the time range of the days from..to in loc: from
// midnight of the first day to the last second of the last day. The
// server takes both ends as inclusive.
func backfillWindow(from, to time.Time, loc *time.Location) (time.Time, time.Time) {
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc).Add(-time.Second)
	return start, end
}

// scheduleBackfill is what schedule backfill shows of the backfill asked.
type scheduleBackfill struct {
	End     time.Time `json:"end"`
	From    string    `json:"from"`
	ID      string    `json:"id"`
	Overlap string    `json:"overlap"`
	Start   time.Time `json:"start"`
	To      string    `json:"to"`
}

func (b scheduleBackfill) renderText(out io.Writer) error {
	fmt.Fprintf(out, "schedule %s backfills %s .. %s (%s to %s, overlap %s)\n  watch with `starter schedule describe --id %s` or `starter status --from %s --to %s`\n",
		b.ID, b.From, b.To, b.Start.Format(time.RFC3339), b.End.Format(time.RFC3339), b.Overlap, b.ID, b.From, b.To)
	return nil
}

// scheduleDone is what pause, unpause, trigger and delete show.
type scheduleDone struct {
	Action string `json:"action"`
	ID     string `json:"id"`
	Note   string `json:"note"`
}

func (d scheduleDone) renderText(out io.Writer) error {
	fmt.Fprintf(out, "%s schedule %s\n", d.Action, d.ID)
	return nil
}

// scheduleID is the schedule a subcommand acts on: its argument, else --id
// (default daily-pipeline). Both given must name the same schedule.
func scheduleID(cmd *cobra.Command, idFlag string, args []string) (string, error) {
	if len(args) == 0 {
		return idFlag, nil
	}
	if cmd.Flags().Changed("id") && idFlag != args[0] {
		return "", usagef("schedule ID %q and --id %q differ: give the ID once, as argument or with --id", args[0], idFlag)
	}
	return args[0], nil
}

// checkScheduleID refuses IDs Temporal would refuse, with a clearer message.
func checkScheduleID(id string) error {
	if strings.TrimSpace(id) == "" || len(id) > 200 || strings.ContainsAny(id, " \t\n/") {
		return usagef("--id %q: want a schedule ID of up to 200 characters without spaces or slashes", id)
	}
	return nil
}

// scheduleError turns an unknown schedule or a spec the server refuses
// into a usage error, and names the operation and schedule otherwise.
func scheduleError(op, id string, cfg *config.Config, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return usagef("no schedule %q in namespace %s: list them with `starter schedule list`", id, cfg.Temporal.Namespace)
	}
	var bad *serviceerror.InvalidArgument
	if errors.As(err, &bad) {
		return usagef("%s schedule %s: %s", op, id, bad.Message)
	}
	return fmt.Errorf("%s schedule %s: %w", op, id, err)
}
