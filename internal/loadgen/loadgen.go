// Package loadgen is a small closed-loop HTTP load generator, like wrk:
// a fixed number of connections, each sending its next request as soon as
// the previous answer is read, for a bounded time. It measures the front
// door (`starter serve`) in benchmarks; it only ever talks to the URLs it
// is given, and the benchmarks give it loopback ones.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options of a run.
type Options struct {
	// Connections is the number of connections, each with one request in
	// flight at a time; default 32.
	Connections int
	// Duration bounds the run; required.
	Duration time.Duration
	// Request makes the i-th request of connection conn; required. It is
	// called concurrently.
	Request func(conn, i int) (*http.Request, error)
	// OK reports whether a response is a success; default: status 200.
	OK func(status int) bool
}

// Result of a run.
type Result struct {
	Requests int
	Errors   int // transport errors and responses OK refused
	Elapsed  time.Duration
	P50, P99 time.Duration
	Max      time.Duration
	// FirstError is the first error seen, for the report.
	FirstError error
}

// RPS is the answered requests per second.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// String is one line of a report.
func (r Result) String() string {
	s := fmt.Sprintf("%.0f requests/s, p50 %s, p99 %s, max %s, %d requests, %d errors",
		r.RPS(), r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond), r.Requests, r.Errors)
	if r.FirstError != nil {
		s += " (first: " + r.FirstError.Error() + ")"
	}
	return s
}

// Run sends requests on o.Connections connections until o.Duration has
// passed or ctx is done.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Connections <= 0 {
		o.Connections = 32
	}
	if o.Duration <= 0 || o.Request == nil {
		return Result{}, errors.New("loadgen: want a duration and a request maker")
	}
	if o.OK == nil {
		o.OK = func(status int) bool { return status == http.StatusOK }
	}
	tr := &http.Transport{
		MaxIdleConns:        o.Connections,
		MaxIdleConnsPerHost: o.Connections,
		MaxConnsPerHost:     o.Connections,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()

	type connResult struct {
		latencies []time.Duration
		errors    int
		first     error
	}
	results := make([]connResult, o.Connections)
	start := time.Now()
	var wg sync.WaitGroup
	for conn := range o.Connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[conn]
			res.latencies = make([]time.Duration, 0, 1<<14)
			fail := func(err error) {
				res.errors++
				if res.first == nil {
					res.first = err
				}
			}
			for i := 0; ctx.Err() == nil; i++ {
				req, err := o.Request(conn, i)
				if err != nil {
					fail(err)
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req.WithContext(ctx))
				if err != nil {
					if ctx.Err() != nil {
						return // the run ended mid-request: not an error
					}
					fail(err)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took := time.Since(t0)
				if err != nil && ctx.Err() != nil {
					return
				}
				if err != nil || !o.OK(resp.StatusCode) {
					fail(fmt.Errorf("%s %s: status %d, %v", req.Method, req.URL.Path, resp.StatusCode, err))
					continue
				}
				res.latencies = append(res.latencies, took)
			}
		}()
	}
	wg.Wait()
	out := Result{Elapsed: time.Since(start)}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.latencies...)
		out.Errors += r.errors
		if out.FirstError == nil {
			out.FirstError = r.first
		}
	}
	out.Requests = len(all)
	if len(all) > 0 {
		slices.Sort(all)
		out.P50 = all[len(all)/2]
		out.P99 = all[min(len(all)-1, len(all)*99/100)]
		out.Max = all[len(all)-1]
	}
	return out, nil
}

// RSS is the resident set size of this process in bytes, from
// /proc/self/status (0 where that is not available).
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
