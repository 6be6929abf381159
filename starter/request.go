package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/workflows"
)

func newRequestCommand(g *globalFlags) *cobra.Command {
	var (
		wait       bool
		timeout    time.Duration
		window     time.Duration
		maxArtists int
	)
	cmd := &cobra.Command{
		Use:   "request ARTIST...",
		Short: "Ask for artists nobody tracks yet: collected, stored and tracked within seconds",
		Long: `request is the on-demand path of a chat bot or web page. It signals the
long-running ArtistRequestWorkflow (ID artist-requests), starting it when it
is not running (signal-with-start). That workflow gathers requests for a
short window (--window, default 10s, or 50 artists), then one child run
collects, cleans and stores them all, and adds them to the tracked set, so
the daily run collects them from then on.

ARTIST is a name or a Spotify ID. --wait prints each artist once it is
stored and exits 1 if one was not found or failed. --window and
--max-artists apply when this call starts the workflow.`,
		Example: `  starter request "Daft Punk" 4tZwfgrHOc3mvqYlEYSvVi --wait`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			artists := make([]string, len(args))
			for i, a := range args {
				artists[i] = strings.TrimSpace(a)
				if artists[i] == "" {
					return usagef("artist %d is blank: give a name or a Spotify ID", i+1)
				}
			}
			if window < time.Second || window > time.Hour {
				return usagef("--window %s: want 1s to 1h", window)
			}
			if maxArtists < 1 || maxArtists > 50 {
				return usagef("--max-artists %d: want 1 to 50 (one Spotify batch)", maxArtists)
			}
			if timeout <= 0 {
				return usagef("--timeout %s: want a positive duration", timeout)
			}
			cfg, c, err := connect(cmd, g, nil)
			if err != nil {
				return err
			}
			defer c.Close()
			return requestArtists(cmd.Context(), cmd.OutOrStdout(), c, cfg, requestOptions{
				artists: artists, wait: wait, timeout: timeout, window: window, maxArtists: maxArtists, format: g.output,
			})
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every artist is stored (or not found)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up waiting after this long")
	cmd.Flags().DurationVar(&window, "window", workflows.DefaultRequestWindow, "collect requests this long before a run (when starting the workflow)")
	cmd.Flags().IntVar(&maxArtists, "max-artists", workflows.DefaultRequestMaxArtists, "start a run at once with this many artists (when starting the workflow)")
	return cmd
}

// requestOptions are the valid flags and arguments of `starter request`.
type requestOptions struct {
	artists    []string
	wait       bool
	timeout    time.Duration // of the wait
	window     time.Duration // when this call starts artist-requests
	maxArtists int           // when this call starts artist-requests
	format     string        // --output
}

// requestArtists sends one request per artist and, with wait, waits for
// each to be stored. It fails when one was not.
func requestArtists(ctx context.Context, out io.Writer, c client.Client, cfg *config.Config, o requestOptions) error {
	progress := progressOut(o.format, out)
	start := workflows.ArtistRequestInput{
		Window: o.window, MaxArtists: o.maxArtists,
		Parallelism: cfg.Pipeline.Parallelism, SpotifyTaskQueue: cfg.Temporal.SpotifyTaskQueue,
	}
	reqs := make([]workflows.ArtistRequest, len(o.artists))
	for i, a := range o.artists {
		id, err := newRequestID()
		if err != nil {
			return err
		}
		reqs[i] = workflows.ArtistRequest{ID: id, Artist: a}
		if err := sendRequest(ctx, c, cfg, reqs[i], start); err != nil {
			return err
		}
		fmt.Fprintf(progress, "requested %s (request %s)\n", a, id)
	}
	if !o.wait {
		return render(out, o.format, requestsSent{WorkflowID: workflows.ArtistRequestWorkflowID, Requests: reqs, window: o.window})
	}
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	outcomes, err := waitForRequests(wctx, c, reqs, progress)
	if rerr := render(out, o.format, requestsSettled{WorkflowID: workflows.ArtistRequestWorkflowID, Outcomes: outcomes}); rerr != nil {
		return rerr
	}
	if err != nil {
		return err
	}
	var bad []string
	for _, o := range outcomes {
		if o.State != contract.RequestStored {
			bad = append(bad, fmt.Sprintf("%s %s", o.Artist, strings.ReplaceAll(o.State, "_", " ")))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d requests not stored: %s", len(bad), len(outcomes), strings.Join(bad, "; "))
	}
	return nil
}

// requestsSent is what request shows without --wait.
type requestsSent struct {
	Requests   []workflows.ArtistRequest `json:"requests"`
	WorkflowID string                    `json:"workflow_id"`
	window     time.Duration
}

func (r requestsSent) renderText(out io.Writer) error {
	fmt.Fprintf(out, "%s collects them within %s; follow with `starter status %s`\n", r.WorkflowID, r.window, r.WorkflowID)
	return nil
}

// requestsSettled is what request --wait shows. Its text was printed as
// each request settled.
type requestsSettled struct {
	Outcomes   []workflows.RequestOutcome `json:"outcomes"`
	WorkflowID string                     `json:"workflow_id"`
}

func (requestsSettled) renderText(io.Writer) error { return nil }

// sendRequest signals artist-requests, starting it if it is not running.
func sendRequest(ctx context.Context, c client.Client, cfg *config.Config, r workflows.ArtistRequest, start workflows.ArtistRequestInput) error {
	_, err := c.SignalWithStartWorkflow(ctx, workflows.ArtistRequestWorkflowID, workflows.ArtistRequestSignal, r,
		client.StartWorkflowOptions{
			ID:                    workflows.ArtistRequestWorkflowID,
			TaskQueue:             cfg.Temporal.TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			Priority:              workflows.RequestPriority(),
		}, workflows.ArtistRequestWorkflow, start)
	if err != nil {
		return fmt.Errorf("request %q: signal-with-start %s on task queue %s: %w",
			r.Artist, workflows.ArtistRequestWorkflowID, cfg.Temporal.TaskQueue, err)
	}
	return nil
}

// newRequestID names a request of the command line.
func newRequestID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a request ID: %w", err)
	}
	return "cli-" + hex.EncodeToString(b), nil
}

// waitForRequests polls the progress query of artist-requests until every
// request has an outcome, printing each as it settles.
func waitForRequests(ctx context.Context, c client.Client, reqs []workflows.ArtistRequest, out io.Writer) ([]workflows.RequestOutcome, error) {
	outcomes := make([]workflows.RequestOutcome, len(reqs))
	settled := make([]bool, len(reqs))
	left := len(reqs)
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		v, err := c.QueryWorkflow(ctx, workflows.ArtistRequestWorkflowID, "", workflows.ProgressQuery)
		if err == nil {
			var p workflows.RequestProgress
			if err := v.Get(&p); err != nil {
				return outcomes, fmt.Errorf("decode the progress of %s: %w", workflows.ArtistRequestWorkflowID, err)
			}
			for i, r := range reqs {
				if settled[i] {
					continue
				}
				if o, ok := p.Outcome(r.ID); ok {
					outcomes[i], settled[i] = o, true
					left--
					printOutcome(out, o)
				}
			}
		} else {
			lastErr = err
		}
		if left == 0 {
			return outcomes, nil
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("%d of %d requests still waiting", left, len(reqs))
			if lastErr != nil {
				msg += fmt.Sprintf(" (last query error: %v)", lastErr)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return outcomes, fmt.Errorf("%s after --timeout; is a worker polling? see `starter status %s`", msg, workflows.ArtistRequestWorkflowID)
			}
			return outcomes, fmt.Errorf("%s: %w", msg, ctx.Err())
		case <-tick.C:
		}
	}
}

func printOutcome(out io.Writer, o workflows.RequestOutcome) {
	switch o.State {
	case contract.RequestStored:
		fmt.Fprintf(out, "stored     %s → %s\n", o.Artist, o.ArtistID)
	default:
		fmt.Fprintf(out, "%-10s %s: %s\n", strings.ReplaceAll(o.State, "_", " "), o.Artist, o.Detail)
	}
}
