package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/console"
	"github.com/metronome-data/metronome/internal/serving"
)

// botRoutes are the paths of the bot handler; the data console serves
// every other path next to them.
var botRoutes = []string{"/slack/", "/v1/", "/healthz", "/readyz"}

// consoleDeps is what the data console reads: the serving store and
// Temporal client of the command, the Web UI it links to.
type consoleDeps struct {
	cfg      *config.Config
	serving  *serving.Store
	temporal client.Client
	webUI    string
	logger   *zap.Logger
}

// newConsole builds the data console for addr (the address listened on).
// Beyond loopback without api.token it is off: the returned console is nil
// and the error wraps console.ErrNeedsToken; any other error (the lake does
// not open) leaves it off too, and the bot routes are served regardless.
// The close func releases the query engine.
func newConsole(ctx context.Context, addr string, d consoleDeps) (*console.Console, func(), error) {
	store, err := openLake(ctx, d.cfg)
	if err != nil {
		return nil, func() {}, err
	}
	o := console.Options{
		Lake: store, LakeURL: d.cfg.Lake.URL, Serving: d.serving, Temporal: d.temporal,
		TemporalAddress: d.cfg.Temporal.Address, Namespace: d.cfg.Temporal.Namespace, TaskQueue: d.cfg.Temporal.TaskQueue,
		WebUIURL: d.webUI, Addr: addr, Token: d.cfg.API.Token, Logger: d.logger,
	}
	closeAll := func() {}
	if _, local := store.LocalDir(); local {
		// The artist pages read the marts with SQL; without a local lake
		// they say so.
		engine, err := analytics.NewDuckDB(analytics.WithMemoryLimit(d.cfg.Analytics.MemoryLimit))
		if err != nil {
			return nil, closeAll, fmt.Errorf("data console: %w", err)
		}
		o.Query = engine
		closeAll = func() { engine.Close() }
	}
	con, err := console.New(o)
	if err != nil {
		closeAll()
		return nil, func() {}, err
	}
	// The first visitor after a start gets the grid from the cache.
	go con.Warm(ctx)
	return con, closeAll, nil
}

// withConsole serves con next to the bot routes, which stay exactly as
// they are; a nil con leaves bot alone.
func withConsole(bot http.Handler, con *console.Console) http.Handler {
	if con == nil {
		return bot
	}
	mux := http.NewServeMux()
	for _, p := range botRoutes {
		mux.Handle(p, bot)
	}
	mux.Handle("/", con)
	return mux
}

// printConsole says where the console is and who may read it, or why it
// is off: the bot routes are served either way.
func printConsole(out io.Writer, base string, con *console.Console, err error) {
	switch {
	case con == nil && err != nil:
		fmt.Fprintf(out, "Data console     off: %v\n", err)
	case con == nil:
		return
	case con.Open():
		fmt.Fprintf(out, "Data console     %s/  (open: loopback and no api.token)\n", base)
	default:
		fmt.Fprintf(out, "Data console     %s/  (needs api.token: Authorization: Bearer, or log in at %s/login)\n", base, base)
	}
}

// listenServe listens on serve.addr, naming the setting when the address
// is taken.
func listenServe(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "address already in use") {
			hint = "; another process serves there (another `starter serve` or `starter dev`?): set serve.addr (METRONOME_SERVE_ADDR, --addr for serve) to a free address such as 127.0.0.1:0"
		}
		return nil, fmt.Errorf("listen on serve.addr %s: %w%s", addr, err, hint)
	}
	return ln, nil
}
