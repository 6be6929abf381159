package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// fakeAthena is an HTTP server speaking the JSON 1.1 protocol of Amazon
// Athena for StartQueryExecution, GetQueryExecution, StopQueryExecution and
// GetQueryResults. Each started query behaves as its script says; a query
// starting with MISMATCHED is refused at once, as Athena refuses bad syntax.
type fakeAthena struct {
	t      *testing.T
	server *httptest.Server

	mu       sync.Mutex
	requests []fakeRequest
	queries  map[string]*fakeQuery
	// script decides how a query runs; nil runs every query to SUCCEEDED at
	// the first poll with no rows.
	script func(sql string) fakeScript
}

// fakeRequest is one request the server received.
type fakeRequest struct {
	target      string // e.g. AmazonAthena.StartQueryExecution
	contentType string
	auth        string
	body        map[string]any
}

// fakeScript is how one query behaves.
type fakeScript struct {
	// states are reported by successive GetQueryExecution calls, the last
	// one repeated; none is SUCCEEDED at once.
	states []string
	// stateFn, when set, decides the state of each poll instead of states;
	// it runs with the server's lock held and may look at f.queries.
	stateFn   func(poll int) string
	reason    string
	athenaErr map[string]any // AthenaError of a failed query
	stmtType  string         // default DML
	columns   [][2]string    // name, type
	rows      [][]*string    // data rows, without the header row
	// onSuccess runs when the query is first reported SUCCEEDED, e.g. to
	// write the files of an UNLOAD.
	onSuccess func()
}

type fakeQuery struct {
	id        string
	sql       string
	script    fakeScript
	polls     int
	stopped   bool
	succeeded bool
}

func newFakeAthena(t *testing.T) *fakeAthena {
	f := &fakeAthena{t: t, queries: map[string]*fakeQuery{}}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

// engine returns an Athena engine talking to the fake with static
// credentials and fast polling.
func (f *fakeAthena) engine(t *testing.T, hb HeartbeatFunc) *Athena {
	t.Helper()
	cfg := aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	}
	a, err := NewAthena(context.Background(), AthenaConfig{
		Database:        "metronome",
		WorkGroup:       "etl",
		OutputLocation:  "s3://results/athena/",
		Endpoint:        f.server.URL,
		AWSConfig:       &cfg,
		HTTPClient:      f.server.Client(),
		Heartbeat:       hb,
		PollInterval:    time.Millisecond,
		MaxPollInterval: 4 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// calls returns the requests whose target ends with op.
func (f *fakeAthena) calls(op string) []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRequest
	for _, r := range f.requests {
		if r.target == "AmazonAthena."+op {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeAthena) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		f.fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	body := map[string]any{}
	if err := json.Unmarshal(raw, &body); err != nil {
		f.fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	target := r.Header.Get("X-Amz-Target")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, fakeRequest{
		target: target, contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization"), body: body,
	})

	switch target {
	case "AmazonAthena.StartQueryExecution":
		sql, _ := body["QueryString"].(string)
		if strings.HasPrefix(sql, "MISMATCHED") {
			f.fail(w, http.StatusBadRequest, "InvalidRequestException", "line 1:1: mismatched input 'MISMATCHED'")
			return
		}
		q := &fakeQuery{id: fmt.Sprintf("q-%03d", len(f.queries)+1), sql: sql}
		if f.script != nil {
			q.script = f.script(sql)
		}
		f.queries[q.id] = q
		f.reply(w, map[string]any{"QueryExecutionId": q.id})
	case "AmazonAthena.GetQueryExecution":
		q := f.query(w, body)
		if q == nil {
			return
		}
		state := "SUCCEEDED"
		if q.script.stateFn != nil {
			state = q.script.stateFn(q.polls)
		} else if n := len(q.script.states); n > 0 {
			state = q.script.states[min(q.polls, n-1)]
		}
		q.polls++
		if q.stopped {
			state = "CANCELLED"
		}
		status := map[string]any{"State": state, "SubmissionDateTime": 1.7e9}
		if state == "FAILED" || state == "CANCELLED" {
			if q.script.reason != "" {
				status["StateChangeReason"] = q.script.reason
			}
			if q.script.athenaErr != nil {
				status["AthenaError"] = q.script.athenaErr
			}
		}
		if state == "SUCCEEDED" && !q.succeeded {
			q.succeeded = true
			if q.script.onSuccess != nil {
				q.script.onSuccess()
			}
		}
		f.reply(w, map[string]any{"QueryExecution": map[string]any{
			"QueryExecutionId": q.id,
			"Query":            q.sql,
			"StatementType":    q.stmtType(),
			"Status":           status,
			"Statistics":       map[string]any{"DataScannedInBytes": 1024},
		}})
	case "AmazonAthena.StopQueryExecution":
		if q := f.query(w, body); q != nil {
			q.stopped = true
			f.reply(w, map[string]any{})
		}
	case "AmazonAthena.GetQueryResults":
		q := f.query(w, body)
		if q != nil {
			f.results(w, q, body)
		}
	default:
		f.fail(w, http.StatusBadRequest, "UnknownOperationException", "unknown target "+target)
	}
}

func (q *fakeQuery) stmtType() string {
	if q.script.stmtType != "" {
		return q.script.stmtType
	}
	return "DML"
}

// results serves one page of the query's rows, the header row first on
// the first page of a DML query, MaxResults rows a page in all.
func (f *fakeAthena) results(w http.ResponseWriter, q *fakeQuery, body map[string]any) {
	if !q.succeeded {
		f.fail(w, http.StatusBadRequest, "InvalidRequestException", "Query has not yet finished. Current state: RUNNING")
		return
	}
	var all [][]*string
	if q.stmtType() == "DML" {
		header := make([]*string, len(q.script.columns))
		for i, c := range q.script.columns {
			header[i] = aws.String(c[0])
		}
		all = append(all, header)
	}
	all = append(all, q.script.rows...)
	pageSize := 1000
	if m, ok := body["MaxResults"].(float64); ok {
		pageSize = int(m)
	}
	start := 0
	if tok, ok := body["NextToken"].(string); ok {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		if err != nil {
			f.fail(w, http.StatusBadRequest, "InvalidRequestException", "bad token "+tok)
			return
		}
		start = n
	}
	end := min(start+pageSize, len(all))
	rows := []any{}
	for _, r := range all[start:end] {
		data := []any{}
		for _, v := range r {
			if v == nil {
				data = append(data, map[string]any{})
			} else {
				data = append(data, map[string]any{"VarCharValue": *v})
			}
		}
		rows = append(rows, map[string]any{"Data": data})
	}
	cols := []any{}
	for _, c := range q.script.columns {
		cols = append(cols, map[string]any{"Name": c[0], "Label": c[0], "Type": c[1], "Nullable": "UNKNOWN"})
	}
	out := map[string]any{"ResultSet": map[string]any{
		"Rows":              rows,
		"ResultSetMetadata": map[string]any{"ColumnInfo": cols},
	}}
	if end < len(all) {
		out["NextToken"] = "page-" + strconv.Itoa(end)
	}
	f.reply(w, out)
}

func (f *fakeAthena) query(w http.ResponseWriter, body map[string]any) *fakeQuery {
	id, _ := body["QueryExecutionId"].(string)
	q := f.queries[id]
	if q == nil {
		f.fail(w, http.StatusBadRequest, "InvalidRequestException", "QueryExecution "+id+" was not found")
	}
	return q
}

func (f *fakeAthena) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if err := json.NewEncoder(w).Encode(v); err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		// A client that gave up its call (a failed query cancels the
		// others' polls) closes the connection: that is not the fake's error.
		f.t.Errorf("fake athena: encode response: %v", err)
	}
}

func (f *fakeAthena) fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"__type": typ, "Message": msg})
}

// str makes row values; "NULL" is a NULL.
func str(values ...string) []*string {
	out := make([]*string, len(values))
	for i, v := range values {
		if v != "NULL" {
			out[i] = aws.String(v)
		}
	}
	return out
}
