package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/worker/app"
	"github.com/metronome-data/metronome/workflows"
)

// PriorityResult is one run of the priority part: an on-demand artist
// request sent while a backfill keeps the pipeline task queue backed up,
// with the starts' task-queue priorities set (as the starter sets them) or
// not (as it did before).
//
// The backfill is what competes with a request: it reprocesses from the
// lake, so its activities (plan, clean, store, aggregate, manifest) are all
// on the pipeline task queue, where a request run's first activity
// (MarkRequests) and its clean and store go too. Its first Spotify call
// waits for MarkRequests. The Spotify task queue is not backed up by a
// backfill at all, and a day's capture keeps at most Parallelism (4)
// batches in flight, fewer than a worker's activity slots (8).
type PriorityResult struct {
	Priorities bool `json:"priorities"`
	// Dates the backfill reprocesses, Parallel of them at once, each of
	// Artists artists, on a worker with Slots activity slots.
	Dates    int `json:"dates"`
	Parallel int `json:"parallel"`
	Artists  int `json:"artists"`
	Slots    int `json:"slots"`
	// Backlog is the pipeline queue's activity backlog the server reported
	// when the request was sent (approximate, and cached for seconds); the
	// request is sent once Parallel dates are in flight.
	Backlog int64 `json:"backlog"`
	// FirstActivitySeconds runs from the request's signal to the start of
	// the request run's first activity, FirstSpotifySeconds to the start of
	// its first Spotify activity (Resolve), DoneSeconds to the
	// run's end (server times, from the histories).
	FirstActivitySeconds float64 `json:"first_activity_seconds"`
	FirstSpotifySeconds  float64 `json:"first_spotify_seconds"`
	DoneSeconds          float64 `json:"done_seconds"`
	// FirstQueueSeconds is the part of FirstActivitySeconds the first
	// activity waited in the task queue (scheduled to started).
	FirstQueueSeconds float64 `json:"first_queue_seconds"`
	// SettledBefore and BackfillSettled are how many dates of the backfill
	// had settled when the request was sent and when it was done.
	SettledBefore   int `json:"settled_before"`
	BackfillSettled int `json:"backfill_settled"`
	// Recorded are the priorities the server holds for the executions:
	// the backfill, one of its dates, artist-requests and the request run.
	Recorded map[string]temporal.Priority `json:"recorded"`
}

// priority runs the priority part: once without priorities, once with.
// The runs share the server, so their backfills cover different years:
// each date's run is the one execution pipeline-D.
func (b *bencher) priority(ctx context.Context) error {
	for i, on := range []bool{false, true} {
		dir := filepath.Join(b.dir, fmt.Sprintf("priority-%t", on))
		end := time.Date(2026-i, 1, 1, 0, 0, 0, 0, time.UTC).Format(workflows.DateLayout)
		r, err := priorityRun(ctx, b.stack, dir, on, end, b.cfg.PriorityDates, b.cfg.PriorityParallel, b.cfg.PriorityArtists)
		if err != nil {
			return err
		}
		b.report.Priority = append(b.report.Priority, r)
		if on {
			b.report.RequestFirstSpotifySeconds = r.FirstSpotifySeconds
		}
		b.logf("priority %-5t backfill %d dates, %d at once, %d slots, backlog %d: request's first activity after %5.2fs (%5.2fs of it queued), first Spotify call after %5.2fs, done after %5.2fs (dates settled %d, then %d)",
			on, r.Dates, r.Parallel, r.Slots, r.Backlog, r.FirstActivitySeconds, r.FirstQueueSeconds, r.FirstSpotifySeconds, r.DoneSeconds, r.SettledBefore, r.BackfillSettled)
	}
	return nil
}

// prioritySlots are the activity slots of the priority part's worker:
// few, so that a backfill backs the queue up on a small machine as a
// long one does on any.
const prioritySlots = 2

// priorityRun measures one request behind a backfill of the dates dates
// before end, parallel at once, of artists artists each, on a fresh task
// queue with an in-process worker of prioritySlots activity slots. on sets
// the priorities on the starts.
func priorityRun(ctx context.Context, st *stack, dir string, on bool, end string, dates, parallel, artists int) (PriorityResult, error) {
	res := PriorityResult{Priorities: on, Dates: dates, Parallel: parallel, Artists: artists, Slots: prioritySlots}
	f, err := startFake(ctx, spotifyfake.Options{Artists: max(artists+1, spotifyfake.MinArtists), Seed: 1, Mode: spotifyfake.ModeExtended})
	if err != nil {
		return res, err
	}
	defer f.stop()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("create %s: %w", dir, err)
	}
	queue := fmt.Sprintf("priority-%t-%d", on, time.Now().UnixNano())
	cfg := runConfig(dir, st.srv.FrontendAddress(), f, spotifyfake.ModeExtended, f.artistIDs(artists), queue, unlimitedRate)
	cfg.Worker.MaxConcurrentActivities = prioritySlots
	be, err := app.OpenBackends(ctx, cfg, zap.NewNop(), nil)
	if err != nil {
		return res, fmt.Errorf("open backends in %s: %w", dir, err)
	}
	defer be.Close()
	w, err := startInProcessWorker(ctx, st.client, cfg, be.Activities)
	if err != nil {
		return res, err
	}
	defer w.stop()

	// One real capture, copied to every date of the backfill.
	tr, err := runWorkflow(ctx, st.client, "capture-"+queue, queue, benchDate, 0, nil)
	if err != nil {
		return res, err
	}
	days, err := datesBefore(end, dates)
	if err != nil {
		return res, err
	}
	if err := cloneCapture(ctx, be.Activities, benchDate, tr.result.Capture, days); err != nil {
		return res, err
	}

	c := st.client
	from, to := days[0], days[len(days)-1]
	var backfillPriority, requestPriority temporal.Priority
	if on {
		backfillPriority, requestPriority = workflows.BackfillPriority(from, to), workflows.RequestPriority()
	}
	backfill, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.BackfillWorkflowID(from, to) + "-" + queue, TaskQueue: queue, Priority: backfillPriority,
	}, workflows.BackfillWorkflow, workflows.BackfillInput{From: from, To: to, Parallel: parallel, Rerun: true})
	if err != nil {
		return res, fmt.Errorf("start the backfill of %s..%s on %s: %w", from, to, queue, err)
	}
	defer func() { _ = c.TerminateWorkflow(context.WithoutCancel(ctx), backfill.GetID(), "", "bench done") }()
	if err := awaitInFlight(ctx, c, backfill, parallel); err != nil {
		return res, err
	}
	res.Backlog = activityBacklog(ctx, c, cfg.Temporal.Namespace, queue)
	if res.SettledBefore, err = backfillSettled(ctx, c, backfill); err != nil {
		return res, err
	}

	// artist-requests is one execution per namespace: each run ends its own.
	_ = c.TerminateWorkflow(ctx, workflows.ArtistRequestWorkflowID, "", "bench: a fresh one per run")
	requests, err := c.SignalWithStartWorkflow(ctx, workflows.ArtistRequestWorkflowID, workflows.ArtistRequestSignal,
		workflows.ArtistRequest{ID: "priority-" + queue, Artist: f.artistIDs(artists + 1)[artists]},
		client.StartWorkflowOptions{
			ID: workflows.ArtistRequestWorkflowID, TaskQueue: queue, Priority: requestPriority,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		}, workflows.ArtistRequestWorkflow,
		workflows.ArtistRequestInput{MaxArtists: 1, SpotifyTaskQueue: cfg.Temporal.SpotifyTaskQueue})
	if err != nil {
		return res, fmt.Errorf("request an artist on %s: %w", queue, err)
	}
	defer func() { _ = c.TerminateWorkflow(context.WithoutCancel(ctx), requests.GetID(), "", "bench done") }()
	runID, err := awaitRequestRun(ctx, c, requests)
	if err != nil {
		return res, err
	}
	if err := c.GetWorkflow(ctx, runID, "").Get(ctx, nil); err != nil {
		return res, fmt.Errorf("request run %s: %w", runID, err)
	}

	signaled, err := firstEventTime(ctx, c, requests.GetID(), requests.GetRunID(), func(e *historypb.HistoryEvent) bool {
		return e.GetWorkflowExecutionSignaledEventAttributes() != nil
	})
	if err != nil {
		return res, err
	}
	started, err := activityStarts(ctx, c, runID)
	if err != nil {
		return res, err
	}
	res.FirstActivitySeconds = started.first.Sub(signaled).Seconds()
	res.FirstQueueSeconds = started.first.Sub(started.firstScheduled).Seconds()
	res.FirstSpotifySeconds = started.firstSpotify().Sub(signaled).Seconds()
	res.DoneSeconds = started.closed.Sub(signaled).Seconds()
	if res.BackfillSettled, err = backfillSettled(ctx, c, backfill); err != nil {
		return res, err
	}
	res.Recorded, err = recordedPriorities(ctx, c, map[string]string{
		"backfill": backfill.GetID(), "backfill date": workflows.PipelineWorkflowID(from),
		"artist-requests": requests.GetID(), "request run": runID,
	})
	return res, err
}

// datesBefore returns the n dates before date, oldest first.
func datesBefore(date string, n int) ([]string, error) {
	d, err := time.Parse(workflows.DateLayout, date)
	if err != nil {
		return nil, fmt.Errorf("bench date %q: %w", date, err)
	}
	out := make([]string, n)
	for i := range n {
		out[i] = d.AddDate(0, 0, i-n).Format(workflows.DateLayout)
	}
	return out, nil
}

// cloneCapture copies the raw objects of the capture of date to each of
// dates and seals each copy with CompleteCapture, so that every date has a
// complete capture for a backfill to reprocess without a capture of its own.
func cloneCapture(ctx context.Context, acts *activities.Activities, date string, capture contract.CaptureSummary, dates []string) error {
	for _, entity := range curate.Entities {
		keys, err := acts.Lake.List(ctx, lake.RawPrefix(entity, date))
		if err != nil {
			return fmt.Errorf("list raw %s of %s: %w", entity, date, err)
		}
		for _, key := range keys {
			body, err := readObject(ctx, acts.Lake, key)
			if err != nil {
				return err
			}
			name := strings.TrimPrefix(key, lake.RawPrefix(entity, date))
			for _, d := range dates {
				if err := acts.Lake.Put(ctx, lake.RawPrefix(entity, d)+name, bytes.NewReader(body)); err != nil {
					return fmt.Errorf("copy %s to %s: %w", key, d, err)
				}
			}
		}
	}
	for _, d := range dates {
		if _, err := acts.CompleteCapture(ctx, contract.CaptureInput{
			Date: d, Kind: contract.KindCapture, Mode: capture.Mode, Artists: capture.Artists,
			Batches: capture.Batches, BatchSize: capture.BatchSize, WorkflowID: "bench-clone-of-" + date,
		}); err != nil {
			return fmt.Errorf("seal the copy of %s as %s: %w", date, d, err)
		}
	}
	return nil
}

func readObject(ctx context.Context, store lake.Store, key string) ([]byte, error) {
	r, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}

// awaitInFlight waits until the backfill has parallel dates in flight:
// with more dates than the worker has activity slots, their tasks back the
// queue up from then on.
func awaitInFlight(ctx context.Context, c client.Client, backfill client.WorkflowRun, parallel int) error {
	deadline := time.Now().Add(2 * time.Minute)
	var p workflows.BackfillProgress
	for time.Now().Before(deadline) {
		if v, err := c.QueryWorkflow(ctx, backfill.GetID(), "", workflows.ProgressQuery); err == nil && v.Get(&p) == nil {
			if len(p.Running) >= parallel {
				return nil
			}
			if p.Done {
				return fmt.Errorf("backfill %s settled its %d dates before it had %d in flight: give it more dates", backfill.GetID(), p.Total, parallel)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("backfill %s had %d dates in flight after 2 minutes, not %d", backfill.GetID(), len(p.Running), parallel)
}

// activityBacklog is the activity backlog of queue as the server reports
// it: approximate, and up to a few seconds old (the server caches it). The
// server sums the stats of every partition and worker version.
func activityBacklog(ctx context.Context, c client.Client, namespace, queue string) int64 {
	desc, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     namespace,
		TaskQueue:     &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		ReportStats:   true,
	})
	if err != nil {
		return 0
	}
	return desc.GetStats().GetApproximateBacklogCount()
}

// awaitRequestRun returns the workflow ID of the request run that
// artist-requests starts, once the server has it: the progress query names
// the run as soon as artist-requests asked for the start.
func awaitRequestRun(ctx context.Context, c client.Client, requests client.WorkflowRun) (string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		v, err := c.QueryWorkflow(ctx, requests.GetID(), requests.GetRunID(), workflows.ProgressQuery)
		if err == nil {
			var p workflows.RequestProgress
			run := ""
			if err := v.Get(&p); err == nil && p.CurrentRun != "" {
				run = p.CurrentRun
			} else if len(p.Recent) > 0 {
				run = p.Recent[0].Run
			}
			if _, err := c.DescribeWorkflowExecution(ctx, run, ""); run != "" && err == nil {
				return run, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return "", errors.New("artist-requests started no request run within 2 minutes")
}

// firstEventTime is the time of the first event of a history that match
// accepts.
func firstEventTime(ctx context.Context, c client.Client, id, runID string, match func(*historypb.HistoryEvent) bool) (time.Time, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return time.Time{}, fmt.Errorf("read history of %s: %w", id, err)
		}
		if match(e) {
			return e.GetEventTime().AsTime(), nil
		}
	}
	return time.Time{}, fmt.Errorf("history of %s has no such event", id)
}

// runStarts are when a run's activities started, as its history says.
type runStarts struct {
	first, firstScheduled time.Time
	byType                map[string]time.Time // first start of each activity type
	closed                time.Time
}

func activityStarts(ctx context.Context, c client.Client, id string) (runStarts, error) {
	s := runStarts{byType: map[string]time.Time{}}
	types := map[int64]string{}
	scheduled := map[int64]time.Time{}
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return s, fmt.Errorf("read history of %s: %w", id, err)
		}
		t := e.GetEventTime().AsTime()
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[e.GetEventId()] = a.GetActivityType().GetName()
			scheduled[e.GetEventId()] = t
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			if s.first.IsZero() || t.Before(s.first) {
				s.first, s.firstScheduled = t, scheduled[a.GetScheduledEventId()]
			}
			name := types[a.GetScheduledEventId()]
			if prev, ok := s.byType[name]; !ok || t.Before(prev) {
				s.byType[name] = t
			}
		}
		s.closed = t
	}
	if s.first.IsZero() {
		return s, fmt.Errorf("request run %s started no activity", id)
	}
	if s.firstSpotify().IsZero() {
		return s, fmt.Errorf("request run %s never called Spotify (no %s or %s)", id, contract.ActivityResolve, contract.ActivityResolveRequested)
	}
	return s, nil
}

// firstSpotify is when the run's first Spotify activity started: Resolve,
// or ResolveRequested in a run started before the request run shared the
// pipeline's stages.
func (s runStarts) firstSpotify() time.Time {
	var first time.Time
	for _, name := range []string{contract.ActivityResolve, contract.ActivityResolveRequested} {
		if t, ok := s.byType[name]; ok && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first
}

func backfillSettled(ctx context.Context, c client.Client, run client.WorkflowRun) (int, error) {
	v, err := c.QueryWorkflow(ctx, run.GetID(), "", workflows.ProgressQuery)
	if err != nil {
		return 0, fmt.Errorf("query backfill %s: %w", run.GetID(), err)
	}
	var p workflows.BackfillProgress
	if err := v.Get(&p); err != nil {
		return 0, fmt.Errorf("read the progress of backfill %s: %w", run.GetID(), err)
	}
	return p.Settled(), nil
}

// recordedPriorities are the priorities the server holds for the named
// executions (their latest runs).
func recordedPriorities(ctx context.Context, c client.Client, ids map[string]string) (map[string]temporal.Priority, error) {
	out := map[string]temporal.Priority{}
	for name, id := range ids {
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return out, fmt.Errorf("describe %s %s: %w", name, id, err)
		}
		p := desc.GetWorkflowExecutionInfo().GetPriority()
		out[name] = temporal.Priority{
			PriorityKey: int(p.GetPriorityKey()), FairnessKey: p.GetFairnessKey(), FairnessWeight: p.GetFairnessWeight(),
		}
	}
	return out, nil
}
