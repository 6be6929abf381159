package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/httpserve"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/worker/app"
	"github.com/metronome-data/metronome/workflows"
)

// devRequestsPerSecond is the Spotify request cap of `starter dev` against
// the in-process sample catalog, which has no rate limit of its own unless
// one is configured.
const devRequestsPerSecond = 1000

func newDevCommand(g *globalFlags) *cobra.Command {
	var (
		exitAfter bool
		noWorker  bool
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the embedded stack: Temporal server, Web UI, data console, a worker and the pipeline",
		Long: `dev starts a real Temporal server persisted in DATA/temporal.db, its Web UI,
a worker and, when no Spotify credentials are set, the built-in sample
catalog; then it runs the pipeline for today over the sample artists and
prints where to look. It keeps the server and UI up until Ctrl-C.

It also serves, on serve.addr (METRONOME_SERVE_ADDR, default
127.0.0.1:8088), the data console — partitions, runs, quality and artists,
linked to this Web UI — and the bot's JSON API and health routes, as
` + "`starter serve`" + ` does. On loopback without api.token the console is open.

The sample catalog plays Spotify's extended quota mode, or with
--spotify-mode development what a new Spotify app gets (no popularity,
followers, top tracks or audio features; discographies by album). With
Spotify credentials the mode is the app's own and the flag is refused.`,
		Example: `  starter dev
  starter dev --spotify-mode development
  starter dev --exit
  starter dev --no-worker --port 7233 --ui-port 8233`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkSpotifyModeFlag(cmd); err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, g, map[string]string{"data_dir": "data", "temporal.ui_port": "ui-port",
				"spotify.requests_per_second": "requests-per-second", "spotify.fake.mode": "spotify-mode"})
			if err != nil {
				return err
			}
			if err := checkSpotifyMode(cmd, cfg); err != nil {
				return err
			}
			port, err := devPort(cmd, cfg.Temporal.Address)
			if err != nil {
				return err
			}
			return serveDev(cmd.Context(), cmd.OutOrStdout(), cfg, devOptions{
				port: port, exitAfter: exitAfter, noWorker: noWorker, format: g.output,
				requestCapSet: cmd.Flags().Changed("requests-per-second") || os.Getenv("METRONOME_SPOTIFY_REQUESTS_PER_SECOND") != "",
			})
		},
	}
	cmd.Flags().String("data", "data", "directory of every embedded default (Temporal database, lake, serving store)")
	cmd.Flags().Int("port", 0, "Temporal frontend port (default: the port of temporal.address, 7233)")
	cmd.Flags().Int("ui-port", 8233, "Temporal Web UI port")
	cmd.Flags().String("spotify-mode", modeExtended, "API mode the sample catalog plays: extended or development (spotify.fake.mode)")
	cmd.Flags().Float64("requests-per-second", 0, "Spotify request cap (default: unlimited against the sample catalog)")
	cmd.Flags().BoolVar(&exitAfter, "exit", false, "stop after the run, with exit code 1 if it failed")
	cmd.Flags().BoolVar(&noWorker, "no-worker", false, "serve only the Temporal server and UI, for workers started separately")
	return cmd
}

// devOptions are the valid flags of `starter dev`.
type devOptions struct {
	port      int  // of the Temporal frontend
	exitAfter bool // stop after the run
	noWorker  bool // serve the server and UI only
	// requestCapSet says spotify.requests_per_second was given; else dev
	// lifts the cap against the sample catalog.
	requestCapSet bool
	format        string // --output
}

// serveDev runs the embedded stack, a worker and today's run, and keeps them
// up until ctx is done (with exitAfter, until the run ends).
func serveDev(ctx context.Context, out io.Writer, cfg *config.Config, o devOptions) error {
	logger, err := newLogger(cfg)
	if err != nil {
		return err
	}
	defer logger.Sync()
	webUI, stopStack, err := startDevStack(ctx, out, cfg, o.port, logger)
	if err != nil {
		return err
	}
	defer stopStack()
	if o.noWorker {
		fmt.Fprintln(out, "no worker started (--no-worker); start workers with `go run ./worker`. Ctrl-C stops the server.")
		<-ctx.Done()
		return nil
	}
	return runDevPipeline(ctx, out, cfg, o, webUI, logger)
}

// startDevStack starts the codec server (with codec.keys), the embedded
// Temporal server and its Web UI, records them in data_dir for the other
// commands, and serves the bot routes and the data console, until the
// returned stop is called. It points cfg at the embedded server and
// returns the Web UI's URL.
func startDevStack(ctx context.Context, out io.Writer, cfg *config.Config, port int, logger *zap.Logger) (webUI string, stop func(), err error) {
	var closers []func()
	stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	codecEndpoint, stopCodec, err := startDevCodec(ctx, cfg)
	if err != nil {
		return "", nil, err
	}
	closers = append(closers, stopCodec)
	dbFile := filepath.Join(cfg.DataDir, "temporal.db")
	t0 := time.Now()
	srv, err := devserver.Start(ctx, devserver.Options{
		DatabaseFile: dbFile, Port: port, UI: true, UIPort: cfg.Temporal.UIPort,
		Namespace: cfg.Temporal.Namespace, Logger: logger, CodecEndpoint: codecEndpoint,
	})
	if err != nil {
		return "", nil, fmt.Errorf("start the embedded Temporal server (data in %s): %w; is another `starter dev` using port %d or %d?",
			dbFile, err, port, cfg.Temporal.UIPort)
	}
	closers = append(closers, func() { srv.Stop() })
	useEmbeddedServer(&cfg.Temporal, srv.FrontendAddress())
	removeRecord, err := writeDevRecord(cfg.DataDir, devRecord{TemporalAddress: srv.FrontendAddress(), UIURL: srv.UIURL()})
	if err != nil {
		return "", nil, err
	}
	closers = append(closers, removeRecord)
	fmt.Fprintf(out, "Temporal server  %s  (data %s, up in %s)\nTemporal Web UI  %s\n",
		srv.FrontendAddress(), dbFile, time.Since(t0).Round(time.Millisecond), srv.UIURL())
	stopServe, err := startDevServe(ctx, out, cfg, srv.UIURL(), logger)
	if err != nil {
		return "", nil, err
	}
	closers = append(closers, stopServe)
	if codecEndpoint != "" {
		fmt.Fprintf(out, "Codec server     %s  (payloads encrypted; the Web UI decodes them here)\n", codecEndpoint)
	}
	return srv.UIURL(), stop, nil
}

// runDevPipeline starts a worker (over the sample catalog without Spotify
// credentials) and today's run, prints the run as it goes, and keeps the
// worker up until ctx is done (with exitAfter, until the run ends).
func runDevPipeline(ctx context.Context, out io.Writer, cfg *config.Config, o devOptions, webUI string, logger *zap.Logger) error {
	fake := cfg.FakeEnabled(!cfg.HasSpotifyCredentials())
	if fake {
		stop, err := app.StartFake(ctx, cfg)
		if err != nil {
			return err
		}
		defer stop()
		if !o.requestCapSet {
			cfg.Spotify.RequestsPerSecond = devRequestsPerSecond
		}
		fmt.Fprintf(out, "Spotify          built-in sample catalog, %d artists, %s mode (%s)\n",
			cfg.Spotify.Fake.Artists, cfg.Spotify.Fake.Mode, strings.TrimSuffix(cfg.Spotify.BaseURL, "/v1/"))
	} else {
		fmt.Fprintf(out, "Spotify          %s\n", cfg.Spotify.BaseURL)
	}

	workerErr := make(chan error, 1)
	// The worker's routine INFO lines would bury the stage lines.
	workerLog := logger.Named("worker")
	if cfg.Log.Level == "info" {
		workerLog = workerLog.WithOptions(zap.IncreaseLevel(zap.WarnLevel))
	}
	// The worker stops before the server does, so shutting down does not
	// make it poll a server that is gone.
	workerCtx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		workerErr <- app.Serve(workerCtx, cfg, workerLog)
	}()
	defer func() {
		stopWorker()
		<-workerDone
	}()

	c, err := app.Dial(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	in, err := pipelineInput(cfg, "", nil, "")
	if err != nil {
		return err
	}
	run, _, err := startPipeline(ctx, c, cfg, in)
	if err != nil {
		return err
	}
	result := runResult{
		UI:      webUIRunURL(webUI, cfg.Temporal.Namespace, run.GetID(), run.GetRunID()),
		Lake:    strings.TrimPrefix(cfg.Lake.URL, "file://"),
		Serving: strings.TrimPrefix(cfg.Serving.URL, "sqlite://"),
	}
	fmt.Fprintf(out, "\nrunning %s\n", run.GetID())
	progress := progressOut(o.format, out)
	resc := make(chan error, 1)
	go func() {
		res, err := watchRun(ctx, c, run, progress)
		if err == nil {
			result.Result = res
			err = render(out, o.format, result)
		}
		if err == nil {
			printModeSummary(progress, res.Mode, fake)
		}
		resc <- err
	}()
	var runErr error
	select {
	case runErr = <-resc:
	case err := <-workerErr:
		return fmt.Errorf("worker stopped: %w", err)
	}
	if o.exitAfter {
		return runErr
	}
	if runErr != nil {
		fmt.Fprintln(out, "starter:", runErr)
	}
	fmt.Fprintln(out, "\nserver, UI and worker keep running; Ctrl-C stops them.")
	select {
	case <-ctx.Done():
	case err := <-workerErr:
		if err != nil {
			logger.Error("worker stopped", zap.Error(err))
		}
	}
	return runErr
}

// devPort is --port, else the port of temporal.address.
func devPort(cmd *cobra.Command, address string) (int, error) {
	if p, _ := cmd.Flags().GetInt("port"); p != 0 {
		if p < 1 || p > 65535 {
			return 0, usagef("--port %d: want a TCP port from 1 to 65535", p)
		}
		return p, nil
	}
	_, ps, err := net.SplitHostPort(address)
	if err != nil {
		return 0, usagef("temporal.address %q: want HOST:PORT", address)
	}
	return strconv.Atoi(ps)
}

// startDevServe serves the bot routes and the data console on serve.addr,
// over the embedded server, until the returned stop is called. Its run
// links point at webUI, the Web UI dev serves.
func startDevServe(ctx context.Context, out io.Writer, cfg *config.Config, webUI string, logger *zap.Logger) (stop func(), err error) {
	ln, err := listenServe(cfg.Serve.Addr)
	if err != nil {
		return nil, err
	}
	var closers []func()
	stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	closers = append(closers, func() { ln.Close() })
	defer func() {
		if err != nil {
			stop()
		}
	}()
	store, err := serving.Open(ctx, cfg.Serving.URL)
	if err != nil {
		return nil, fmt.Errorf("open serving.url %s: %w", cfg.Serving.URL, err)
	}
	closers = append(closers, func() { store.Close() })
	c, err := app.DialLazy(cfg, logger)
	if err != nil {
		return nil, err
	}
	closers = append(closers, c.Close)
	bot, err := newServeHandler(cfg, c, store, logger, workflows.ArtistRequestInput{
		Window: workflows.DefaultRequestWindow, MaxArtists: workflows.DefaultRequestMaxArtists,
		Parallelism: cfg.Pipeline.Parallelism, SpotifyTaskQueue: cfg.Temporal.SpotifyTaskQueue,
	})
	if err != nil {
		return nil, err
	}
	con, closeConsole, conErr := newConsole(ctx, ln.Addr().String(),
		consoleDeps{cfg: cfg, serving: store, temporal: c, webUI: webUI, logger: logger})
	closers = append(closers, closeConsole)
	printConsole(out, "http://"+ln.Addr().String(), con, conErr)

	serveCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpserve.Serve(serveCtx, ln, withConsole(bot, con)) }()
	closers = append(closers, func() {
		cancel()
		if err := <-done; err != nil {
			logger.Warn("serve.addr stopped", zap.Error(err))
		}
	})
	return stop, nil
}

// useEmbeddedServer points every client of dev — its worker, its run, the
// console's — at dev's own server: plain gRPC on loopback in the namespace
// dev registered, whatever a temporal.toml profile or the TEMPORAL_*
// variables say of another server's TLS, API key, headers or codec server
// (dev runs its own codec server when codec.keys are set).
func useEmbeddedServer(t *config.TemporalConfig, address string) {
	t.Address = address
	t.APIKey, t.Authority, t.GRPCMeta = "", "", nil
	t.TLS = config.TLSConfig{Disabled: true}
	t.Codec = config.RemoteCodecConfig{}
}
