package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// fakeTokenPattern matches the access tokens the fake issues ("BQ" and 64
// characters of unpadded base64url, like Spotify's), standing alone.
var fakeTokenPattern = regexp.MustCompile(`(^|[^A-Za-z0-9_-])BQ[A-Za-z0-9_-]{64}($|[^A-Za-z0-9_-])`)

// tokenRecorder serves the fake Spotify and notes every access token its
// token endpoint issues.
type tokenRecorder struct {
	next http.Handler

	mu     sync.Mutex
	tokens []string
}

func (r *tokenRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/api/token" {
		r.next.ServeHTTP(w, req)
		return
	}
	rec := httptest.NewRecorder()
	r.next.ServeHTTP(rec, req)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &body) == nil && body.AccessToken != "" {
		r.mu.Lock()
		r.tokens = append(r.tokens, body.AccessToken)
		r.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (r *tokenRecorder) issued() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// secrets are the values that must not appear anywhere, by name.
type secrets map[string]string

// find returns "NAME in WHERE" for every secret in text, and for fake
// tokens by their pattern when pattern is set.
func (s secrets) find(where, text string, pattern bool) []string {
	var found []string
	for name, v := range s {
		if strings.Contains(text, v) {
			found = append(found, name+" in "+where)
		}
	}
	if pattern {
		if m := fakeTokenPattern.FindString(text); m != "" {
			found = append(found, fmt.Sprintf("a Spotify access token (%.12s…) in %s", strings.TrimSpace(m), where))
		}
	}
	return found
}

// payloadsIn returns every Payload inside m, however deeply nested
// (inputs, results, failures' details, memos, search attributes, headers).
func payloadsIn(m protoreflect.Message) []*commonpb.Payload {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		return []*commonpb.Payload{p}
	}
	var out []*commonpb.Payload
	isMsg := func(k protoreflect.Kind) bool { return k == protoreflect.MessageKind || k == protoreflect.GroupKind }
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && isMsg(fd.Kind()):
			for i := 0; i < v.List().Len(); i++ {
				out = append(out, payloadsIn(v.List().Get(i).Message())...)
			}
		case fd.IsMap() && isMsg(fd.MapValue().Kind()):
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				out = append(out, payloadsIn(mv.Message())...)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && isMsg(fd.Kind()):
			out = append(out, payloadsIn(v.Message())...)
		}
		return true
	})
	return out
}

// payloadTexts returns the decoded data and metadata of every payload in
// m. protojson shows payload data as base64, so a plain scan of the JSON
// would miss a secret inside one.
func payloadTexts(m protoreflect.Message) []string {
	var out []string
	for _, p := range payloadsIn(m) {
		out = append(out, string(p.GetData()))
		for k, v := range p.GetMetadata() {
			out = append(out, k+"="+string(v))
		}
	}
	return out
}

// scanHistory scans every event of a history: its protojson form and the
// decoded payloads inside it.
func (s secrets) scanHistory(t *testing.T, name string, h *historypb.History) []string {
	t.Helper()
	var found []string
	for _, e := range h.Events {
		where := fmt.Sprintf("%s event %d (%s)", name, e.GetEventId(), e.GetEventType())
		b, err := protojson.Marshal(e)
		require.NoError(t, err)
		found = append(found, s.find(where, string(b), false)...)
		for _, text := range payloadTexts(e.ProtoReflect()) {
			found = append(found, s.find(where+" payload", text, true)...)
		}
	}
	return found
}

// captureLogs sends everything written to the process's stderr and the
// standard logger into a buffer until the returned function is called, so
// every log line of an in-process command is seen: zap opens "stderr" as
// os.Stderr when a logger is built.
func captureLogs(t *testing.T) (stop func() string) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	origStderr, origLog := os.Stderr, log.Writer()
	os.Stderr = w
	log.SetOutput(w)
	var buf bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&buf, r)
	}()
	var once sync.Once
	stop = func() string {
		once.Do(func() {
			os.Stderr = origStderr
			log.SetOutput(origLog)
			w.Close()
			<-copied
			r.Close()
		})
		return buf.String()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// scanFiles scans the raw bytes of every file under dir, gunzipping .gz
// objects: the SQLite databases of Temporal and the serving store, the
// lake's manifests and raw JSONL.
func (s secrets) scanFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("gunzip %s: %w", path, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("gunzip %s: %w", path, err)
			}
		}
		found = append(found, s.find(path, string(b), false)...)
		return nil
	}))
	return found
}

// The scanner finds a secret hidden in a payload, where the JSON form of
// the event shows only base64.
func TestSecretScannerSeesInsidePayloads(t *testing.T) {
	token := "BQ" + strings.Repeat("x", 64)
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"note": "token " + token})
	require.NoError(t, err)
	h := &historypb.History{Events: []*historypb.HistoryEvent{{
		EventId:   5,
		EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
		Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{
			ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
				Result: &commonpb.Payloads{Payloads: []*commonpb.Payload{p}},
			},
		},
	}}}
	b, err := protojson.Marshal(h)
	require.NoError(t, err)
	require.NotContains(t, string(b), token, "the JSON alone hides the token")
	found := secrets{"the token": token}.scanHistory(t, "canary", h)
	require.Contains(t, found, "the token in canary event 5 (ActivityTaskCompleted) payload")
	require.Len(t, found, 2, "found by value and by pattern: %v", found)
}

// TestNoSecretInHistoryOrLogs runs the pipeline end to end (`starter dev
// --exit`: embedded Temporal server, worker, Spotify client) against a
// fake Spotify with a distinctive client secret, with AWS keys in the
// environment, at debug log level. Then it scans every event and payload
// of every workflow history, every log line, the command's output and the
// data directory's files: the client secret, the access tokens the fake
// issued and the AWS keys appear nowhere.
func TestNoSecretInHistoryOrLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server, worker and pipeline")
	}
	dir := isolateEnv(t)
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	const (
		clientID     = "metronome-secrets-test-client"
		clientSecret = "sPoTiFy-SeCrEt-7f3a9c1e5b2d4f6a8c0e"
		awsKeyID     = "AKIAMETRONOME7F3A9C1E"
		awsSecret    = "aWsSeCrEt/7f3a9c1e5b2d+4f6a8c0eMETRONOME"
	)
	fake, err := spotifyfake.New(spotifyfake.Options{Artists: e2eArtists, Seed: 1, ClientID: clientID, ClientSecret: clientSecret})
	require.NoError(t, err)
	recorder := &tokenRecorder{next: fake}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	stopFake := spotifyfake.Serve(ctx, ln, recorder)
	defer stopFake()
	spotifyURL := "http://" + ln.Addr().String()

	var names []string
	for _, a := range fake.Catalog().Artists() {
		names = append(names, a.Name)
	}
	artistsFile := filepath.Join(dir, "artists.txt")
	require.NoError(t, os.WriteFile(artistsFile, []byte(strings.Join(names, "\n")+"\n"), 0o644))

	for k, v := range map[string]string{
		"SPOTIFY_ID":                            clientID,
		"SPOTIFY_SECRET":                        clientSecret,
		"METRONOME_SPOTIFY_BASE_URL":            spotifyURL + "/v1/",
		"METRONOME_SPOTIFY_TOKEN_URL":           spotifyURL + "/api/token",
		"METRONOME_SPOTIFY_FAKE":                "false",
		"METRONOME_SPOTIFY_REQUESTS_PER_SECOND": "1000",
		"METRONOME_ARTISTS_FILE":                artistsFile,
		"METRONOME_LOG_LEVEL":                   "debug",
		"METRONOME_DATA_DIR":                    data,
		"AWS_ACCESS_KEY_ID":                     awsKeyID,
		"AWS_SECRET_ACCESS_KEY":                 awsSecret,
		"AWS_REGION":                            "us-east-1",
	} {
		t.Setenv(k, v)
	}

	port, uiPort := freePorts(t)
	stopCapture := captureLogs(t)
	out, runErr := runStarter(t, ctx, "dev", "--exit", "--data", data, "--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort))
	logs := stopCapture()
	require.NoError(t, runErr, "output:\n%s\nlogs:\n%s", out, logs)
	today := time.Now().UTC().Format("2006-01-02")
	require.Contains(t, out, "run of "+today+" finished")
	require.Contains(t, out, "Spotify          "+spotifyURL, "the run used the fake as a real Spotify")

	tokens := recorder.issued()
	require.NotEmpty(t, tokens, "the worker obtained access tokens with the secret")
	require.Positive(t, fake.Stats().APICalls(), "and called the API with them")
	logLines := strings.Split(strings.TrimSpace(logs), "\n")
	require.Greater(t, len(logLines), 20, "debug logs were captured:\n%s", logs)

	s := secrets{
		"the Spotify client secret":             clientSecret,
		"the base64 of client ID and secret":    base64.StdEncoding.EncodeToString([]byte(clientID + ":" + clientSecret)),
		"the base64url of client ID and secret": base64.URLEncoding.EncodeToString([]byte(clientID + ":" + clientSecret)),
		"AWS_ACCESS_KEY_ID":                     awsKeyID,
		"AWS_SECRET_ACCESS_KEY":                 awsSecret,
	}
	for i, tok := range tokens {
		s[fmt.Sprintf("access token %d", i+1)] = tok
	}

	var found []string
	for i, line := range logLines {
		found = append(found, s.find(fmt.Sprintf("log line %d", i+1), line, true)...)
	}
	found = append(found, s.find("the command's output", out, true)...)

	// Every history of the namespace, read back from the server's database.
	_, c := devservertest.Start(t, devservertest.WithServer(devserver.Options{DatabaseFile: filepath.Join(data, "temporal.db")}))
	var executions []*commonpb.WorkflowExecution
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{})
		if err != nil {
			return false
		}
		executions = executions[:0]
		for _, info := range resp.GetExecutions() {
			executions = append(executions, info.GetExecution())
		}
		return len(executions) > 0
	}, 30*time.Second, 100*time.Millisecond, "the run is listed")
	events := 0
	for _, ex := range executions {
		h := &historypb.History{}
		it := c.GetWorkflowHistory(ctx, ex.GetWorkflowId(), ex.GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			require.NoError(t, err)
			h.Events = append(h.Events, e)
		}
		events += len(h.Events)
		found = append(found, s.scanHistory(t, ex.GetWorkflowId(), h)...)
	}
	require.Greater(t, events, 20, "the pipeline's history was scanned")

	found = append(found, s.scanFiles(t, data)...)
	require.Empty(t, found, "secrets leaked")
	t.Logf("scanned %d log lines, %d history events of %d executions and the files of %s for %d secrets (%d access tokens)",
		len(logLines), events, len(executions), data, len(s), len(tokens))
}
