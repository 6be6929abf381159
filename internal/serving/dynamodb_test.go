package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/testservers"
)

// faultyDynamo sits between the DynamoDB client and dynalite. It answers the
// first throttles calls of the targeted operations with
// ProvisionedThroughputExceededException, then forwards only the first
// half of the next partial BatchWriteItem calls and reports the rest as
// UnprocessedItems, as DynamoDB does when a partition is hot. It counts how
// often each item reached the server.
type faultyDynamo struct {
	next http.RoundTripper

	mu        sync.Mutex
	throttles map[string]int // by operation: calls left to throttle
	partial   int            // BatchWriteItem calls left to split; -1 = all
	forwarded map[string]int // "PK|SK" → times sent to the server
}

func (f *faultyDynamo) RoundTrip(req *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	throttle := f.throttles[op] > 0
	if throttle {
		f.throttles[op]--
	}
	split := op == "BatchWriteItem" && !throttle && f.partial != 0
	if split && f.partial > 0 {
		f.partial--
	}
	f.mu.Unlock()

	if throttle {
		return jsonResponse(req, http.StatusBadRequest, map[string]any{
			"__type":  "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
			"message": "The level of configured provisioned throughput for the table was exceeded.",
		})
	}
	var sent []json.RawMessage // the write requests forwarded
	var unprocessed map[string][]json.RawMessage
	switch op {
	case "BatchWriteItem":
		var in struct{ RequestItems map[string][]json.RawMessage }
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("fault injector: decode BatchWriteItem: %w", err)
		}
		if split {
			unprocessed = map[string][]json.RawMessage{}
			for table, reqs := range in.RequestItems {
				keepN := max(len(reqs)/2, 1)
				unprocessed[table] = reqs[keepN:]
				in.RequestItems[table] = reqs[:keepN]
				sent = append(sent, reqs[:keepN]...)
			}
			if body, err = json.Marshal(in); err != nil {
				return nil, err
			}
		} else {
			for _, reqs := range in.RequestItems {
				sent = append(sent, reqs...)
			}
		}
	case "PutItem":
		sent = append(sent, body)
	}
	if err := f.count(sent); err != nil {
		return nil, err
	}

	fwd := req.Clone(req.Context())
	fwd.Body = io.NopCloser(bytes.NewReader(body))
	fwd.ContentLength = int64(len(body))
	fwd.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp, err := f.next.RoundTrip(fwd)
	if err != nil || unprocessed == nil {
		return resp, err
	}
	var out map[string]any
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("fault injector: decode BatchWriteItem response: %w", err)
	}
	out["UnprocessedItems"] = unprocessed
	return jsonResponse(req, resp.StatusCode, out)
}

// count records the items of write requests ({"PutRequest":{"Item":…}} or
// a PutItem input {"Item":…}).
func (f *faultyDynamo) count(reqs []json.RawMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, raw := range reqs {
		var w struct {
			PutRequest struct{ Item map[string]map[string]any }
			Item       map[string]map[string]any
		}
		if err := json.Unmarshal(raw, &w); err != nil {
			return fmt.Errorf("fault injector: decode write request: %w", err)
		}
		item := w.Item
		if item == nil {
			item = w.PutRequest.Item
		}
		f.forwarded[fmt.Sprintf("%v|%v", item["PK"]["S"], item["SK"]["S"])]++
	}
	return nil
}

// jsonResponse builds a DynamoDB-style response. It carries no
// X-Amz-Crc32 header, so the client does not validate a checksum.
func jsonResponse(req *http.Request, status int, v any) (*http.Response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &http.Response{
		StatusCode:    status,
		Status:        http.StatusText(status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       req,
	}, nil
}

func TestDynamoRetries(t *testing.T) {
	endpoint := testservers.StartDynalite(t)
	ctx := context.Background()

	artists := make([]ArtistSnapshot, 30) // SNAP# in batches of 25 and 5
	for i := range artists {
		artists[i] = artist(fmt.Sprintf("r%02d", i), "Retry", i)
	}

	for _, tc := range []struct {
		name        string
		throttles   map[string]int
		partial     int
		maxAttempts int
		wantErr     string
		wantRetries int64
	}{
		{
			name:        "throttling and unprocessed items are retried, each item lands once",
			throttles:   map[string]int{"BatchWriteItem": 2, "PutItem": 3},
			partial:     3,
			maxAttempts: 8,
			wantRetries: 2 + 3 + 3,
		},
		{
			name:        "unprocessed items past the attempt limit fail the write",
			partial:     -1,
			maxAttempts: 3,
			wantErr:     "still unprocessed after 3 attempts",
		},
		{
			name:        "throttling past the attempt limit fails the write",
			throttles:   map[string]int{"BatchWriteItem": 100},
			maxAttempts: 2,
			wantErr:     "ProvisionedThroughputExceededException",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := fmt.Sprintf("retry-test-%d", tableSeq.Add(1))
			opts := dynamoOptions(endpoint)
			if err := CreateTable(ctx, "dynamodb://"+table, opts...); err != nil {
				t.Fatal(err)
			}
			faults := &faultyDynamo{
				next:      http.DefaultTransport,
				throttles: tc.throttles,
				partial:   tc.partial,
				forwarded: map[string]int{},
			}
			if faults.throttles == nil {
				faults.throttles = map[string]int{}
			}
			s := openTestStore(t, "dynamodb://"+table, append(opts,
				WithHTTPClient(&http.Client{Transport: faults}),
				WithRetry(tc.maxAttempts, time.Millisecond, 10*time.Millisecond))...)

			err := s.PutArtists(ctx, "2026-11-02", artists)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("PutArtists = %v; want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PutArtists: %v", err)
			}
			for _, a := range artists {
				for _, sk := range []string{"META", "SNAP#2026-11-02"} {
					if n := faults.forwarded[artistPK(a.ID)+"|"+sk]; n != 1 {
						t.Errorf("item %s %s reached the server %d times; want exactly 1", a.ID, sk, n)
					}
				}
			}
			items, err := s.Items(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 2*len(artists) {
				t.Errorf("table holds %d items; want %d", len(items), 2*len(artists))
			}
			st := s.Stats()
			if st.Retries != tc.wantRetries || st.ItemsWritten != int64(2*len(artists)) {
				t.Errorf("Stats = %+v; want %d retries, %d items written", st, tc.wantRetries, 2*len(artists))
			}
		})
	}
}

func TestDynamoUnprocessedRetryStopsWithContext(t *testing.T) {
	endpoint := testservers.StartDynalite(t)
	table := fmt.Sprintf("retry-test-%d", tableSeq.Add(1))
	opts := dynamoOptions(endpoint)
	if err := CreateTable(context.Background(), "dynamodb://"+table, opts...); err != nil {
		t.Fatal(err)
	}
	faults := &faultyDynamo{next: http.DefaultTransport, throttles: map[string]int{}, partial: -1, forwarded: map[string]int{}}
	s := openTestStore(t, "dynamodb://"+table, append(opts,
		WithHTTPClient(&http.Client{Transport: faults}),
		WithRetry(1000, time.Hour, time.Hour))...)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Track(ctx, "a", "b", "c", "d") }()
	// The first call splits the batch; the store then waits out its back-off.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(faults.snapshot()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Track = %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Track did not return after its context was cancelled")
	}
}

func (f *faultyDynamo) snapshot() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.forwarded))
	for k, v := range f.forwarded {
		out[k] = v
	}
	return out
}

// The default AWS chain finds the endpoint, region and credentials in the
// environment, as on a deployed worker; the URL may name them too.
func TestDynamoConfigFromEnvironmentAndURL(t *testing.T) {
	endpoint := testservers.StartDynalite(t)
	home := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()

	t.Run("environment", func(t *testing.T) {
		t.Setenv("AWS_REGION", "eu-west-1")
		t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
		url := fmt.Sprintf("dynamodb://env-test-%d", tableSeq.Add(1))
		for range 2 { // idempotent
			if err := CreateTable(ctx, url); err != nil {
				t.Fatalf("CreateTable(%s): %v", url, err)
			}
		}
		s := openTestStore(t, url)
		must(t, s.Track(ctx, "a"))
		if ids, err := s.Tracked(ctx); err != nil || len(ids) != 1 {
			t.Errorf("Tracked = %v, %v; want [a]", ids, err)
		}
	})
	t.Run("url", func(t *testing.T) {
		t.Setenv("AWS_REGION", "")
		url := fmt.Sprintf("dynamodb://url-test-%d?region=us-west-2&endpoint=%s", tableSeq.Add(1), endpoint)
		if err := CreateTable(ctx, url); err != nil {
			t.Fatalf("CreateTable(%s): %v", url, err)
		}
		s := openTestStore(t, url)
		must(t, s.Track(ctx, "b"))
		if ids, err := s.Tracked(ctx); err != nil || len(ids) != 1 {
			t.Errorf("Tracked = %v, %v; want [b]", ids, err)
		}
	})
	t.Run("no region", func(t *testing.T) {
		t.Setenv("AWS_REGION", "")
		t.Setenv("AWS_DEFAULT_REGION", "")
		_, err := Open(ctx, "dynamodb://no-region")
		if err == nil || !strings.Contains(err.Error(), "no AWS region") {
			t.Errorf("Open without a region = %v; want a no-region error", err)
		}
	})
}
