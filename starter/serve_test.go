package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/botapi"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/reply"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/workflows"
)

const (
	serveSecret = "e2e-signing-secret-0123456789abcdef"
	serveToken  = "e2e-api-token"
)

// serveRoot is the command line with `serve` on it, registered by main.go
// or, until it is, added here with the global flags passed through.
func serveRoot() *cobra.Command {
	root := newRootCommand()
	if c, _, err := root.Find([]string{"serve"}); err == nil && c != root {
		return root
	}
	g := &globalFlags{}
	serve := newServeCommand(g)
	serve.PreRunE = func(cmd *cobra.Command, _ []string) error {
		g.configFile, _ = cmd.Flags().GetString("config")
		g.output, _ = cmd.Flags().GetString("output")
		return nil
	}
	root.AddCommand(serve)
	return root
}

// exitCode is the exit code execute gives err.
func exitCode(err error) int {
	var cfgErr *config.ValidationError
	var uErr usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &cfgErr), errors.As(err, &uErr), isCobraUsage(err):
		return 2
	default:
		return 1
	}
}

func runServeCmd(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	root := serveRoot()
	root.SetArgs(append([]string{"serve"}, args...))
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// Bad usage and config stop serve with exit code 2 before it connects
// anywhere (TEMPORAL_ADDRESS points at a port nobody listens on); inside
// AWS Lambda a config file is refused.
func TestServeBadUsage(t *testing.T) {
	dir := isolateEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		setup func(t *testing.T)
		want  string
	}{
		{"short window", []string{"--window", "10ms"}, nil, nil, "--window 10ms: want 1s to 1h"},
		{"too many artists", []string{"--max-artists", "51"}, nil, nil, "--max-artists 51"},
		{"bad address", []string{"--addr", "nohost"}, nil, nil, "serve.addr"},
		{"bad address in env", nil, map[string]string{"METRONOME_SERVE_ADDR": "8088"}, nil, "serve.addr"},
		{"argument", []string{"now"}, nil, nil, `unknown command "now"`},
		{"Lambda with --config", []string{"--config", filepath.Join(dir, "x.yaml")},
			map[string]string{lambdaRuntimeEnv: "127.0.0.1:9001"}, nil, "environment only"},
		{"Lambda with the default file", nil, map[string]string{lambdaRuntimeEnv: "127.0.0.1:9001"},
			func(t *testing.T) {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "config"), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, config.DefaultFile), []byte("log:\n  level: info\n"), 0o644))
				t.Cleanup(func() { require.NoError(t, os.RemoveAll(filepath.Join(dir, "config"))) })
			}, "remove the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.setup != nil {
				tt.setup(t)
			}
			out, err := runServeCmd(context.Background(), tt.args...)
			require.Error(t, err, out)
			require.Equal(t, 2, exitCode(err), err.Error())
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

// servedBot is a running `starter serve`.
type servedBot struct {
	base string
	stop func() string // stops it and returns its output
}

// startServe runs `starter serve` in-process on a free port until stop or
// the end of the test, and waits until it answers /healthz.
func startServe(t *testing.T, args ...string) servedBot {
	t.Helper()
	port, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := runServeCmd(ctx, append([]string{"--addr", addr}, args...)...)
		done <- result{out, err}
	}()
	base := "http://" + addr
	var stopped *result
	stop := func() string {
		if stopped == nil {
			cancel()
			r := <-done
			stopped = &r
			require.NoError(t, r.err, r.out)
		}
		return stopped.out
	}
	t.Cleanup(func() { stop() })
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		select {
		case r := <-done:
			stopped = &r
			t.Fatalf("serve stopped: %v\n%s", r.err, r.out)
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "serve does not answer /healthz") // a safety net
	}
	return servedBot{base: base, stop: stop}
}

// answer is what one response_url received.
type answer struct {
	body string
	at   time.Time
}

// responseURLs stands in for Slack's response_urls: one path per command.
type responseURLs struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string][]answer
}

func newResponseURLs(t *testing.T) *responseURLs {
	r := &responseURLs{got: map[string][]answer{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got[req.URL.Path] = append(r.got[req.URL.Path], answer{string(b), time.Now()})
		r.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *responseURLs) url(key string) string { return r.srv.URL + "/commands/T0/" + key }

func (r *responseURLs) answers(key string) []answer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]answer(nil), r.got["/commands/T0/"+key]...)
}

// await waits until every key has an answer (a safety net of limit).
func (r *responseURLs) await(t *testing.T, limit time.Duration, keys ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, k := range keys {
			if len(r.answers(k)) == 0 {
				return false
			}
		}
		return true
	}, limit, 50*time.Millisecond, "answers at %d response_urls", len(keys))
}

// sendCommand sends a slash command signed as Slack signs it and returns
// the decoded answer and how long the acknowledgement took.
func sendCommand(base, text, responseURL string) (botapiAnswer, time.Duration, error) {
	body := url.Values{
		"command": {"/metronome"}, "text": {text}, "response_url": {responseURL},
		"channel_id": {"C0E2E"}, "user_id": {"U0E2E"}, "team_id": {"T0"},
	}.Encode()
	ts := time.Now().Unix()
	m := hmac.New(sha256.New, []byte(serveSecret))
	fmt.Fprintf(m, "v0:%d:%s", ts, body)
	req, err := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
	if err != nil {
		return botapiAnswer{}, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	start := time.Now()
	// The handler answers 503 when its 2.5 s deadline passes, so a 200
	// means it did its work in time; the client timeout is a safety net.
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return botapiAnswer{}, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return botapiAnswer{}, took, err
	}
	if resp.StatusCode != http.StatusOK {
		return botapiAnswer{}, took, fmt.Errorf("command %q: status %d: %s", text, resp.StatusCode, raw)
	}
	var a botapiAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return botapiAnswer{}, took, fmt.Errorf("command %q: %w: %s", text, err, raw)
	}
	return a, took, nil
}

func slashCommand(t *testing.T, base, text, responseURL string) (botapiAnswer, time.Duration) {
	t.Helper()
	a, took, err := sendCommand(base, text, responseURL)
	require.NoError(t, err)
	return a, took
}

type botapiAnswer struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// slackText is how a name appears in a Slack message's text.
func slackText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// decodedText is the text of a posted Slack message.
func decodedText(t *testing.T, body string) string {
	t.Helper()
	var m botapiAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &m), body)
	return m.Text
}

func countRuns(t *testing.T, c client.Client) int {
	t.Helper()
	resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: "WorkflowType = 'ArtistRequestRunWorkflow'",
	})
	require.NoError(t, err)
	return len(resp.GetExecutions())
}

// signals counts the requests the running artist-requests received.
func signals(t *testing.T, c client.Client) int {
	t.Helper()
	n := 0
	it := c.GetWorkflowHistory(context.Background(), workflows.ArtistRequestWorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			n++
		}
	}
	return n
}

// requestHistories are the raw events of every request workflow, payloads
// included byte for byte.
func requestHistories(t *testing.T, c client.Client) []byte {
	t.Helper()
	ctx := context.Background()
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: "WorkflowType = 'ArtistRequestWorkflow' OR WorkflowType = 'ArtistRequestRunWorkflow'",
	})
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetExecutions())
	var all []byte
	for _, e := range resp.GetExecutions() {
		it := c.GetWorkflowHistory(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			b, err := proto.Marshal(ev)
			require.NoError(t, err)
			all = append(all, b...)
		}
	}
	return all
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1)+0.5)]
}

// End to end on the embedded Temporal server, a worker with the real
// activities and the fake Spotify: a slash command for an artist nobody
// tracks is acknowledged at once and answered at its response_url once
// stored, the response_url never entering workflow history; the same
// artist is then answered from the store without a workflow; twenty
// commands within the window make one run and twenty answers; an unknown
// name gets a not-found answer; the JSON API follows a request to stored.
// It logs the acknowledgement latency over 100 commands and the time from
// command to answer.
func TestServeEndToEnd(t *testing.T) {
	_, c := testServer(t, devserver.Options{})
	// The worker and serve read these: the callback goes to the test's server
	// on 127.0.0.1, on the list with loopback allowed.
	t.Setenv("METRONOME_API_CALLBACK_HOSTS", "127.0.0.1")
	t.Setenv("METRONOME_API_CALLBACK_ALLOW_LOOPBACK", "true")
	const catalogSize = 140
	cfg := startRealWorker(t, c, catalogSize)
	catalog := spotifyfake.NewCatalog(catalogSize, 1).Artists()
	ctx := context.Background()
	const window = 3 * time.Second

	// Without a signing secret the Slack route is off, and serve says so.
	off := startServe(t, "--window", window.String())
	resp, err := http.Post(off.base+"/slack/commands", "application/x-www-form-urlencoded", strings.NewReader("text=x"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, off.stop(), "Slack route off: set SLACK_SIGNING_SECRET")

	t.Setenv("SLACK_SIGNING_SECRET", serveSecret)
	t.Setenv("METRONOME_API_TOKEN", serveToken)
	bot := startServe(t, "--window", window.String())
	hooks := newResponseURLs(t)

	// 1. An untracked catalog artist: acknowledged at once, answered later
	// at its response_url with its top tracks.
	first := catalog[0]
	sent := time.Now()
	ack, ackTook := slashCommand(t, bot.base, first.Name, hooks.url("first"))
	require.Equal(t, "ephemeral", ack.ResponseType)
	require.Contains(t, ack.Text, "Collecting *"+slackText(first.Name)+"*")
	hooks.await(t, 2*time.Minute, "first")
	got := hooks.answers("first")
	require.Len(t, got, 1, "answered once")
	firstAnswer := got[0].at.Sub(sent)
	store, err := serving.Open(ctx, cfg.Serving.URL)
	require.NoError(t, err)
	defer store.Close()
	view, ok, err := store.Artist(ctx, first.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.NotEmpty(t, view.TopTracks)
	text := decodedText(t, got[0].body)
	require.Contains(t, text, slackText(first.Name))
	for _, tr := range view.TopTracks {
		require.Contains(t, text, slackText(tr.Name))
	}
	require.Contains(t, got[0].body, `"response_type":"in_channel"`)
	runsAfterFirst := countRuns(t, c)
	require.Equal(t, 1, runsAfterFirst)

	// 2. Now tracked: answered from the store, no request to Temporal.
	before := signals(t, c)
	known, _ := slashCommand(t, bot.base, strings.ToUpper(first.Name), hooks.url("known"))
	require.Equal(t, "in_channel", known.ResponseType)
	require.Contains(t, known.Text, slackText(view.TopTracks[0].Name))
	byID, _ := slashCommand(t, bot.base, "https://open.spotify.com/artist/"+first.ID, hooks.url("known-id"))
	require.Contains(t, byID.Text, slackText(first.Name))
	require.Equal(t, before, signals(t, c), "no workflow signalled for a tracked artist")

	// 3. Twenty commands for new artists within the window: one run, and
	// each asker gets their own answer.
	twenty := catalog[1:21]
	acked := make(chan error, len(twenty))
	for i, a := range twenty {
		go func() {
			ack, _, err := sendCommand(bot.base, a.Name, hooks.url(fmt.Sprintf("twenty-%d", i)))
			if err == nil && !strings.Contains(ack.Text, "Collecting") {
				err = fmt.Errorf("command %q acknowledged with %q", a.Name, ack.Text)
			}
			acked <- err
		}()
	}
	for range twenty {
		require.NoError(t, <-acked)
	}
	keys := make([]string, len(twenty))
	for i := range twenty {
		keys[i] = fmt.Sprintf("twenty-%d", i)
	}
	hooks.await(t, 2*time.Minute, keys...)
	require.Equal(t, runsAfterFirst+1, countRuns(t, c), "twenty commands in one window make one run")
	for i, a := range twenty {
		got := hooks.answers(keys[i])
		require.Len(t, got, 1, a.Name)
		require.Contains(t, decodedText(t, got[0].body), slackText(a.Name)+" — top tracks: ")
	}

	// 4. A name Spotify does not know gets a clear answer, not silence.
	slashCommand(t, bot.base, "Nobody By This Name 12345", hooks.url("nobody"))
	hooks.await(t, 2*time.Minute, "nobody")
	nobody := hooks.answers("nobody")[0]
	require.Contains(t, decodedText(t, nobody.body), "Spotify knows no artist *Nobody By This Name 12345*")
	require.Contains(t, nobody.body, `"response_type":"ephemeral"`)

	// 5. The JSON API: 202 with IDs, the request's state until stored, and
	// the callback with the artist.
	apiArtist := catalog[21]
	body := fmt.Sprintf(`{"artists": [%q, %q], "callback_url": %q}`, first.Name, apiArtist.Name, hooks.url("callback"))
	req, err := http.NewRequest(http.MethodPost, bot.base+"/v1/artist-requests", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+serveToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(raw))
	var acc botapi.Accepted
	require.NoError(t, json.Unmarshal(raw, &acc))
	require.Equal(t, workflows.ArtistRequestWorkflowID, acc.WorkflowID)
	require.Len(t, acc.Requests, 2)
	require.Equal(t, "stored", acc.Requests[0].State, "a tracked artist is answered at once")
	apiReq := acc.Requests[1]
	states := map[string]bool{}
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, bot.base+"/v1/requests/"+apiReq.ID, nil)
		req.Header.Set("Authorization", "Bearer "+serveToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st reply.RequestStatus
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
			return false
		}
		states[st.State] = true
		return st.State == "stored" && st.ArtistID == apiArtist.ID
	}, 2*time.Minute, 20*time.Millisecond)
	hooks.await(t, time.Minute, "callback")
	var cb reply.Callback
	require.NoError(t, json.Unmarshal([]byte(hooks.answers("callback")[0].body), &cb))
	require.Equal(t, apiReq.ID, cb.Request.ID)
	require.NotNil(t, cb.Artist)
	require.Equal(t, apiArtist.Name, cb.Artist.Name)
	require.NotEmpty(t, cb.Artist.TopTracks)

	// 6. Acknowledgement latency over 100 commands for untracked artists
	// (store write and signal-with-start each), and the time from command
	// to answer.
	hundred := catalog[22:122]
	acks := make([]time.Duration, len(hundred))
	sentAt := make([]time.Time, len(hundred))
	hundredKeys := make([]string, len(hundred))
	for i, a := range hundred {
		hundredKeys[i] = fmt.Sprintf("latency-%d", i)
		sentAt[i] = time.Now()
		ack, took := slashCommand(t, bot.base, a.Name, hooks.url(hundredKeys[i]))
		require.Contains(t, ack.Text, "Collecting")
		acks[i] = took
	}
	hooks.await(t, 3*time.Minute, hundredKeys...)
	answerTimes := make([]time.Duration, len(hundred))
	for i, a := range hundred {
		got := hooks.answers(hundredKeys[i])
		require.Len(t, got, 1)
		require.Contains(t, decodedText(t, got[0].body), slackText(a.Name))
		answerTimes[i] = got[0].at.Sub(sentAt[i])
	}
	t.Logf("first command: ack %s, answer after %s (request window %s)", ackTook.Round(time.Millisecond), firstAnswer.Round(time.Millisecond), window)
	t.Logf("ack latency over %d commands: median %s, p90 %s, max %s", len(acks),
		percentile(acks, 0.5).Round(time.Microsecond), percentile(acks, 0.9).Round(time.Microsecond), percentile(acks, 1).Round(time.Microsecond))
	t.Logf("command to answer over %d commands: median %s, max %s (request window %s, runs of up to 50 artists)", len(answerTimes),
		percentile(answerTimes, 0.5).Round(time.Millisecond), percentile(answerTimes, 1).Round(time.Millisecond), window)

	// Every answer went out at its response_url; no response_url or
	// callback_url is in any history, while the request IDs are.
	r, ok, err := store.GetRequest(ctx, apiReq.ID)
	require.NoError(t, err)
	require.True(t, ok)
	target, err := reply.ParseTarget(r.ReplyTo)
	require.NoError(t, err)
	require.Equal(t, reply.ViaCallback, target.AnsweredVia)
	require.Empty(t, target.URL)
	hist := requestHistories(t, c)
	require.True(t, bytes.Contains(hist, []byte(apiReq.ID)), "histories are readable: they hold the request IDs")
	require.False(t, bytes.Contains(hist, []byte(strings.TrimPrefix(hooks.srv.URL, "http://"))), "a response_url reached history")
	require.False(t, bytes.Contains(hist, []byte("/commands/T0/")), "a response_url reached history")

	require.Positive(t, replayAll(t, c, "WorkflowType = 'ArtistRequestRunWorkflow'"))
	require.Equal(t, 1, replayAll(t, c, "WorkflowType = 'ArtistRequestWorkflow'"), "the running collector replays")
	bot.stop()
}
