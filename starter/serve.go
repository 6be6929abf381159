package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/botapi"
	"github.com/metronome-data/metronome/internal/httpserve"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/worker/app"
	"github.com/metronome-data/metronome/workflows"
)

// lambdaRuntimeEnv is set by AWS Lambda in a function's environment.
const lambdaRuntimeEnv = "AWS_LAMBDA_RUNTIME_API"

func newServeCommand(g *globalFlags) *cobra.Command {
	var (
		window     time.Duration
		maxArtists int
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the chat-bot front door (Slack slash commands, a JSON API; also as an AWS Lambda function) and the data console",
		Long: `serve answers questions about artists from the serving store and starts the
collection of artists nobody tracks yet (signal-with-start of
ArtistRequestWorkflow, ID artist-requests). It keeps no state of its own.

  POST /slack/commands           a Slack slash command, verified with the signing
                                 secret (slack.signing_secret, SLACK_SIGNING_SECRET;
                                 without it the route is off)
  POST /v1/artist-requests       {"artists": [...], "callback_url": "..."} with
  GET  /v1/artists/{id-or-name}  "Authorization: Bearer <api.token>"
  GET  /v1/requests/{id}         (METRONOME_API_TOKEN; without it the API is off)
  GET  /healthz, /readyz
  GET  /                         the data console: partitions, runs, quality,
                                 artists (read-only HTML; see README.md)

The data console is open on a loopback serve.addr without api.token, and
says so at start-up. With api.token it needs "Authorization: Bearer
<api.token>" or a login at /login (a signed session cookie). Beyond
loopback without api.token it is off. Not served on AWS Lambda.

A known artist is answered at once. For an unknown one the answer comes
later, from the worker's Notify activity, at the command's response_url (or
with chat.postMessage when the worker has slack.bot_token, SLACK_BOT_TOKEN,
and the URL has expired). A callback_url must name a host of
api.callback_hosts (METRONOME_API_CALLBACK_HOSTS); empty, the default,
refuses callbacks. Every response is written within 2.5 s.

serve starts while Temporal is down and keeps answering known artists from
the serving store; /readyz then answers 503 naming temporal. An unknown
artist is refused meanwhile, "cannot collect right now" (the request is
recorded as failed, not kept): ask again once Temporal is back.

With AWS_LAMBDA_RUNTIME_API set (inside AWS Lambda) serve runs the same
handler as a Lambda function for Function URL and API Gateway HTTP API
events, with its config from the environment only. See docs/CHATBOT.md.`,
		Example: `  SLACK_SIGNING_SECRET=... starter serve
  METRONOME_API_TOKEN=... starter serve --addr 0.0.0.0:8088`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lambda := os.Getenv(lambdaRuntimeEnv) != ""
			if lambda {
				if g.configFile != "" {
					return usagef("--config %s: on AWS Lambda serve takes its config from the environment only", g.configFile)
				}
				if _, err := os.Stat(config.DefaultFile); err == nil {
					return usagef("%s is in the function's package: on AWS Lambda serve takes its config from the environment only; remove the file", config.DefaultFile)
				}
			}
			if window < time.Second || window > time.Hour {
				return usagef("--window %s: want 1s to 1h", window)
			}
			if maxArtists < 1 || maxArtists > 50 {
				return usagef("--max-artists %d: want 1 to 50 (one Spotify batch)", maxArtists)
			}
			cfg, err := loadConfig(cmd, g, map[string]string{"serve.addr": "addr"})
			if err != nil {
				return err
			}
			return runServe(cmd.Context(), cmd.OutOrStdout(), cfg, serveOptions{window: window, maxArtists: maxArtists, lambda: lambda})
		},
	}
	cmd.Flags().String("addr", "127.0.0.1:8088", "address to listen on (serve.addr, METRONOME_SERVE_ADDR)")
	cmd.Flags().DurationVar(&window, "window", workflows.DefaultRequestWindow, "collect requests this long before a run (when starting artist-requests)")
	cmd.Flags().IntVar(&maxArtists, "max-artists", workflows.DefaultRequestMaxArtists, "start a run at once with this many artists (when starting artist-requests)")
	return cmd
}

// serveOptions are the valid flags of `starter serve`.
type serveOptions struct {
	window     time.Duration // of the requests, when serve starts artist-requests
	maxArtists int           // of a request run, when serve starts artist-requests
	lambda     bool          // serve as an AWS Lambda function
}

// runServe serves the bot routes and the data console on serve.addr (or
// the bot routes as a Lambda function) until ctx is done.
func runServe(ctx context.Context, out io.Writer, cfg *config.Config, o serveOptions) error {
	logger, err := newLogger(cfg)
	if err != nil {
		return err
	}
	defer logger.Sync()
	slackOn, apiOn := botapi.Options{SigningSecret: cfg.Slack.SigningSecret, APIToken: cfg.API.Token}.Routes()
	if !slackOn {
		fmt.Fprintln(out, "Slack route off: set SLACK_SIGNING_SECRET (slack.signing_secret) to answer slash commands")
	}
	if !apiOn {
		fmt.Fprintln(out, "JSON API off: set METRONOME_API_TOKEN (api.token) to serve /v1/")
	}

	store, err := serving.Open(ctx, cfg.Serving.URL)
	if err != nil {
		return fmt.Errorf("open serving.url %s: %w", cfg.Serving.URL, err)
	}
	defer store.Close()
	// A lazy client: serve answers known artists from the store
	// while Temporal is down, and /readyz says so.
	c, err := app.DialLazy(cfg, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := newServeHandler(cfg, c, store, logger, workflows.ArtistRequestInput{
		Window: o.window, MaxArtists: o.maxArtists,
		Parallelism: cfg.Pipeline.Parallelism, SpotifyTaskQueue: cfg.Temporal.SpotifyTaskQueue,
	})
	if err != nil {
		return err
	}
	if o.lambda {
		logger.Info("serving as an AWS Lambda function", zap.Bool("slack", slackOn), zap.Bool("api", apiOn),
			zap.String("serving", cfg.Serving.URL), zap.String("temporal", cfg.Temporal.Address))
		botapi.StartLambda(ctx, h)
		return nil
	}
	ln, err := listenServe(cfg.Serve.Addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	con, closeConsole, err := newConsole(ctx, ln.Addr().String(),
		consoleDeps{cfg: cfg, serving: store, temporal: c, webUI: uiBase(cfg), logger: logger})
	defer closeConsole()
	printServeRoutes(out, base, slackOn, apiOn, cfg)
	printConsole(out, base, con, err)
	return httpserve.Serve(ctx, ln, withConsole(h, con))
}

// newServeHandler builds the bot handler over store and Temporal: unknown
// artists are collected with the same signal-with-start as `starter
// request`, carrying only the request ID and the artist.
func newServeHandler(cfg *config.Config, c client.Client, store *serving.Store, logger *zap.Logger, start workflows.ArtistRequestInput) (http.Handler, error) {
	return botapi.New(botapi.Options{
		Store: store,
		Collect: func(ctx context.Context, id, artist string) error {
			return sendRequest(ctx, c, cfg, workflows.ArtistRequest{ID: id, Artist: artist}, start)
		},
		WorkflowID:    workflows.ArtistRequestWorkflowID,
		SigningSecret: cfg.Slack.SigningSecret,
		APIToken:      cfg.API.Token,
		Callbacks:     app.CallbackPolicy(cfg),
		Checks: []botapi.Check{{Name: "temporal", Fn: func(ctx context.Context) error {
			if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
				return fmt.Errorf("no answer from Temporal at %s (namespace %s): %w", cfg.Temporal.Address, cfg.Temporal.Namespace, err)
			}
			return nil
		}}},
		Logger: logger.Named("serve"),
	})
}

func printServeRoutes(out io.Writer, base string, slackOn, apiOn bool, cfg *config.Config) {
	fmt.Fprintf(out, "serving store    %s\nTemporal         %s (namespace %s, task queue %s)\n",
		cfg.Serving.URL, cfg.Temporal.Address, cfg.Temporal.Namespace, cfg.Temporal.TaskQueue)
	if slackOn {
		fmt.Fprintf(out, "Slack command    POST %s/slack/commands\n", base)
	}
	if apiOn {
		fmt.Fprintf(out, "JSON API         POST %[1]s/v1/artist-requests, GET %[1]s/v1/artists/{id-or-name}, GET %[1]s/v1/requests/{id}\n", base)
	}
	fmt.Fprintf(out, "health           %[1]s/healthz, %[1]s/readyz\n", base)
}
