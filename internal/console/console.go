// Package console is the data console: read-only, server-rendered pages
// of the lake's partitions, runs, quality and artists, next to the
// Temporal Web UI. See README.md, "Data console".
package console

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/partitions"
)

// Console serves the console's pages; it is an http.Handler.
type Console struct {
	crossOrigin *http.CrossOriginProtection
	o           Options
	log         *zap.Logger
	mux         *http.ServeMux
	pages       pageSet
	auth        *access
	// lake reads capture records and manifests through a cache.
	lake *partitions.Reader
	// temporal remembers an unreachable Temporal for a while.
	temporal temporalState
	// The quality and artist pages' caches (quality*.go, artists*.go).
	quarantine  quarantineIndexes
	names       nameIndexes
	lakeHistory memo[map[string]artistDay]
	discography memo[map[string]map[string]int]
}

// route is one line of the route table.
type route struct {
	pattern string
	handler http.HandlerFunc
}

// routes is the route table of the console. Every page answers GET (and
// HEAD) only; the mux answers 405 to other methods.
func (c *Console) routes() []route {
	return []route{
		// ---- core: partitions, dates, runs, access ----
		{"GET /{$}", c.partitionsPage},
		{"GET /dates/{date}", c.datePage},
		{"GET /runs", c.runsPage},
		{"GET /login", c.loginForm},
		{"POST /login", c.login},
		{"POST /logout", c.logout},
		{"GET /favicon.ico", serveFavicon},
		{"GET /static/", serveStatic},
		// ---- pages: quality and artists (pages' lines below) ----
		{"GET /quality", c.qualityPage},
		{"GET /quality/{date}", c.qualityDatePage},
		{"GET /artists", c.artistsPage},
		{"GET /artists/{id}", c.artistPage},
		// ---- end of the route table ----
	}
}

// New builds the console over o. It refuses to serve beyond loopback
// without a token.
func New(o Options) (*Console, error) {
	if o.Lake == nil {
		return nil, errors.New("console: no lake store")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.TemporalTimeout <= 0 {
		o.TemporalTimeout = 2 * time.Second
	}
	auth, err := newAccess(o.Addr, o.Token, o.SessionTTL, o.Now)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{o: o, log: o.Logger.Named("console"), mux: http.NewServeMux(), pages: pages, auth: auth,
		lake: newLakeReader(o.Lake), crossOrigin: http.NewCrossOriginProtection()}
	for _, r := range c.routes() {
		c.mux.HandleFunc(r.pattern, r.handler)
	}
	c.mux.HandleFunc("/", c.notFound)
	return c, nil
}

// Open reports whether the console answers without a token (loopback, no
// api.token).
func (c *Console) Open() bool { return c.auth.open }

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	// The two forms (log in, log out) are the only requests that change
	// anything; one sent from another site's page is refused.
	if err := c.crossOrigin.Check(r); err != nil {
		c.fail(w, r, http.StatusForbidden, "Cross-origin request refused", "Log in and out from the console's own pages.")
		return
	}
	if why := c.auth.check(r); why != allowedThrough {
		c.refuse(w, r, why)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// notFound answers every path the route table does not hold.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		c.fail(w, r, http.StatusMethodNotAllowed, "Method not allowed", "The console is read-only: it answers GET and HEAD.")
		return
	}
	c.fail(w, r, http.StatusNotFound, "Not found", "No page at "+r.URL.Path+". The pages are listed in the navigation above.")
}
