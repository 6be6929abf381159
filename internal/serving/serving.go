// Package serving is the serving store: the single table that answers the
// chat bot and the JSON API (latest artist snapshots, top tracks, releases,
// similar artists), caches name resolution, holds the tracked set and the
// on-demand requests.
//
// Two backends share one item layout (see DESIGN.md, "Serving store"):
// sqlite://FILE, embedded and the default, and dynamodb://TABLE. The typed
// methods of Store are written once over a small low-level table interface,
// so both backends store exactly the same items.
package serving

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// DefaultURL is the serving store used when none is configured.
const DefaultURL = "sqlite://data/serving.db"

// Store is the serving store. It is safe for concurrent use.
type Store struct {
	t     table
	now   func() time.Time
	stats *counters
	views *viewCache // nil: every read goes to the table
}

// Stats counts the work of a Store since it was opened, for metrics.
type Stats struct {
	// ItemsWritten counts items put, including unconditional history items.
	ItemsWritten int64
	// ItemsDeleted counts deletes: stale ranks of a shrunk list that were
	// removed, and untracked artists (whether they were tracked or not).
	ItemsDeleted int64
	// StaleSkipped counts conditional writes refused because the store
	// already holds a newer date for that item.
	StaleSkipped int64
	// Retries counts requests sent again: DynamoDB throttling retries of the
	// SDK and re-sent UnprocessedItems of BatchWriteItem.
	Retries int64
}

type counters struct {
	written, deleted, stale, retries atomic.Int64
}

// Option configures Open.
type Option func(*options)

type options struct {
	awsConfig   *aws.Config
	endpoint    string
	region      string
	httpClient  aws.HTTPClient
	maxAttempts int
	baseDelay   time.Duration
	maxDelay    time.Duration
	concurrency int
	now         func() time.Time
}

func defaultOptions() options {
	return options{
		maxAttempts: 8,
		baseDelay:   50 * time.Millisecond,
		maxDelay:    5 * time.Second,
		concurrency: 8,
		now:         time.Now,
	}
}

// WithAWSConfig uses cfg for DynamoDB instead of the SDK's default chain
// (environment, shared config, instance role).
func WithAWSConfig(cfg aws.Config) Option {
	return func(o *options) { o.awsConfig = &cfg }
}

// WithEndpoint points the DynamoDB client at a compatible server, e.g.
// DynamoDB Local or dynalite. AWS_ENDPOINT_URL_DYNAMODB does the same
// through the default chain.
func WithEndpoint(endpoint string) Option {
	return func(o *options) { o.endpoint = endpoint }
}

// WithRegion sets the AWS region of the DynamoDB client.
func WithRegion(region string) Option {
	return func(o *options) { o.region = region }
}

// WithHTTPClient sets the HTTP client of the DynamoDB client (a custom
// transport, a proxy, fault injection in tests).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.httpClient = c }
}

// WithRetry bounds the DynamoDB retries: at most maxAttempts attempts per
// request or batch, with jittered exponential back-off from base to max.
// It governs both the SDK's retries of throttled calls and the re-sending
// of UnprocessedItems.
func WithRetry(maxAttempts int, base, maxDelay time.Duration) Option {
	return func(o *options) {
		o.maxAttempts = maxAttempts
		o.baseDelay = base
		o.maxDelay = maxDelay
	}
}

// WithConcurrency bounds the conditional DynamoDB writes in flight at once
// (they cannot be batched); default 8.
func WithConcurrency(n int) Option {
	return func(o *options) { o.concurrency = n }
}

// WithClock sets the clock used for request timestamps and expiry checks.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Open opens the serving store named by rawURL: sqlite://FILE (the file and
// its directory are created when missing, and the schema on open) or
// dynamodb://TABLE (the table must exist: see CreateTable). For DynamoDB
// the URL may carry ?endpoint=URL&region=NAME. An empty URL is DefaultURL.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if rawURL == "" {
		rawURL = DefaultURL
	}
	st := &Store{now: o.now, stats: &counters{}}
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if path == "" {
			path = strings.TrimPrefix(DefaultURL, "sqlite://")
		}
		t, err := openSQLite(ctx, path)
		if err != nil {
			return nil, err
		}
		st.t = t
		ver := newSQLiteVersion(path)
		st.views = newViewCache(coalesce(ver.version), ver.close)
	case strings.HasPrefix(rawURL, "dynamodb://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("parse serving url %q: %w", rawURL, err)
		}
		if u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("serving url %q: want dynamodb://TABLE", rawURL)
		}
		if v := u.Query().Get("endpoint"); v != "" && o.endpoint == "" {
			o.endpoint = v
		}
		if v := u.Query().Get("region"); v != "" && o.region == "" {
			o.region = v
		}
		t, err := openDynamo(ctx, u.Host, o, st.stats)
		if err != nil {
			return nil, err
		}
		st.t = t
	default:
		return nil, fmt.Errorf("serving url %q: want sqlite://FILE or dynamodb://TABLE", rawURL)
	}
	return st, nil
}

func (o options) validate() error {
	if o.maxAttempts < 1 {
		return fmt.Errorf("serving: retry max attempts %d: must be at least 1", o.maxAttempts)
	}
	if o.baseDelay <= 0 || o.maxDelay < o.baseDelay {
		return fmt.Errorf("serving: retry delays base %s, max %s: want 0 < base <= max", o.baseDelay, o.maxDelay)
	}
	if o.concurrency < 1 {
		return fmt.Errorf("serving: concurrency %d: must be at least 1", o.concurrency)
	}
	if o.now == nil {
		return fmt.Errorf("serving: clock is nil")
	}
	return nil
}

// CreateTable creates the store named by rawURL if it does not exist yet:
// for DynamoDB the table (PK and SK string keys, on-demand billing, TTL on
// expires_at) and waits until it is active; for SQLite the file and schema.
// It is idempotent.
func CreateTable(ctx context.Context, rawURL string, opts ...Option) error {
	s, err := Open(ctx, rawURL, opts...)
	if err != nil {
		return err
	}
	err = s.CreateTable(ctx)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// CreateTable creates the backing table if it does not exist yet; see the
// package-level CreateTable.
func (s *Store) CreateTable(ctx context.Context) error {
	return s.t.createTable(ctx)
}

// Close releases the store's resources.
func (s *Store) Close() error {
	err := s.t.close()
	if s.views != nil {
		if cerr := s.views.close(); err == nil && cerr != nil {
			err = fmt.Errorf("close the serving store's version connection: %w", cerr)
		}
	}
	return err
}

// Stats returns the counters of the store since it was opened.
func (s *Store) Stats() Stats {
	return Stats{
		ItemsWritten: s.stats.written.Load(),
		ItemsDeleted: s.stats.deleted.Load(),
		StaleSkipped: s.stats.stale.Load(),
		Retries:      s.stats.retries.Load(),
	}
}
