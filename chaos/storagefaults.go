package chaos

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// StorageFaults is an http.RoundTripper under the AWS SDK's clients that
// makes a seeded fraction of requests fail the ways S3 and DynamoDB do
// under load:
//
//   - an S3 PutObject (or UploadPart) is answered 503 SlowDown without
//     reaching the server;
//   - a DynamoDB request is answered 400
//     ProvisionedThroughputExceededException without reaching the server;
//   - a DynamoDB BatchWriteItem has the second half of its items withheld
//     from the server, and the answer lists them as UnprocessedItems, as
//     DynamoDB does when a partition is throttled.
//
// Besides these random faults, an Outage fails the first few matching
// requests in a row, more than the SDK retries, so the operation fails and
// the activity is retried by Temporal.
//
// Every fault happens before the server sees the request (or the withheld
// part of it), so a client that retries what it was told failed loses
// nothing, and one that does not loses exactly that.
type StorageFaults struct {
	next              http.RoundTripper
	s3PutError        float64
	dynamoThrottle    float64
	dynamoUnprocessed float64
	s3Outage          Outage
	dynamoOutage      Outage

	mu    sync.Mutex
	rng   *rand.Rand
	stats StorageFaultStats
	off   bool
}

// StorageFaultOptions are the fractions of requests that fail and the
// outages.
type StorageFaultOptions struct {
	S3PutError        float64
	DynamoThrottle    float64
	DynamoUnprocessed float64
	// S3PutOutage answers SlowDown to the first PutObject requests whose
	// URL path holds every Match string.
	S3PutOutage Outage
	// DynamoOutage throttles the first BatchWriteItem requests whose body
	// holds every Match string.
	DynamoOutage Outage
	Seed         uint64
}

// Outage fails the first Requests requests that match.
type Outage struct {
	Match    []string
	Requests int
}

// take reports whether text matches and the outage still has a request
// to fail, and uses it up.
func (o *Outage) take(text string) bool {
	if o.Requests <= 0 {
		return false
	}
	for _, m := range o.Match {
		if !strings.Contains(text, m) {
			return false
		}
	}
	o.Requests--
	return true
}

// StorageFaultStats counts the requests seen and the faults injected.
type StorageFaultStats struct {
	S3Puts, S3PutErrors              int
	DynamoRequests, DynamoThrottled  int
	BatchWrites, UnprocessedBatches  int
	UnprocessedItems, ForwardedItems int
	// OutageFaults counts the requests failed by an outage.
	OutageFaults int
}

// NewStorageFaults wraps next (http.DefaultTransport when nil).
func NewStorageFaults(next http.RoundTripper, o StorageFaultOptions) *StorageFaults {
	if next == nil {
		next = http.DefaultTransport
	}
	return &StorageFaults{
		next: next, s3PutError: o.S3PutError, dynamoThrottle: o.DynamoThrottle,
		dynamoUnprocessed: o.DynamoUnprocessed, s3Outage: o.S3PutOutage, dynamoOutage: o.DynamoOutage,
		rng: rand.New(rand.NewPCG(o.Seed, 0x5707a6e)),
	}
}

// SetEnabled turns fault injection on or off (it starts on).
func (f *StorageFaults) SetEnabled(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.off = !on
}

// Stats returns the counters so far.
func (f *StorageFaults) Stats() StorageFaultStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// draw reports whether a fault of probability p strikes, counting the
// request under *seen and the fault under *hit.
func (f *StorageFaults) draw(p float64, seen, hit *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if seen != nil {
		*seen++
	}
	if f.off || p <= 0 || f.rng.Float64() >= p {
		return false
	}
	*hit++
	return true
}

// RoundTrip implements http.RoundTripper.
func (f *StorageFaults) RoundTrip(req *http.Request) (*http.Response, error) {
	if target := req.Header.Get("X-Amz-Target"); strings.HasPrefix(target, "DynamoDB_") {
		op := target[strings.IndexByte(target, '.')+1:]
		if op == "BatchWriteItem" {
			out, err := f.dynamoOutageHit(req)
			if out != nil || err != nil {
				return out, err
			}
		}
		if f.draw(f.dynamoThrottle, &f.stats.DynamoRequests, &f.stats.DynamoThrottled) {
			closeBody(req)
			return dynamoError(req, "ProvisionedThroughputExceededException",
				"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."), nil
		}
		if op == "BatchWriteItem" && f.draw(f.dynamoUnprocessed, &f.stats.BatchWrites, &f.stats.UnprocessedBatches) {
			return f.withholdItems(req)
		}
		return f.next.RoundTrip(req)
	}
	if isS3Put(req) && f.outage(&f.s3Outage, req.URL.Path) {
		closeBody(req)
		return s3Error(req, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."), nil
	}
	if isS3Put(req) && f.draw(f.s3PutError, &f.stats.S3Puts, &f.stats.S3PutErrors) {
		closeBody(req)
		return s3Error(req, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."), nil
	}
	return f.next.RoundTrip(req)
}

// outage uses up a request of o when text matches it.
func (f *StorageFaults) outage(o *Outage, text string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.off || !o.take(text) {
		return false
	}
	f.stats.OutageFaults++
	return true
}

// dynamoOutageHit throttles a BatchWriteItem the DynamoDB outage matches;
// otherwise it leaves the request as it was and returns nil.
func (f *StorageFaults) dynamoOutageHit(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	pending := f.dynamoOutage.Requests > 0 && !f.off
	f.mu.Unlock()
	if !pending || req.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(req.Body)
	closeBody(req)
	if err != nil {
		return nil, fmt.Errorf("storage faults: read BatchWriteItem request: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if !f.outage(&f.dynamoOutage, string(body)) {
		return nil, nil
	}
	return dynamoError(req, "ProvisionedThroughputExceededException",
		"The level of configured provisioned throughput for the table was exceeded."), nil
}

// isS3Put tells a PutObject or UploadPart (PUT of an object key) from
// bucket-level PUTs and CopyObject.
func isS3Put(req *http.Request) bool {
	if req.Method != http.MethodPut || req.Header.Get("X-Amz-Copy-Source") != "" {
		return false
	}
	path := strings.Trim(req.URL.Path, "/")
	return strings.Contains(path, "/") // path-style: bucket/key…
}

// withholdItems forwards the first half of a BatchWriteItem's items and
// answers the rest as UnprocessedItems.
func (f *StorageFaults) withholdItems(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	closeBody(req)
	if err != nil {
		return nil, fmt.Errorf("storage faults: read BatchWriteItem request: %w", err)
	}
	var in map[string]json.RawMessage
	var items map[string][]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("storage faults: decode BatchWriteItem request: %w", err)
	}
	if err := json.Unmarshal(in["RequestItems"], &items); err != nil {
		return nil, fmt.Errorf("storage faults: decode RequestItems: %w", err)
	}
	withheld := map[string][]json.RawMessage{}
	forwarded := 0
	for table, reqs := range items {
		keep := len(reqs) / 2
		withheld[table] = reqs[keep:]
		if keep == 0 {
			delete(items, table)
			continue
		}
		items[table] = reqs[:keep]
		forwarded += keep
	}
	n := 0
	for _, w := range withheld {
		n += len(w)
	}
	f.mu.Lock()
	f.stats.UnprocessedItems += n
	f.stats.ForwardedItems += forwarded
	f.mu.Unlock()

	out := map[string]json.RawMessage{}
	if len(items) > 0 {
		b, err := json.Marshal(items)
		if err != nil {
			return nil, fmt.Errorf("storage faults: encode RequestItems: %w", err)
		}
		in["RequestItems"] = b
		body, err = json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("storage faults: encode BatchWriteItem request: %w", err)
		}
		fwd := req.Clone(req.Context())
		fwd.Body = io.NopCloser(bytes.NewReader(body))
		fwd.ContentLength = int64(len(body))
		fwd.Header.Set("Content-Length", strconv.Itoa(len(body)))
		fwd.Header.Set("Accept-Encoding", "identity")
		resp, err := f.next.RoundTrip(fwd)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			// The server refused the forwarded half: pass its answer on,
			// the client retries the whole batch.
			return resp, nil
		}
		raw, err := readBody(resp)
		if err != nil {
			return nil, fmt.Errorf("storage faults: read BatchWriteItem answer: %w", err)
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("storage faults: decode BatchWriteItem answer: %w", err)
		}
	}
	unprocessed := map[string][]json.RawMessage{}
	if u, ok := out["UnprocessedItems"]; ok {
		if err := json.Unmarshal(u, &unprocessed); err != nil {
			return nil, fmt.Errorf("storage faults: decode UnprocessedItems: %w", err)
		}
	}
	for table, w := range withheld {
		unprocessed[table] = append(unprocessed[table], w...)
	}
	u, err := json.Marshal(unprocessed)
	if err != nil {
		return nil, fmt.Errorf("storage faults: encode UnprocessedItems: %w", err)
	}
	out["UnprocessedItems"] = u
	answer, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("storage faults: encode BatchWriteItem answer: %w", err)
	}
	return dynamoResponse(req, http.StatusOK, answer), nil
}

func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	return io.ReadAll(r)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func dynamoError(req *http.Request, code, msg string) *http.Response {
	body, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": msg})
	return dynamoResponse(req, http.StatusBadRequest, body)
}

// dynamoResponse is an answer as DynamoDB writes it, with the CRC32 the
// SDK verifies.
func dynamoResponse(req *http.Request, status int, body []byte) *http.Response {
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	h.Set("X-Amzn-Requestid", "chaos-storage-fault")
	return response(req, status, h, body)
}

func s3Error(req *http.Request, status int, code, msg string) *http.Response {
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error><Code>` + code + `</Code><Message>` + msg + `</Message><RequestId>chaos-storage-fault</RequestId></Error>`)
	h := http.Header{}
	h.Set("Content-Type", "application/xml")
	h.Set("X-Amz-Request-Id", "chaos-storage-fault")
	return response(req, status, h, body)
}

func response(req *http.Request, status int, h http.Header, body []byte) *http.Response {
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		Request: req,
	}
}
