package chaos

import (
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// recorder is a backend that answers 200 and remembers what reached it.
type recorder struct {
	mu     sync.Mutex
	bodies []string
	paths  []string
	answer string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, string(b))
	r.paths = append(r.paths, req.Method+" "+req.URL.Path)
	answer := r.answer
	r.mu.Unlock()
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(answer))), 10))
	io.WriteString(w, answer)
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...)
}

func roundTrip(t *testing.T, f *StorageFaults, method, url, target, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if target != "" {
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+target)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.RoundTrip(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	return resp, string(b)
}

func requireCRC(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	require.Equal(t, strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10), resp.Header.Get("X-Amz-Crc32"))
}

func TestStorageFaultsS3(t *testing.T) {
	tests := []struct {
		name, method, path string
		header             map[string]string
		wantStatus         int
	}{
		{name: "PutObject fails", method: http.MethodPut, path: "/bucket/raw/a.jsonl.gz", wantStatus: 503},
		{name: "GetObject passes", method: http.MethodGet, path: "/bucket/raw/a.jsonl.gz", wantStatus: 200},
		{name: "CreateBucket passes", method: http.MethodPut, path: "/bucket", wantStatus: 200},
		{name: "CopyObject passes", method: http.MethodPut, path: "/bucket/b", header: map[string]string{"X-Amz-Copy-Source": "bucket/a"}, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			f := NewStorageFaults(nil, StorageFaultOptions{S3PutError: 1})
			resp, body := roundTrip(t, f, tt.method, srv.URL+tt.path, "", "data", tt.header)
			require.Equal(t, tt.wantStatus, resp.StatusCode)
			if tt.wantStatus == 503 {
				require.Contains(t, body, "<Code>SlowDown</Code>")
				require.Empty(t, rec.seen(), "a failed put never reaches the server")
				require.Equal(t, 1, f.Stats().S3PutErrors)
			} else {
				require.Len(t, rec.seen(), 1)
			}
		})
	}
}

func TestStorageFaultsS3Outage(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	f := NewStorageFaults(nil, StorageFaultOptions{S3PutOutage: Outage{Match: []string{"curated/artists/"}, Requests: 2}})
	statuses := func(path string) int {
		resp, _ := roundTrip(t, f, http.MethodPut, srv.URL+path, "", "x", nil)
		return resp.StatusCode
	}
	require.Equal(t, 200, statuses("/b/curated/tracks/part-0"), "another key passes")
	require.Equal(t, 503, statuses("/b/curated/artists/part-0"))
	require.Equal(t, 503, statuses("/b/curated/artists/part-0"))
	require.Equal(t, 200, statuses("/b/curated/artists/part-0"), "the outage is over")
	require.Equal(t, 2, f.Stats().OutageFaults)
}

func batchWrite(n int, marker string) string {
	reqs := make([]string, n)
	for i := range reqs {
		reqs[i] = `{"PutRequest":{"Item":{"PK":{"S":"` + marker + strconv.Itoa(i) + `"}}}}`
	}
	return `{"RequestItems":{"tbl":[` + strings.Join(reqs, ",") + `]},"ReturnConsumedCapacity":"NONE"}`
}

func TestStorageFaultsDynamoDB(t *testing.T) {
	type batch struct {
		RequestItems map[string][]json.RawMessage
	}
	type answer struct {
		UnprocessedItems map[string][]json.RawMessage
	}
	tests := []struct {
		name          string
		opts          StorageFaultOptions
		target, body  string
		backendAnswer string
		wantStatus    int
		wantForwarded int // items that reached the server; -1: the request did not
		wantLeft      int // items answered unprocessed
	}{
		{name: "throttled", opts: StorageFaultOptions{DynamoThrottle: 1}, target: "PutItem", body: `{}`,
			wantStatus: 400, wantForwarded: -1},
		{name: "half the items withheld", opts: StorageFaultOptions{DynamoUnprocessed: 1}, target: "BatchWriteItem",
			body: batchWrite(5, "k"), backendAnswer: `{"UnprocessedItems":{}}`, wantStatus: 200, wantForwarded: 2, wantLeft: 3},
		{name: "the server's own unprocessed items kept", opts: StorageFaultOptions{DynamoUnprocessed: 1}, target: "BatchWriteItem",
			body:          batchWrite(4, "k"),
			backendAnswer: `{"UnprocessedItems":{"tbl":[{"PutRequest":{"Item":{"PK":{"S":"k0"}}}}]}}`,
			wantStatus:    200, wantForwarded: 2, wantLeft: 3},
		{name: "a single item withheld without a request", opts: StorageFaultOptions{DynamoUnprocessed: 1}, target: "BatchWriteItem",
			body: batchWrite(1, "k"), wantStatus: 200, wantForwarded: -1, wantLeft: 1},
		{name: "outage matches the body", opts: StorageFaultOptions{DynamoOutage: Outage{Match: []string{`"kx1"`}, Requests: 1}},
			target: "BatchWriteItem", body: batchWrite(3, "kx"), wantStatus: 400, wantForwarded: -1},
		{name: "outage ignores other bodies", opts: StorageFaultOptions{DynamoOutage: Outage{Match: []string{`"kx1"`}, Requests: 1}},
			target: "BatchWriteItem", body: batchWrite(3, "ky"), backendAnswer: `{"UnprocessedItems":{}}`, wantStatus: 200, wantForwarded: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{answer: tt.backendAnswer}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			f := NewStorageFaults(nil, tt.opts)
			resp, body := roundTrip(t, f, http.MethodPost, srv.URL+"/", tt.target, tt.body, nil)
			require.Equal(t, tt.wantStatus, resp.StatusCode, body)
			requireCRC(t, resp, body)
			if tt.wantStatus == 400 {
				require.Contains(t, body, "ProvisionedThroughputExceededException")
			}
			rec.mu.Lock()
			bodies := append([]string(nil), rec.bodies...)
			rec.mu.Unlock()
			if tt.wantForwarded < 0 {
				require.Empty(t, bodies)
			} else {
				require.Len(t, bodies, 1)
				var b batch
				require.NoError(t, json.Unmarshal([]byte(bodies[0]), &b))
				require.Len(t, b.RequestItems["tbl"], tt.wantForwarded)
				require.Contains(t, bodies[0], `"ReturnConsumedCapacity":"NONE"`, "other fields are kept")
			}
			if tt.wantStatus == 200 {
				var a answer
				require.NoError(t, json.Unmarshal([]byte(body), &a))
				require.Len(t, a.UnprocessedItems["tbl"], tt.wantLeft)
			}
		})
	}
}

func TestStorageFaultsDisabled(t *testing.T) {
	rec := &recorder{answer: `{"UnprocessedItems":{}}`}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	f := NewStorageFaults(nil, StorageFaultOptions{S3PutError: 1, DynamoThrottle: 1, DynamoUnprocessed: 1,
		S3PutOutage: Outage{Requests: 5}})
	f.SetEnabled(false)
	resp, _ := roundTrip(t, f, http.MethodPut, srv.URL+"/b/k", "", "x", nil)
	require.Equal(t, 200, resp.StatusCode)
	resp, _ = roundTrip(t, f, http.MethodPost, srv.URL+"/", "BatchWriteItem", batchWrite(4, "k"), nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Len(t, rec.seen(), 2)
	require.Zero(t, f.Stats().S3PutErrors+f.Stats().DynamoThrottled+f.Stats().UnprocessedBatches+f.Stats().OutageFaults)
}
