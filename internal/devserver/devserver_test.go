package devserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func dial(t *testing.T, srv *Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func greet(ctx workflow.Context, name string) (string, error) { return "hello " + name, nil }

func runGreeting(t *testing.T, c client.Client, id string) {
	t.Helper()
	w := worker.New(c, "devserver-test", worker.Options{})
	w.RegisterWorkflow(greet)
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "devserver-test"}, greet, "metronome")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "hello metronome", out)
}

func TestServerRunsWorkflowsAndRegistersSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := startServer(t, Options{})
	c := dial(t, srv)
	runGreeting(t, c, "greeting")

	resp, err := c.OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	require.NoError(t, err)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_DATETIME, resp.CustomAttributes["PipelineDate"])
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_INT, resp.CustomAttributes["ArtistCount"])
}

func TestWebUIServesPagesAndProxiesTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server and its Web UI")
	}
	srv := startServer(t, Options{UI: true})
	require.NotEmpty(t, srv.UIURL())

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.UIURL() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	status, body := get("/")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, strings.ToLower(body), "<html")

	// The UI's API proxy answers from the server: the namespace we registered.
	status, body = get("/api/v1/namespaces/default")
	require.Equal(t, http.StatusOK, status, body)
	var ns struct {
		NamespaceInfo struct{ Name string } `json:"namespaceInfo"`
		Config        struct {
			Aliases map[string]string `json:"customSearchAttributeAliases"`
		} `json:"config"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &ns), body)
	require.Equal(t, "default", ns.NamespaceInfo.Name)
	require.Contains(t, slices.Collect(maps.Values(ns.Config.Aliases)), "PipelineDate")
}

// Runs persist in the SQLite file across a restart, so a second `starter
// dev` shows the first one's runs.
func TestRunsSurviveRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server twice")
	}
	db := filepath.Join(t.TempDir(), "data", "temporal.db")
	first, err := Start(context.Background(), Options{DatabaseFile: db})
	require.NoError(t, err)
	c := dial(t, first)
	runGreeting(t, c, "before-restart")
	c.Close()
	require.NoError(t, first.Stop())

	second := startServer(t, Options{DatabaseFile: db})
	c2 := dial(t, second)
	desc, err := c2.DescribeWorkflowExecution(context.Background(), "before-restart", "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	runGreeting(t, c2, "after-restart")
}

// A frontend port someone else holds is an error naming it, not a panic.
func TestTakenPortIsAnError(t *testing.T) {
	if testing.Short() {
		t.Skip("tries to start a Temporal server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Options{Port: port})
	require.ErrorContains(t, err, fmt.Sprintf("127.0.0.1:%d", port))
}

// Ports are picked below the ephemeral range, where no outgoing
// connection of another process can take them before the server binds.
func TestFreePortsAvoidTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	if low-minPickedPort < 1000 {
		t.Skipf("ephemeral range starts at %d: nothing below it to pick from", low)
	}
	ports, err := freePorts("127.0.0.1", 4)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < minPickedPort || p >= low {
			t.Errorf("port %d outside [%d, %d)", p, minPickedPort, low)
		}
		if seen[p] {
			t.Errorf("port %d picked twice", p)
		}
		seen[p] = true
	}
}
