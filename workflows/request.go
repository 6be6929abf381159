package workflows

import (
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/metronome-data/metronome/internal/contract"
)

// ArtistRequestWorkflowID is the ID of the one long-running
// ArtistRequestWorkflow; clients signal-with-start it.
const ArtistRequestWorkflowID = "artist-requests"

// ArtistRequestSignal is the signal that carries one ArtistRequest.
const ArtistRequestSignal = "request"

// Defaults of ArtistRequestWorkflow.
const (
	DefaultRequestWindow     = 10 * time.Second
	DefaultRequestMaxArtists = 50
	// DefaultRequestRunsPerExecution is how many request runs one execution
	// starts before it continues as new.
	DefaultRequestRunsPerExecution = 50
	// DefaultRequestIdleTimeout is how long an execution waits without
	// requests before it continues as new anyway.
	DefaultRequestIdleTimeout = 24 * time.Hour
	// recentOutcomes is how many settled requests the progress query keeps.
	recentOutcomes = 500
)

// ArtistRequest is one on-demand request; see contract.ArtistRequest.
type ArtistRequest = contract.ArtistRequest

// ArtistRequestInput configures ArtistRequestWorkflow. The last three
// fields carry state across continue-as-new.
type ArtistRequestInput struct {
	// Window is how long requests are collected after the first one before
	// a run starts; default 10s.
	Window time.Duration `json:"window,omitempty"`
	// MaxArtists starts a run at once when this many distinct artists are
	// waiting; default 50 (one Spotify batch).
	MaxArtists int `json:"max_artists,omitempty"`
	// Parallelism and SpotifyTaskQueue are passed to every run.
	Parallelism      int    `json:"parallelism,omitempty"`
	SpotifyTaskQueue string `json:"spotify_task_queue,omitempty"`
	// RunsPerExecution and IdleTimeout bound one execution; see the defaults.
	RunsPerExecution int           `json:"runs_per_execution,omitempty"`
	IdleTimeout      time.Duration `json:"idle_timeout,omitempty"`

	Pending []PendingRequest `json:"pending,omitempty"`
	Recent  []RequestOutcome `json:"recent,omitempty"`
	Runs    int              `json:"runs,omitempty"`
}

// PendingRequest is a request waiting for a run.
type PendingRequest struct {
	ArtistRequest
	// Received is the workflow time the signal arrived.
	Received time.Time `json:"received"`
}

// RequestOutcome is how a request ended.
type RequestOutcome struct {
	ID       string `json:"id"`
	Artist   string `json:"artist"`
	State    string `json:"state"`
	ArtistID string `json:"artist_id,omitempty"`
	Detail   string `json:"detail,omitempty"`
	// Run is the workflow ID of the request run that handled it.
	Run string `json:"run,omitempty"`
}

// RequestProgress is what the progress query of ArtistRequestWorkflow
// answers.
type RequestProgress struct {
	Pending []PendingRequest `json:"pending"`
	// Running are the requests of the run in flight, CurrentRun its ID.
	Running    []ArtistRequest `json:"running"`
	CurrentRun string          `json:"current_run,omitempty"`
	// Runs counts the request runs so far, over every execution.
	Runs int `json:"runs"`
	// Recent are the last settled requests, oldest first.
	Recent []RequestOutcome `json:"recent"`
}

// Outcome returns the outcome of request id, if it has settled.
func (p RequestProgress) Outcome(id string) (RequestOutcome, bool) {
	for i := len(p.Recent) - 1; i >= 0; i-- {
		if p.Recent[i].ID == id {
			return p.Recent[i], true
		}
	}
	return RequestOutcome{}, false
}

// ArtistRequestWorkflow is the long-running collector of on-demand artist
// requests (ID artist-requests). Each ArtistRequestSignal adds a request;
// the first request of a batch opens a window (Window, or until MaxArtists
// distinct artists wait), then one child ArtistRequestRunWorkflow collects,
// cleans and stores the batch's artists and adds them to the tracked set.
// Requests arriving during a run wait for the next one, so twenty requests
// within a window cost one run, not twenty. A request ID seen again while
// it is pending or running is ignored (a client's retried signal). The
// workflow continues as new after RunsPerExecution runs, when the server
// suggests it, or after IdleTimeout without requests, carrying the pending
// requests and the recent outcomes.
func ArtistRequestWorkflow(ctx workflow.Context, in ArtistRequestInput) error {
	if in.Window <= 0 {
		in.Window = DefaultRequestWindow
	}
	if in.MaxArtists <= 0 {
		in.MaxArtists = DefaultRequestMaxArtists
	}
	if in.RunsPerExecution <= 0 {
		in.RunsPerExecution = DefaultRequestRunsPerExecution
	}
	if in.IdleTimeout <= 0 {
		in.IdleTimeout = DefaultRequestIdleTimeout
	}
	logger := workflow.GetLogger(ctx)
	pending := in.Pending
	recent := in.Recent
	var running []ArtistRequest
	currentRun := ""

	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (RequestProgress, error) {
		return RequestProgress{
			Pending: append([]PendingRequest{}, pending...), Running: append([]ArtistRequest{}, running...),
			CurrentRun: currentRun, Runs: in.Runs, Recent: append([]RequestOutcome{}, recent...),
		}, nil
	}); err != nil {
		return fmt.Errorf("register progress query: %w", err)
	}

	settle := func(outcomes ...RequestOutcome) {
		recent = append(recent, outcomes...)
		if len(recent) > recentOutcomes {
			recent = append([]RequestOutcome{}, recent[len(recent)-recentOutcomes:]...)
		}
	}
	known := func(id string) bool {
		for _, p := range pending {
			if p.ID == id {
				return true
			}
		}
		for _, r := range running {
			if r.ID == id {
				return true
			}
		}
		for _, o := range recent {
			if o.ID == id {
				return true
			}
		}
		return false
	}
	signals := workflow.GetSignalChannel(ctx, ArtistRequestSignal)
	accept := func(r ArtistRequest) {
		r.Artist = strings.TrimSpace(r.Artist)
		switch {
		case r.ID == "":
			logger.Warn("request without an ID ignored", "artist", r.Artist)
		case known(r.ID):
			logger.Info("request already pending, running or settled", "id", r.ID)
		case r.Artist == "":
			settle(RequestOutcome{ID: r.ID, State: contract.RequestFailed, Detail: "the request names no artist"})
		default:
			pending = append(pending, PendingRequest{ArtistRequest: r, Received: workflow.Now(ctx)})
		}
	}
	receive := func(c workflow.ReceiveChannel, _ bool) {
		var r ArtistRequest
		c.Receive(ctx, &r)
		accept(r)
	}
	continueAsNew := func() error {
		for {
			var r ArtistRequest
			if !signals.ReceiveAsync(&r) {
				break
			}
			accept(r)
		}
		next := in
		next.Pending, next.Recent = pending, recent
		logger.Info("continuing as new", "pending", len(pending), "runs", in.Runs)
		return workflow.NewContinueAsNewError(ctx, ArtistRequestWorkflow, next)
	}

	runsHere := 0
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if runsHere >= in.RunsPerExecution || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return continueAsNew()
		}
		if len(pending) == 0 {
			idle := false
			timerCtx, cancelTimer := workflow.WithCancel(ctx)
			s := workflow.NewSelector(ctx)
			s.AddReceive(signals, receive)
			s.AddFuture(workflow.NewTimer(timerCtx, in.IdleTimeout), func(workflow.Future) { idle = true })
			s.Select(ctx)
			cancelTimer()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if idle && len(pending) == 0 {
				return continueAsNew()
			}
			continue
		}

		// The window opens with the oldest pending request.
		windowEnd := pending[0].Received.Add(in.Window)
		for distinctArtists(pending) < in.MaxArtists && workflow.Now(ctx).Before(windowEnd) && ctx.Err() == nil {
			timerCtx, cancelTimer := workflow.WithCancel(ctx)
			s := workflow.NewSelector(ctx)
			s.AddReceive(signals, receive)
			s.AddFuture(workflow.NewTimer(timerCtx, windowEnd.Sub(workflow.Now(ctx))), func(workflow.Future) {})
			s.Select(ctx)
			cancelTimer()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}

		running, pending = takeBatch(pending, in.MaxArtists)
		in.Runs++
		runsHere++
		now := workflow.Now(ctx).UTC()
		currentRun = fmt.Sprintf("%s-%s-%d", ArtistRequestWorkflowID, now.Format("20060102T150405Z"), in.Runs)
		childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            currentRun,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			WaitForCancellation:   true,
		})
		child := workflow.ExecuteChildWorkflow(childCtx, ArtistRequestRunWorkflow, RequestRunInput{
			Date: now.Format(DateLayout), Requests: running,
			Parallelism: in.Parallelism, SpotifyTaskQueue: in.SpotifyTaskQueue,
		})
		done := false
		var res RequestRunResult
		var runErr error
		s := workflow.NewSelector(ctx)
		s.AddReceive(signals, receive)
		s.AddFuture(child, func(f workflow.Future) {
			done = true
			runErr = f.Get(ctx, &res)
		})
		for !done {
			s.Select(ctx)
		}
		if runErr != nil {
			logger.Warn("request run failed", "run", currentRun, "error", runErr)
			for _, r := range running {
				settle(RequestOutcome{ID: r.ID, Artist: r.Artist, State: contract.RequestFailed,
					Detail: runErr.Error(), Run: currentRun})
			}
		} else {
			settle(res.Outcomes...)
		}
		running, currentRun = nil, ""
	}
}

// artistKey is how requests for the same artist are recognized: case and
// spacing do not matter.
func artistKey(artist string) string {
	return strings.ToLower(strings.Join(strings.Fields(artist), " "))
}

func distinctArtists(pending []PendingRequest) int {
	seen := map[string]bool{}
	for _, p := range pending {
		seen[artistKey(p.Artist)] = true
	}
	return len(seen)
}

// takeBatch takes the oldest requests naming at most maxArtists distinct
// artists, and every other request for one of those artists.
func takeBatch(pending []PendingRequest, maxArtists int) (batch []ArtistRequest, rest []PendingRequest) {
	in := map[string]bool{}
	for _, p := range pending {
		k := artistKey(p.Artist)
		if in[k] || len(in) < maxArtists {
			in[k] = true
			batch = append(batch, p.ArtistRequest)
			continue
		}
		rest = append(rest, p)
	}
	return batch, rest
}

// RequestRunInput is one batch of on-demand requests.
type RequestRunInput struct {
	// Date is the logical date the run stores its snapshots under.
	Date             string          `json:"date"`
	Requests         []ArtistRequest `json:"requests"`
	Parallelism      int             `json:"parallelism,omitempty"`
	SpotifyTaskQueue string          `json:"spotify_task_queue,omitempty"`
}

// RequestRunResult says how each request of the run ended.
type RequestRunResult struct {
	Date     string                  `json:"date"`
	Scope    string                  `json:"scope"`
	Artists  int                     `json:"artists"`
	Collect  contract.CollectSummary `json:"collect"`
	Quality  contract.QualityReport  `json:"quality"`
	Store    contract.StoreResult    `json:"store"`
	Outcomes []RequestOutcome        `json:"outcomes"`
}

// requestStagesChangeID versions the stages of ArtistRequestRunWorkflow:
// runs recorded before it called request-only copies of the stage
// activities, legacyRequestStages, which replay and drain as they ran.
const requestStagesChangeID = "request-run-shared-stages"

// legacyRequestStages are the activities of the stages of request runs
// recorded before requestStagesChangeID: the same stages in the run's
// scope, under the names they had then.
var legacyRequestStages = stageActivities{
	resolve: contract.ActivityResolveRequested, collect: contract.ActivityCollectRequested,
	clean: contract.ActivityCleanRequested, store: contract.ActivityStoreRequested,
}

// ArtistRequestRunWorkflow runs the pipeline's resolve, collect, clean and
// store stages over the artists of a batch of requests, in the lake scope
// requests/<workflow ID>/, which adds them to the tracked set. It records
// each request's state in the serving store (collecting, then stored,
// not_found or failed), answers each asker, and returns the outcomes. The
// progress query answers Progress, like a pipeline run.
func ArtistRequestRunWorkflow(ctx workflow.Context, in RequestRunInput) (RequestRunResult, error) {
	run := workflow.GetInfo(ctx).WorkflowExecution.ID
	res := RequestRunResult{Date: in.Date, Scope: contract.RequestScope(run)}
	stages, err := newStageRun(ctx, in.Date, res.Scope, in.Parallelism, in.SpotifyTaskQueue)
	if err != nil {
		return res, err
	}

	stateCtx := workflow.WithActivityOptions(ctx, requestStateOptions())
	mark := func(ctx workflow.Context, state, detail string) error {
		updates := make([]contract.RequestUpdate, len(in.Requests))
		for i, r := range in.Requests {
			updates[i] = contract.RequestUpdate{ID: r.ID, Artist: r.Artist, State: state, Detail: detail}
		}
		return workflow.ExecuteActivity(ctx, contract.ActivityMarkRequests, contract.MarkRequestsInput{Updates: updates}).Get(ctx, nil)
	}
	fail := func(stage string, err error) (RequestRunResult, error) {
		stages.failed(stage, err)
		msg := fmt.Sprintf("%s failed: %v", stage, err)
		// Record the failure even when the run is being cancelled.
		dctx, _ := workflow.NewDisconnectedContext(stateCtx)
		if merr := mark(dctx, contract.RequestFailed, msg); merr != nil {
			workflow.GetLogger(ctx).Warn("could not record failed requests", "error", merr)
		} else {
			notifyRequests(dctx, in.Requests)
		}
		return res, fmt.Errorf("request run %s, stage %s: %w", run, stage, err)
	}

	if err := mark(stateCtx, contract.RequestCollecting, ""); err != nil {
		return fail("mark", err)
	}
	if workflow.GetVersion(ctx, requestStagesChangeID, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		stages.activities = legacyRequestStages
	}

	done := stages.begin(StageResolve)
	resolved, err := stages.resolve(contract.ResolveInput{Date: in.Date, Artists: requestedArtists(in.Requests)})
	if err != nil {
		return fail(StageResolve, err)
	}
	done()
	res.Artists = resolved.Artists
	if resolved.Artists > 0 { // else every request is not_found
		done = stages.begin(StageCollect)
		if err := stages.collect(resolved, &res.Collect); err != nil {
			return fail(StageCollect, err)
		}
		done()

		done = stages.begin(StageClean)
		cleaned, err := stages.clean(contract.CleanInput{Date: in.Date, Mode: resolved.Mode})
		if err != nil {
			return fail(StageClean, err)
		}
		res.Quality = cleaned.Report
		done()

		done = stages.begin(StageStore)
		if res.Store, err = stages.store(contract.StoreInput{Date: in.Date, Mode: resolved.Mode}); err != nil {
			return fail(StageStore, err)
		}
		done()
	}

	res.Outcomes = requestOutcomes(run, in.Requests, resolved.Resolved, res.Collect.Missing)
	updates := make([]contract.RequestUpdate, len(res.Outcomes))
	for i, o := range res.Outcomes {
		updates[i] = contract.RequestUpdate{ID: o.ID, Artist: o.Artist, State: o.State, ArtistID: o.ArtistID, Detail: o.Detail}
	}
	if err := workflow.ExecuteActivity(stateCtx, contract.ActivityMarkRequests, contract.MarkRequestsInput{Updates: updates}).Get(ctx, nil); err != nil {
		return fail("mark", err)
	}
	notifyRequests(ctx, in.Requests)
	stages.progress.Stage = StageDone
	return res, nil
}

// requestedArtists are the artists of reqs, one spelling each, in the
// order first asked.
func requestedArtists(reqs []ArtistRequest) []string {
	var artists []string
	seen := map[string]bool{}
	for _, r := range reqs {
		if k := artistKey(r.Artist); !seen[k] {
			seen[k] = true
			artists = append(artists, strings.TrimSpace(r.Artist))
		}
	}
	return artists
}

// requestOutcomes says how each request of run ended: stored, or not found
// when its artist did not resolve or Spotify returned nothing for its ID.
func requestOutcomes(run string, reqs []ArtistRequest, resolved []contract.ResolvedArtist, missing []string) []RequestOutcome {
	ids := map[string]string{}
	for _, r := range resolved {
		ids[artistKey(r.Artist)] = r.ID
	}
	gone := map[string]bool{}
	for _, id := range missing {
		gone[id] = true
	}
	outcomes := make([]RequestOutcome, len(reqs))
	for i, r := range reqs {
		o := RequestOutcome{ID: r.ID, Artist: r.Artist, Run: run}
		id, ok := ids[artistKey(r.Artist)]
		switch {
		case !ok:
			o.State, o.Detail = contract.RequestNotFound, fmt.Sprintf("Spotify knows no single artist %q", r.Artist)
		case gone[id]:
			o.State, o.ArtistID, o.Detail = contract.RequestNotFound, id, fmt.Sprintf("Spotify returned no artist for ID %s", id)
		default:
			o.State, o.ArtistID = contract.RequestStored, id
		}
		outcomes[i] = o
	}
	return outcomes
}

// notifyChangeID versions the Notify calls of ArtistRequestRunWorkflow:
// runs recorded before them replay without them.
const notifyChangeID = "notify-requests"

// notifyRequests answers the asker of each settled request with the Notify
// activity, all at once. Only the request ID travels: where to answer (a
// Slack response_url, a capability) lives in the serving store's
// REQUEST#<id> item and never enters history. An answer that cannot be
// delivered is logged; it does not fail the run, whose data is stored.
func notifyRequests(ctx workflow.Context, reqs []ArtistRequest) {
	if workflow.GetVersion(ctx, notifyChangeID, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	nctx := workflow.WithActivityOptions(ctx, notifyOptions())
	futures := make([]workflow.Future, len(reqs))
	for i, r := range reqs {
		futures[i] = workflow.ExecuteActivity(nctx, contract.ActivityNotify, contract.NotifyInput{RequestID: r.ID})
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("could not answer request", "id", reqs[i].ID, "error", err)
		}
	}
}

// notifyOptions: a Slack response_url stays valid for 30 minutes, so the
// retries end well within it; Notify itself falls back to chat.postMessage
// or records the answer when the URL has expired.
func notifyOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         retry(2*time.Second, time.Minute, 8),
	}
}

func requestStateOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         retry(time.Second, 30*time.Second, 10),
	}
}
