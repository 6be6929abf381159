package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/tables"
	"github.com/metronome-data/metronome/internal/testservers"
)

// isolateEnv unsets every variable metronome reads and runs the test in an
// empty directory, so neither the developer's environment nor
// config/metronome.yaml leaks in.
func isolateEnv(t *testing.T) string {
	t.Helper()
	for name := range config.EnvNames() {
		t.Setenv(name, "")
	}
	// `starter dev` serves the console on serve.addr: never on the default
	// 127.0.0.1:8088, which another process on the machine may hold.
	t.Setenv("METRONOME_SERVE_ADDR", "127.0.0.1:0")
	dir := t.TempDir()
	// Nor does a temporal.toml of the user running the tests apply: its
	// default place is under os.UserConfigDir.
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "user-config"))
	t.Chdir(dir)
	return dir
}

func runStarter(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func freePorts(t *testing.T) (int, int) {
	t.Helper()
	p1, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	p2, err := devserver.FreePort("127.0.0.1")
	require.NoError(t, err)
	require.NotEqual(t, p1, p2)
	return p1, p2
}

// countRows counts the rows of every Parquet object of a curated partition.
func countRows[T any](t *testing.T, store lake.Store, table, date string) (int, []T) {
	t.Helper()
	keys, err := store.List(context.Background(), lake.CuratedPrefix(table, date))
	require.NoError(t, err)
	var rows []T
	for _, k := range keys {
		require.NoError(t, lake.ReadParquet(context.Background(), store, k, func(r T) error {
			rows = append(rows, r)
			return nil
		}))
	}
	return len(rows), rows
}

// backend says where a dev run keeps its lake and serving store.
type backend struct {
	lakeURL    string
	servingURL string
	localLake  string // the lake directory when it is on disk
}

// devRun is what one `starter dev --exit` left behind.
type devRun struct {
	out      string
	manifest activities.Manifest
	items    []serving.Item
}

const e2eArtists = 30

// runDev runs `starter dev --exit` over the sample catalog on fresh ports
// and checks that the lake, the Parquet tables, the serving store and the
// manifest agree with the catalog.
func runDev(t *testing.T, ctx context.Context, data string, b backend) devRun {
	t.Helper()
	return runDevMode(t, ctx, data, b, "")
}

// runDevMode is runDev with --spotify-mode mode, unless mode is empty
// (the default, extended).
func runDevMode(t *testing.T, ctx context.Context, data string, b backend, mode string) devRun {
	t.Helper()
	port, uiPort := freePorts(t)
	args := []string{"dev", "--exit", "--data", data, "--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(uiPort)}
	if mode != "" {
		args = append(args, "--spotify-mode", mode)
	}
	extended := mode == "" || mode == spotifyfake.ModeExtended
	// While dev runs, the commands beside it link to the Web UI it serves.
	devUI := make(chan string, 1)
	watchCtx, stopWatch := context.WithCancel(ctx)
	go func() { devUI <- awaitDevUI(watchCtx, data, port) }()
	out, err := runStarter(t, ctx, args...)
	stopWatch()
	require.NoError(t, err, out)
	require.Equal(t, fmt.Sprintf("http://127.0.0.1:%d", uiPort), <-devUI, "the Web UI of status and run beside dev")
	require.NoFileExists(t, filepath.Join(data, devRecordFile), "dev left its record behind")
	today := time.Now().UTC().Format("2006-01-02")
	require.Contains(t, out, "run of "+today+" finished")
	require.Contains(t, out, fmt.Sprintf("http://127.0.0.1:%d/namespaces/default/workflows/pipeline-%s/", uiPort, today))
	require.Regexp(t, `Temporal Web UI  http://\S+\nData console     http://127\.0\.0\.1:\d+/  \(open: loopback and no api\.token\)\n`, out)
	for _, stage := range []string{"resolve", "collect", "clean", "store", "aggregate", "manifest"} {
		require.Contains(t, out, "✓ "+stage)
	}

	catalog := spotifyfake.NewCatalog(e2eArtists, 1)
	var wantIDs []string
	for _, a := range catalog.Artists() {
		wantIDs = append(wantIDs, a.ID)
	}
	sort.Strings(wantIDs)

	store, err := lake.Open(ctx, b.lakeURL)
	require.NoError(t, err)

	// The manifest is written last and counts what the tables hold.
	m, err := activities.ReadManifest(ctx, store, today)
	require.NoError(t, err)
	require.Equal(t, e2eArtists, m.Resolve.Artists)
	if extended {
		require.Equal(t, "extended", m.Resolve.Mode)
		require.Contains(t, out, "development mode (--spotify-mode development plays it) would lose them")
	} else {
		require.Equal(t, "development", m.Resolve.Mode)
		require.Contains(t, out, "API mode         development: artists, discography by album")
		require.Contains(t, out, "extended mode (--spotify-mode extended plays it) would add popularity, followers, top tracks")
	}

	nArtists, artistRows := countRows[tables.Artist](t, store, tables.Artists, today)
	require.Equal(t, e2eArtists, nArtists)
	var gotIDs []string
	nullGenres := 0
	for _, r := range artistRows {
		gotIDs = append(gotIDs, r.ArtistID)
		if extended {
			require.NotNil(t, r.Popularity, "extended mode has popularity")
			require.NotNil(t, r.Followers, "extended mode has followers")
			require.NotNil(t, r.Genres, "extended mode has genres, an empty list at least")
			continue
		}
		require.Nil(t, r.Popularity, "development mode: popularity NULL, never 0")
		require.Nil(t, r.Followers, "development mode: followers NULL, never 0")
		if r.Genres == nil {
			nullGenres++
		}
	}
	if !extended {
		// Genres the fake served absent or null are NULL, the others a list.
		want := 0
		for _, a := range catalog.Artists() {
			if full, _ := catalog.Artist(a.ID); full.DevGenres != spotifyfake.GenresListed {
				want++
			}
		}
		require.Equal(t, want, nullGenres, "artists with NULL genres")
		require.Positive(t, want)
	}
	sort.Strings(gotIDs)
	require.Equal(t, wantIDs, gotIDs)
	require.Equal(t, nArtists, m.Clean.Report.RowsOut[tables.Artists])

	nTop, _ := countRows[tables.ArtistTopTrack](t, store, tables.ArtistTopTracks, today)
	if extended {
		require.Equal(t, 10*e2eArtists, nTop, "10 top tracks per artist")
	} else {
		require.Zero(t, nTop, "no top tracks in development mode")
	}
	require.Equal(t, nTop, m.Clean.Report.RowsOut[tables.ArtistTopTracks])
	nTracks, _ := countRows[tables.Track](t, store, tables.Tracks, today)
	require.Equal(t, nTracks, m.Clean.Report.RowsOut[tables.Tracks])
	require.Positive(t, nTracks)

	raw, err := store.List(ctx, "raw/spotify/artists/dt="+today+"/")
	require.NoError(t, err)
	require.Len(t, raw, (e2eArtists+49)/50)
	marts, err := store.List(ctx, "marts/artist_daily/dt="+today+"/")
	require.NoError(t, err)
	require.NotEmpty(t, marts)
	require.EqualValues(t, e2eArtists, m.Aggregate.Rows["artist_daily"])

	// The serving store holds every artist, tracked, with its top tracks.
	srv, err := serving.Open(ctx, b.servingURL)
	require.NoError(t, err)
	defer srv.Close()
	tracked, err := srv.Tracked(ctx)
	require.NoError(t, err)
	sort.Strings(tracked)
	require.Equal(t, wantIDs, tracked)
	for _, a := range catalog.Artists()[:3] {
		view, ok, err := srv.Artist(ctx, a.ID)
		require.NoError(t, err)
		require.True(t, ok, a.ID)
		require.Equal(t, a.Name, view.Name)
		if extended {
			require.Len(t, view.TopTracks, 10)
		} else {
			require.Empty(t, view.TopTracks)
			require.Nil(t, view.Popularity)
		}
	}
	if extended {
		require.Positive(t, m.Aggregate.Similar, "similar artists reach the serving store")
	}
	items, err := srv.Items(ctx, "")
	require.NoError(t, err)

	// `starter artist get` answers from the same store.
	first := catalog.Artists()[0]
	got, err := runStarter(t, ctx, "artist", "get", first.Name)
	require.NoError(t, err, got)
	require.Contains(t, got, first.ID)
	if extended {
		require.Contains(t, got, "top tracks")
	}

	if b.localLake != "" {
		// DuckDB reads the Parquet the pipeline wrote, and the marts.
		engine, err := analytics.NewDuckDB()
		require.NoError(t, err)
		defer engine.Close()
		res, err := engine.Query(ctx, b.localLake, "select count(*) from artist_daily where dt = '"+today+"'")
		require.NoError(t, err)
		require.EqualValues(t, e2eArtists, res.Rows[0][0])
	}
	return devRun{out: out, manifest: m, items: items}
}

// TestDevRunsThePipelineEndToEnd is `starter dev --exit` on fresh ports and
// a fresh data directory: the real embedded Temporal server, a worker and
// the sample catalog, on the embedded defaults (file lake, SQLite).
func TestDevRunsThePipelineEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server, worker and pipeline")
	}
	dir := isolateEnv(t)
	t.Setenv("METRONOME_SPOTIFY_FAKE_ARTISTS", strconv.Itoa(e2eArtists))
	t.Setenv("METRONOME_LOG_LEVEL", "warn")
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Setenv("METRONOME_DATA_DIR", data) // for `starter artist get`
	runDev(t, ctx, data, backend{
		lakeURL:    "file://" + filepath.Join(data, "lake"),
		servingURL: "sqlite://" + filepath.Join(data, "serving.db"),
		localLake:  filepath.Join(data, "lake"),
	})

	// A second dev on the same data directory still shows the first run.
	runDev(t, ctx, data, backend{
		lakeURL:    "file://" + filepath.Join(data, "lake"),
		servingURL: "sqlite://" + filepath.Join(data, "serving.db"),
		localLake:  filepath.Join(data, "lake"),
	})
	today := time.Now().UTC().Format("2006-01-02")
	_, c := devservertest.Start(t, devservertest.WithServer(devserver.Options{DatabaseFile: filepath.Join(data, "temporal.db")}))
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowId = 'pipeline-" + today + "'",
		})
		return err == nil && len(resp.Executions) == 2
	}, 10*time.Second, 100*time.Millisecond, "both runs of the date are listed after restarts")
}

// A temporal.toml profile (and TEMPORAL_* variables) naming another
// server with TLS, an API key, headers and a codec server do not leak into
// `starter dev`: its worker and client talk plain gRPC to its own server.
func TestDevIgnoresTemporalProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: embedded Temporal server, worker and pipeline")
	}
	dir := isolateEnv(t)
	t.Setenv("METRONOME_SPOTIFY_FAKE_ARTISTS", strconv.Itoa(e2eArtists))
	t.Setenv("METRONOME_LOG_LEVEL", "warn")
	profile := filepath.Join(dir, "temporal.toml")
	require.NoError(t, os.WriteFile(profile, []byte(`[profile.default]
address = "temporal.example.invalid:7233"
namespace = "default"
api_key = "a-cloud-api-key"
authority = "temporal.example.invalid"

[profile.default.tls]
server_name = "temporal.example.invalid"

[profile.default.grpc_meta]
x-tenant = "someone-else"

[profile.default.codec]
endpoint = "http://127.0.0.1:1/codec"
`), 0o600))
	t.Setenv("TEMPORAL_CONFIG_FILE", profile)
	t.Setenv("TEMPORAL_TLS", "true")
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runDev(t, ctx, data, backend{
		lakeURL:    "file://" + filepath.Join(data, "lake"),
		servingURL: "sqlite://" + filepath.Join(data, "serving.db"),
		localLake:  filepath.Join(data, "lake"),
	})
}

func TestUseEmbeddedServer(t *testing.T) {
	tc := config.TemporalConfig{Address: "cloud:7233", Namespace: "default", APIKey: "k", Authority: "a",
		GRPCMeta: map[string]string{"x": "y"}, TLS: config.TLSConfig{Enabled: true, CAFile: "ca.pem"},
		Codec: config.RemoteCodecConfig{Endpoint: "https://codec"}, TaskQueue: "metronome"}
	useEmbeddedServer(&tc, "127.0.0.1:7233")
	require.Equal(t, config.TemporalConfig{Address: "127.0.0.1:7233", Namespace: "default",
		TLS: config.TLSConfig{Disabled: true}, TaskQueue: "metronome"}, tc)
}

// TestDevOnS3AndDynamoDB runs the same pipeline once on the embedded
// defaults and once on real S3 and DynamoDB protocols (versitygw, dynalite):
// both give identical curated row counts and serving items.
func TestDevOnS3AndDynamoDB(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end on versitygw and dynalite")
	}
	s3Endpoint, accessKey, secretKey := testservers.StartVersityGW(t)
	dynamoEndpoint := testservers.StartDynalite(t)
	dir := isolateEnv(t)
	t.Setenv("METRONOME_SPOTIFY_FAKE_ARTISTS", strconv.Itoa(e2eArtists))
	t.Setenv("METRONOME_LOG_LEVEL", "warn")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	embeddedData := filepath.Join(dir, "embedded")
	t.Setenv("METRONOME_DATA_DIR", embeddedData)
	embedded := runDev(t, ctx, embeddedData, backend{
		lakeURL:    "file://" + filepath.Join(embeddedData, "lake"),
		servingURL: "sqlite://" + filepath.Join(embeddedData, "serving.db"),
		localLake:  filepath.Join(embeddedData, "lake"),
	})

	t.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_S3", s3Endpoint)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamoEndpoint)
	createBucket(t, ctx, "metronome-lake")
	aws := backend{lakeURL: "s3://metronome-lake/e2e", servingURL: "dynamodb://metronome-e2e"}
	require.NoError(t, serving.CreateTable(ctx, aws.servingURL))
	t.Setenv("METRONOME_LAKE_URL", aws.lakeURL)
	t.Setenv("METRONOME_SERVING_URL", aws.servingURL)
	onAWS := runDev(t, ctx, filepath.Join(dir, "aws"), aws)

	require.Equal(t, embedded.manifest.Clean.Report.RowsOut, onAWS.manifest.Clean.Report.RowsOut)
	require.Equal(t, embedded.manifest.Aggregate.Rows, onAWS.manifest.Aggregate.Rows)
	require.Equal(t, comparable(embedded.items), comparable(onAWS.items))
}

// comparable drops what differs between two runs by nature: when the data
// was fetched.
func comparable(items []serving.Item) []serving.Item {
	out := make([]serving.Item, len(items))
	for i, it := range items {
		attrs := map[string]any{}
		for k, v := range it.Attrs {
			if k != "updated_at" {
				attrs[k] = v
			}
		}
		it.Attrs = attrs
		out[i] = it
	}
	return out
}

func createBucket(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	require.NoError(t, err)
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name})
	require.NoError(t, err)
}
