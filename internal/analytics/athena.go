package analytics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/parquet-go/parquet-go"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/parallel"
)

// Defaults and limits of the Athena engine.
const (
	DefaultAthenaWorkGroup       = "primary"
	DefaultAthenaPollInterval    = 200 * time.Millisecond
	DefaultAthenaMaxPollInterval = 5 * time.Second

	// stopTimeout bounds the StopQueryExecution call made after the
	// caller's context ended.
	stopTimeout = 30 * time.Second
	// resultPageSize is the most rows GetQueryResults returns per call.
	resultPageSize = 1000
)

// AthenaConfig configures NewAthena.
type AthenaConfig struct {
	// Database is the Glue database holding the lake's tables, as created by
	// the statements of TableDDL. Required.
	Database string
	// WorkGroup runs the queries; "" is DefaultAthenaWorkGroup.
	WorkGroup string
	// OutputLocation is the s3:// URL Athena writes query results and UNLOAD
	// manifests to; "" leaves it to the workgroup's configuration.
	OutputLocation string
	// Region overrides the region of the AWS configuration.
	Region string
	// Endpoint points the client at another Athena endpoint, e.g. a test
	// server. Without it the SDK's resolution applies (AWS_ENDPOINT_URL_ATHENA,
	// AWS_ENDPOINT_URL, then AWS).
	Endpoint string
	// AWSConfig replaces the configuration loaded from the default chain
	// (credentials, region, retries).
	AWSConfig *aws.Config
	// HTTPClient sends the requests instead of the SDK's client.
	HTTPClient *http.Client
	// Heartbeat is told of every poll of a running query (QueryID, State)
	// and of the steps of BuildMartsInLake.
	Heartbeat HeartbeatFunc
	// PollInterval is the first wait between two polls of a running query
	// (default DefaultAthenaPollInterval); each wait doubles the previous one
	// up to MaxPollInterval (default DefaultAthenaMaxPollInterval).
	PollInterval    time.Duration
	MaxPollInterval time.Duration
	// SimilarityBlockSize is as for WithSimilarityBlockSize; 0 is
	// DefaultSimilarityBlockSize.
	SimilarityBlockSize int
}

// Athena is the analytics engine on Amazon Athena. It runs the SQL of the
// marts and ad hoc queries over the tables that TableDDL declares on an
// s3:// lake. It is safe for concurrent use.
type Athena struct {
	client    *athena.Client
	database  string
	workGroup string
	output    string
	heartbeat HeartbeatFunc
	poll      time.Duration
	maxPoll   time.Duration
	blockSize int
}

// NewAthena returns an Athena engine with an Athena client made from cfg.
func NewAthena(ctx context.Context, cfg AthenaConfig) (*Athena, error) {
	if !databaseName.MatchString(cfg.Database) {
		return nil, fmt.Errorf("athena database %q: want 1-255 lower-case letters, digits or underscores", cfg.Database)
	}
	if cfg.OutputLocation != "" && !strings.HasPrefix(cfg.OutputLocation, "s3://") {
		return nil, fmt.Errorf("athena output location %q: want s3://bucket/prefix", cfg.OutputLocation)
	}
	a := &Athena{
		database:  cfg.Database,
		workGroup: cfg.WorkGroup,
		output:    cfg.OutputLocation,
		heartbeat: cfg.Heartbeat,
		poll:      cfg.PollInterval,
		maxPoll:   cfg.MaxPollInterval,
		blockSize: cfg.SimilarityBlockSize,
	}
	if a.workGroup == "" {
		a.workGroup = DefaultAthenaWorkGroup
	}
	if a.poll == 0 {
		a.poll = DefaultAthenaPollInterval
	}
	if a.maxPoll == 0 {
		a.maxPoll = max(DefaultAthenaMaxPollInterval, a.poll)
	}
	if a.poll < 0 || a.maxPoll < a.poll {
		return nil, fmt.Errorf("athena poll interval %s up to %s: want 0 < interval <= max", a.poll, a.maxPoll)
	}
	if a.blockSize == 0 {
		a.blockSize = DefaultSimilarityBlockSize
	}
	if a.blockSize < 2 {
		return nil, fmt.Errorf("similarity block size %d: must be at least 2", a.blockSize)
	}

	var awsCfg aws.Config
	if cfg.AWSConfig != nil {
		awsCfg = cfg.AWSConfig.Copy()
	} else {
		var opts []func(*config.LoadOptions) error
		if cfg.Region != "" {
			opts = append(opts, config.WithRegion(cfg.Region))
		}
		var err error
		if awsCfg, err = config.LoadDefaultConfig(ctx, opts...); err != nil {
			return nil, fmt.Errorf("athena: load AWS config: %w", err)
		}
	}
	if cfg.Region != "" {
		awsCfg.Region = cfg.Region
	}
	if awsCfg.Region == "" {
		return nil, errors.New("athena: no AWS region: set one in the configuration or AWS_REGION")
	}
	a.client = athena.NewFromConfig(awsCfg, func(o *athena.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	})
	return a, nil
}

// QueryError is a query that Athena ran and that ended FAILED or CANCELLED.
type QueryError struct {
	QueryID string
	// State is FAILED or CANCELLED.
	State string
	// Reason is Athena's StateChangeReason, or its error message.
	Reason string
	// Category is Athena's error category: 1 system, 2 user, 3 other, 0
	// when Athena gave none.
	Category int32
	// Type is Athena's error type code, 0 when Athena gave none.
	Type int32
	// Retryable is Athena's hint that running the query again may succeed.
	Retryable bool
}

func (e *QueryError) Error() string {
	reason := e.Reason
	if reason == "" {
		reason = "no reason given"
	}
	return fmt.Sprintf("athena query %s %s: %s", e.QueryID, e.State, reason)
}

func newQueryError(id string, st *types.QueryExecutionStatus) *QueryError {
	e := &QueryError{QueryID: id, State: string(st.State), Reason: aws.ToString(st.StateChangeReason)}
	if ae := st.AthenaError; ae != nil {
		e.Category = aws.ToInt32(ae.ErrorCategory)
		e.Type = aws.ToInt32(ae.ErrorType)
		e.Retryable = ae.Retryable
		if e.Reason == "" {
			e.Reason = aws.ToString(ae.ErrorMessage)
		}
	}
	return e
}

// Exec runs one statement (DDL such as the statements of TableDDL, or any
// other) and waits for it to succeed. A statement that fails is a
// *QueryError; a ctx that ends first stops the query.
func (a *Athena) Exec(ctx context.Context, stmt string) error {
	if strings.TrimSpace(stmt) == "" {
		return errors.New("athena exec: empty statement")
	}
	if _, err := a.run(ctx, stmt, Progress{Step: "exec"}, a.heartbeat); err != nil {
		return fmt.Errorf("athena exec: %w", err)
	}
	return nil
}

// Query runs sql in the engine's database and returns its whole result,
// read page by page. Values are converted by their Athena type: boolean to
// bool, tinyint/smallint/integer/bigint to int8/int16/int32/int64, real to
// float32, double and decimal to float64, timestamp to time.Time (UTC), NULL
// to nil; every other type (varchar, date as YYYY-MM-DD, arrays, maps, rows)
// stays the string Athena renders.
func (a *Athena) Query(ctx context.Context, sql string) (*Result, error) {
	if strings.TrimSpace(sql) == "" {
		return nil, errors.New("query: empty SQL")
	}
	qe, err := a.run(ctx, sql, Progress{Step: "query"}, a.heartbeat)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	res := &Result{Columns: []string{}, Rows: [][]any{}}
	var colTypes []string
	err = a.results(ctx, qe, func(cols []types.ColumnInfo, rows []types.Row) error {
		if colTypes == nil {
			colTypes = make([]string, len(cols))
			for i, c := range cols {
				res.Columns = append(res.Columns, aws.ToString(c.Name))
				colTypes[i] = strings.ToLower(aws.ToString(c.Type))
			}
		}
		for _, r := range rows {
			if len(r.Data) != len(colTypes) {
				return fmt.Errorf("row %d has %d values for %d columns", len(res.Rows)+1, len(r.Data), len(colTypes))
			}
			row := make([]any, len(r.Data))
			for i, d := range r.Data {
				v, err := athenaValue(colTypes[i], d.VarCharValue)
				if err != nil {
					return fmt.Errorf("row %d column %s: %w", len(res.Rows)+1, res.Columns[i], err)
				}
				row[i] = v
			}
			res.Rows = append(res.Rows, row)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return res, nil
}

// athenaValue converts a value of the Athena type typ, as GetQueryResults
// renders it, to a Go value; nil is NULL.
func athenaValue(typ string, s *string) (any, error) {
	if s == nil {
		return nil, nil
	}
	v := *s
	var (
		out any
		err error
	)
	switch typ {
	case "boolean":
		out, err = strconv.ParseBool(v)
	case "tinyint":
		var n int64
		n, err = strconv.ParseInt(v, 10, 8)
		out = int8(n)
	case "smallint":
		var n int64
		n, err = strconv.ParseInt(v, 10, 16)
		out = int16(n)
	case "integer", "int":
		var n int64
		n, err = strconv.ParseInt(v, 10, 32)
		out = int32(n)
	case "bigint":
		out, err = strconv.ParseInt(v, 10, 64)
	case "real", "float":
		var f float64
		f, err = strconv.ParseFloat(v, 32)
		out = float32(f)
	case "double", "decimal":
		out, err = strconv.ParseFloat(v, 64)
	case "timestamp":
		out, err = time.Parse("2006-01-02 15:04:05.999999999", v)
	default:
		return v, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s value %q: %w", typ, v, err)
	}
	return out, nil
}

// BuildMartsInLake builds every mart of dt with Athena and publishes each as
// marts/<mart>/dt=<dt>/part-NNNNN.parquet of store, which must be the s3://
// lake the tables of TableDDL point at.
//
// Each mart's SQL runs as UNLOAD … TO a fresh prefix under _staging/ of the
// lake, WITH format PARQUET, all marts at once. UNLOAD rather than INSERT
// INTO or CTAS: INSERT INTO appends (a re-run of a date would duplicate its
// rows) and writes into the live partition while readers list it; CTAS
// writes only through a new catalog table per run, to be dropped again.
// UNLOAD writes plain Parquet to an empty prefix without touching the
// catalog, and the marts then take the same publication path as the DuckDB
// engine's: Athena's files are renamed to the lake's part-NNNNN.parquet
// names (copied through this process, which also counts their rows for the
// report), and each partition is replaced with store.ReplacePrefix only once
// every mart has been built. A mart without rows gets an empty partition.
func (a *Athena) BuildMartsInLake(ctx context.Context, store lake.Store, dt string) (MartsReport, error) {
	if err := validateDT(dt); err != nil {
		return MartsReport{}, err
	}
	lakeURL, err := athenaLakeURL(store.URL())
	if err != nil {
		return MartsReport{}, err
	}
	staging, err := stagingPrefix("athena", dt)
	if err != nil {
		return MartsReport{}, err
	}
	report, err := a.buildMarts(ctx, store, lakeURL, staging, dt)
	if err != nil {
		return MartsReport{}, errors.Join(err, discardStaging(ctx, store, staging))
	}
	return report, nil
}

func (a *Athena) buildMarts(ctx context.Context, store lake.Store, lakeURL, staging, dt string) (MartsReport, error) {
	hb := serialized(a.heartbeat)
	statements := make([]string, len(Marts))
	for i, mart := range Marts {
		query, err := MartSQL(mart, MartParams{DT: dt, SimilarityBlockSize: a.blockSize})
		if err != nil {
			return MartsReport{}, err
		}
		statements[i] = unloadSQL(query, lakeURL+"/"+staging+"unload/"+mart+"/")
	}
	err := parallel.ForEach(ctx, len(Marts), len(Marts), func(ctx context.Context, i int) error {
		if _, err := a.run(ctx, statements[i], Progress{Step: "unload", Mart: Marts[i]}, hb); err != nil {
			return fmt.Errorf("unload mart %s for dt=%s: %w", Marts[i], dt, err)
		}
		return nil
	})
	if err != nil {
		return MartsReport{}, err
	}

	report := MartsReport{Rows: make(map[string]int64, len(Marts))}
	for _, mart := range Marts {
		rows, keys, err := renameUnloaded(ctx, store, staging+"unload/"+mart+"/", staging, lake.MartPrefix(mart, dt))
		if err != nil {
			return MartsReport{}, fmt.Errorf("stage mart %s for dt=%s: %w", mart, dt, err)
		}
		report.Rows[mart] = rows
		report.Keys = append(report.Keys, keys...)
	}
	if err := store.DeletePrefix(ctx, staging+"unload/"); err != nil {
		return MartsReport{}, fmt.Errorf("remove unloaded files of dt=%s: %w", dt, err)
	}
	report.Skipped, err = skipGenreMarts(ctx, report.Rows, func(ctx context.Context) (genreCoverage, error) {
		return a.genreCoverage(ctx, dt)
	})
	if err != nil {
		return MartsReport{}, fmt.Errorf("build marts of dt=%s: %w", dt, err)
	}
	for mart := range report.Skipped {
		// Nothing staged: publishing empties the partition.
		report.drop(mart)
		if err := store.DeletePrefix(ctx, staging+lake.MartPrefix(mart, dt)); err != nil {
			return MartsReport{}, fmt.Errorf("discard mart %s for dt=%s: %w", mart, dt, err)
		}
	}
	if err := publishMarts(ctx, store, staging, dt, hb); err != nil {
		return MartsReport{}, err
	}
	return report, nil
}

// genreCoverage counts the artists of dt and those with genres. A result
// without a row counts nothing, and so skips nothing.
func (a *Athena) genreCoverage(ctx context.Context, dt string) (genreCoverage, error) {
	res, err := a.Query(ctx, genreCoverageSQL(dt))
	if err != nil || len(res.Rows) == 0 {
		return genreCoverage{}, err
	}
	artists, ok1 := res.Rows[0][0].(int64)
	with, ok2 := res.Rows[0][1].(int64)
	if !ok1 || !ok2 {
		return genreCoverage{}, fmt.Errorf("genre coverage of dt=%s: want two bigints, got %v", dt, res.Rows[0])
	}
	return genreCoverage{artists: artists, withGenres: with}, nil
}

// unloadSQL wraps query into an UNLOAD to location. The query goes into a
// subquery, where a WITH clause and ORDER BY are valid SQL wherever UNLOAD
// accepts a SELECT; the line break keeps a trailing comment from swallowing
// the closing parenthesis.
func unloadSQL(query, location string) string {
	return "UNLOAD (SELECT * FROM (\n" + query + "\n) AS m)\nTO '" + location + "'\n" +
		"WITH (format = 'PARQUET', compression = 'SNAPPY')"
}

// renameUnloaded copies the files Athena unloaded under src to
// <staging><partition>part-NNNNN.parquet, in key order, and returns their
// total row count and the partition keys they will have once published.
// Names starting with _ or . are skipped, as Athena and Hive do.
func renameUnloaded(ctx context.Context, store lake.Store, src, staging, partition string) (int64, []string, error) {
	listed, err := store.List(ctx, src)
	if err != nil {
		return 0, nil, err
	}
	var (
		total int64
		keys  []string
	)
	for _, key := range listed {
		if base := path.Base(key); strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
			continue
		}
		final := lake.PartKey(partition, len(keys))
		n, err := copyParquet(ctx, store, key, staging+final)
		if err != nil {
			return 0, nil, err
		}
		total += n
		keys = append(keys, final)
	}
	return total, keys, nil
}

// copyParquet copies the Parquet object src of store to dst through a
// temporary file and returns its number of rows.
func copyParquet(ctx context.Context, store lake.Store, src, dst string) (int64, error) {
	tmp, err := os.CreateTemp("", "metronome-athena-*.parquet")
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", src, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()

	r, err := store.Get(ctx, src)
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", src, err)
	}
	size, err := io.Copy(tmp, r)
	r.Close()
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", src, err)
	}
	f, err := parquet.OpenFile(tmp, size)
	if err != nil {
		return 0, fmt.Errorf("copy %s: not a Parquet file: %w", src, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("copy %s: %w", src, err)
	}
	if err := store.Put(ctx, dst, tmp); err != nil {
		return 0, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return f.NumRows(), nil
}

// SimilarInLake reads the artist_similarity mart of dt with an Athena query,
// page by page. store must be the s3:// lake of the tables; a partition that
// is missing reads as empty (no call of fn).
func (a *Athena) SimilarInLake(ctx context.Context, store lake.Store, dt string, fn func(artistID string, similar []SimilarArtist) error) error {
	if err := validateDT(dt); err != nil {
		return err
	}
	if _, err := athenaLakeURL(store.URL()); err != nil {
		return err
	}
	qe, err := a.run(ctx, "SELECT artist_id, similar_artist_id, similar_name, score, rank FROM "+ArtistSimilarity+
		" WHERE dt = '"+dt+"' ORDER BY artist_id, rank", Progress{Step: "query", Mart: ArtistSimilarity}, a.heartbeat)
	if err != nil {
		return fmt.Errorf("read mart %s of dt=%s: %w", ArtistSimilarity, dt, err)
	}

	var current string
	var similar []SimilarArtist
	flush := func() error {
		if len(similar) == 0 {
			return nil
		}
		if err := fn(current, similar); err != nil {
			return fmt.Errorf("handle similar artists of %q: %w", current, err)
		}
		similar = nil
		return nil
	}
	err = a.results(ctx, qe, func(_ []types.ColumnInfo, rows []types.Row) error {
		for _, r := range rows {
			artistID, s, err := similarRow(r)
			if err != nil {
				return err
			}
			if artistID != current {
				if err := flush(); err != nil {
					return err
				}
				current = artistID
			}
			similar = append(similar, s)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read mart %s of dt=%s: %w", ArtistSimilarity, dt, err)
	}
	return flush()
}

// similarRow parses a row of artist_id, similar_artist_id, similar_name,
// score, rank.
func similarRow(r types.Row) (string, SimilarArtist, error) {
	if len(r.Data) != 5 {
		return "", SimilarArtist{}, fmt.Errorf("similar artists row has %d values, want 5", len(r.Data))
	}
	v := func(i int) string { return aws.ToString(r.Data[i].VarCharValue) }
	artistID := v(0)
	s := SimilarArtist{ArtistID: v(1), Name: v(2)}
	var err error
	if s.Score, err = strconv.ParseFloat(v(3), 64); err != nil {
		return "", SimilarArtist{}, fmt.Errorf("score of %s → %s: %w", artistID, s.ArtistID, err)
	}
	if s.Rank, err = strconv.Atoi(v(4)); err != nil {
		return "", SimilarArtist{}, fmt.Errorf("rank of %s → %s: %w", artistID, s.ArtistID, err)
	}
	return artistID, s, nil
}

// run starts sql and waits until it succeeds; see wait.
func (a *Athena) run(ctx context.Context, sql string, p Progress, hb HeartbeatFunc) (*types.QueryExecution, error) {
	in := &athena.StartQueryExecutionInput{
		QueryString:           aws.String(sql),
		WorkGroup:             aws.String(a.workGroup),
		QueryExecutionContext: &types.QueryExecutionContext{Database: aws.String(a.database)},
	}
	if a.output != "" {
		in.ResultConfiguration = &types.ResultConfiguration{OutputLocation: aws.String(a.output)}
	}
	out, err := a.client.StartQueryExecution(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("start athena query in workgroup %s: %w", a.workGroup, err)
	}
	id := aws.ToString(out.QueryExecutionId)
	if id == "" {
		return nil, errors.New("start athena query: no query execution ID in the response")
	}
	p.QueryID = id
	return a.wait(ctx, p, hb)
}

// wait polls the query p.QueryID with exponential backoff, telling hb of each
// state, until it ends. FAILED and CANCELLED are a *QueryError. When ctx ends
// first the query is stopped and the error wraps ctx's error.
func (a *Athena) wait(ctx context.Context, p Progress, hb HeartbeatFunc) (*types.QueryExecution, error) {
	delay := a.poll
	for {
		out, err := a.client.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(p.QueryID)})
		if err != nil {
			if ctx.Err() != nil {
				return nil, a.stop(ctx, p.QueryID)
			}
			return nil, fmt.Errorf("poll athena query %s: %w", p.QueryID, err)
		}
		qe := out.QueryExecution
		if qe == nil || qe.Status == nil {
			return nil, fmt.Errorf("poll athena query %s: no status in the response", p.QueryID)
		}
		p.State = string(qe.Status.State)
		if hb != nil {
			hb(ctx, p)
		}
		switch qe.Status.State {
		case types.QueryExecutionStateSucceeded:
			return qe, nil
		case types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
			return nil, newQueryError(p.QueryID, qe.Status)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, a.stop(ctx, p.QueryID)
		case <-timer.C:
		}
		delay = min(2*delay, a.maxPoll)
	}
}

// stop asks Athena to stop the query after ctx ended and returns the error
// to report, which wraps ctx's error.
func (a *Athena) stop(ctx context.Context, id string) error {
	cause := fmt.Errorf("athena query %s stopped: %w", id, ctx.Err())
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	_, err := a.client.StopQueryExecution(stopCtx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		return errors.Join(cause, fmt.Errorf("stop athena query %s: %w", id, err))
	}
	return cause
}

// results calls fn with each page of the results of the succeeded query qe,
// the header row of a SELECT (DML) result left out.
func (a *Athena) results(ctx context.Context, qe *types.QueryExecution, fn func(cols []types.ColumnInfo, rows []types.Row) error) error {
	id := aws.ToString(qe.QueryExecutionId)
	in := &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id), MaxResults: aws.Int32(resultPageSize)}
	for page := 0; ; page++ {
		out, err := a.client.GetQueryResults(ctx, in)
		if err != nil {
			return fmt.Errorf("read page %d of the results of athena query %s: %w", page+1, id, err)
		}
		var (
			cols []types.ColumnInfo
			rows []types.Row
		)
		if rs := out.ResultSet; rs != nil {
			rows = rs.Rows
			if rs.ResultSetMetadata != nil {
				cols = rs.ResultSetMetadata.ColumnInfo
			}
		}
		// Athena repeats the column names as the first row of a SELECT's
		// results; DDL and utility statements have no such row.
		if page == 0 && qe.StatementType == types.StatementTypeDml && len(rows) > 0 {
			rows = rows[1:]
		}
		if err := fn(cols, rows); err != nil {
			return err
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			return nil
		}
		if next == aws.ToString(in.NextToken) {
			return fmt.Errorf("read results of athena query %s: the same page token %q twice", id, next)
		}
		in.NextToken = aws.String(next)
	}
}

// serialized returns hb guarded by a mutex, for the goroutines of one call;
// nil stays nil.
func serialized(hb HeartbeatFunc) HeartbeatFunc {
	if hb == nil {
		return nil
	}
	var mu sync.Mutex
	return func(ctx context.Context, p Progress) {
		mu.Lock()
		defer mu.Unlock()
		hb(ctx, p)
	}
}
