package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/internal/runs"
	"github.com/metronome-data/metronome/internal/webui"
	"github.com/metronome-data/metronome/workflows"
)

// runsListed bounds the runs in progress and the failures /runs shows.
const (
	runningListed  = 50
	failuresListed = 10
)

// runsData is the content of /runs.
type runsData struct {
	Now       time.Time
	Freshness freshness
	// TemporalDown is why the Temporal sections are empty.
	TemporalDown string
	WorkflowsURL string
	Schedules    []scheduleLine
	Running      []runLine
	Failures     []runLine
}

// freshness is the newest complete date of the lake and how old it is.
type freshness struct {
	Date      string
	WrittenAt time.Time
	// Age is since the manifest was written; DaysBehind is from the date
	// to today (UTC).
	Age        time.Duration
	DaysBehind int
	Error      string
}

type scheduleLine struct {
	ID, Spec, Workflow, Note string
	Paused                   bool
	Next                     []time.Time
	LastRun                  string
	LastAt                   time.Time
}

// runLine is a run in progress or a failure.
type runLine struct {
	Run    runs.Run
	URL    string
	Stage  string
	Done   int
	Total  int
	Detail string
	Error  string
}

func (c *Console) runsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data := runsData{Now: c.o.Now().UTC(), Freshness: c.freshness(ctx)}
	if c.o.WebUIURL != "" {
		data.WorkflowsURL = webui.WorkflowsURL(c.o.WebUIURL, c.o.Namespace)
	}
	p := page{Name: "runs", Title: "Runs"}
	err := c.withTemporal(ctx, func(ctx context.Context, tc client.Client) error {
		var err error
		if data.Schedules, err = listSchedules(ctx, tc); err != nil {
			return err
		}
		if data.Running, err = c.runLines(ctx, tc, "ExecutionStatus = 'Running' AND "+pipelineTypes, runningListed, c.progressOf); err != nil {
			return err
		}
		failed := "(ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut' OR ExecutionStatus = 'Terminated') AND " + pipelineTypes
		data.Failures, err = c.runLines(ctx, tc, failed, failuresListed, errorOf)
		return err
	})
	if err != nil {
		data.TemporalDown = c.temporalBanner(err, "schedules, runs in progress and failures are")
		p.Banners = append(p.Banners, data.TemporalDown)
	}
	p.Data = data
	c.render(w, r, http.StatusOK, "runs", p)
}

// pipelineTypes are the workflows /runs lists: the date runs and the
// backfills of ranges.
const pipelineTypes = "(WorkflowType = 'PipelineWorkflow' OR WorkflowType = 'BackfillWorkflow')"

// freshness reads the newest processed date from the lake.
func (c *Console) freshness(ctx context.Context) freshness {
	var f freshness
	dates, err := c.processedDates(ctx)
	if err != nil {
		f.Error = err.Error()
		return f
	}
	if len(dates) == 0 {
		f.Error = fmt.Sprintf("the lake at %s holds no processed date yet: run `starter run` or `starter dev`", c.o.LakeURL)
		return f
	}
	f.Date = dates[len(dates)-1]
	now := c.o.Now().UTC()
	day, _ := time.Parse(workflows.DateLayout, f.Date)
	f.DaysBehind = int(now.Truncate(24*time.Hour).Sub(day) / (24 * time.Hour))
	m, err := c.manifest(ctx, f.Date)
	if err != nil {
		f.Error = err.Error()
		return f
	}
	if t, err := time.Parse(time.RFC3339, m.WrittenAt); err == nil {
		f.WrittenAt, f.Age = t, now.Sub(t)
	}
	return f
}

func listSchedules(ctx context.Context, tc client.Client) ([]scheduleLine, error) {
	iter, err := tc.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var lines []scheduleLine
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		l := scheduleLine{ID: e.ID, Spec: describeSpec(e.Spec), Workflow: e.WorkflowType.Name, Note: e.Note,
			Paused: e.Paused, Next: e.NextActionTimes}
		if n := len(e.RecentActions); n > 0 {
			last := e.RecentActions[n-1]
			l.LastAt = last.ActualTime
			if last.StartWorkflowResult != nil {
				l.LastRun = last.StartWorkflowResult.WorkflowID
			}
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// describeSpec says when a schedule fires, in UTC unless it says.
func describeSpec(s *client.ScheduleSpec) string {
	if s == nil {
		return "-"
	}
	var parts []string
	parts = append(parts, s.CronExpressions...)
	for _, iv := range s.Intervals {
		parts = append(parts, "every "+iv.Every.String())
	}
	for _, cal := range s.Calendars {
		if cal.Comment != "" {
			parts = append(parts, cal.Comment)
			continue
		}
		parts = append(parts, fmt.Sprintf("daily at %s:%s", firstRange(cal.Hour, "00"), firstRange(cal.Minute, "00")))
	}
	if len(parts) == 0 {
		return "-"
	}
	tz := s.TimeZoneName
	if tz == "" {
		tz = "UTC"
	}
	return strings.Join(parts, "; ") + " (" + tz + ")"
}

func firstRange(r []client.ScheduleRange, zero string) string {
	if len(r) == 0 {
		return zero
	}
	return fmt.Sprintf("%02d", r[0].Start)
}

// runLines lists the runs of query and fills each with detail, at once.
func (c *Console) runLines(ctx context.Context, tc client.Client, query string, limit int,
	detail func(ctx context.Context, tc client.Client, l *runLine)) ([]runLine, error) {
	list, err := runs.List(ctx, tc, c.o.Namespace, query, limit)
	if err != nil {
		return nil, err
	}
	lines := make([]runLine, len(list))
	var wg sync.WaitGroup
	for i, r := range list {
		lines[i] = runLine{Run: r, URL: c.runURL(r.WorkflowID, r.RunID)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			detail(ctx, tc, &lines[i])
		}()
	}
	wg.Wait()
	return lines, nil
}

// progressOf fills a running run's stage and batches from its progress
// query.
func (c *Console) progressOf(ctx context.Context, tc client.Client, l *runLine) {
	val, err := tc.QueryWorkflow(ctx, l.Run.WorkflowID, l.Run.RunID, workflows.ProgressQuery)
	if err != nil {
		l.Error = fmt.Sprintf("progress query: %v (is a worker polling task queue %s?)", err, c.o.TaskQueue)
		return
	}
	switch l.Run.Type {
	case "BackfillWorkflow":
		var p workflows.BackfillProgress
		if err := val.Get(&p); err != nil {
			l.Error = "decode progress: " + err.Error()
			return
		}
		l.Stage = fmt.Sprintf("dates %s .. %s", p.From, p.To)
		l.Done, l.Total = p.Settled(), p.Total
		l.Detail = fmt.Sprintf("%d completed, %d skipped, %d not captured, %d failed, running %s",
			len(p.Completed), len(p.Skipped), len(p.NotCaptured), len(p.Failed), strings.Join(p.Running, ", "))
	default:
		var p workflows.Progress
		if err := val.Get(&p); err != nil {
			l.Error = "decode progress: " + err.Error()
			return
		}
		l.Stage, l.Done, l.Total = p.Stage, p.BatchesDone, p.BatchesTotal
		l.Detail = fmt.Sprintf("%s, %d artists, %d rejected", p.Date, p.Artists, p.Rejected)
		if p.Kind != "" {
			l.Detail = p.Kind + " of " + l.Detail
		}
		if len(p.Errors) > 0 {
			l.Error = strings.Join(p.Errors, "; ")
		}
	}
}

// errorOf fills a closed run's error.
func errorOf(ctx context.Context, tc client.Client, l *runLine) {
	err := tc.GetWorkflow(ctx, l.Run.WorkflowID, l.Run.RunID).Get(ctx, nil)
	switch {
	case err == nil:
		l.Error = "(no error recorded)"
	case errors.Is(err, context.DeadlineExceeded):
		l.Error = "(the error did not load in time: see the run in the Web UI)"
	default:
		l.Error = err.Error()
	}
}
