package console

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
)

// Querier runs SQL over a local lake: *analytics.DuckDB.
type Querier interface {
	Query(ctx context.Context, lakeRoot, sql string) (*analytics.Result, error)
}

// Options are the console's dependencies. Lake is required; every other
// backend may be missing or down, and the pages that need it say so.
type Options struct {
	// Lake is the data lake the partition, date and quality pages read.
	Lake lake.Store
	// LakeURL is how pages name the lake (lake.url).
	LakeURL string
	// Serving is the serving store of the artist pages.
	Serving *serving.Store
	// Query runs SQL over the lake; nil when the lake is not local.
	Query Querier
	// Temporal is a lazy client: it may not answer, and the lake pages
	// still render with a banner.
	Temporal client.Client
	// TemporalAddress names the server in "not answering" messages.
	TemporalAddress string
	Namespace       string
	TaskQueue       string
	// WebUIURL is the base URL of the Temporal Web UI, for run links.
	WebUIURL string
	// Addr is the address the console listens on: on a loopback address
	// without a Token it is open; beyond loopback it needs one.
	Addr string
	// Token is api.token: required as a bearer header or through /login
	// when set, and whenever Addr is beyond loopback.
	Token string
	// SessionTTL is how long a /login session lasts; default 12h.
	SessionTTL time.Duration
	// TemporalTimeout bounds each call to Temporal of a page; default 2s.
	TemporalTimeout time.Duration
	Logger          *zap.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}
