package chaos

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/devserver/devservertest"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/spotify"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/internal/testservers"
	"github.com/metronome-data/metronome/workflows"
)

// storageArtists is the catalog of the storage scenario: smaller than the
// process scenarios', since dynalite takes every serving item one request
// at a time for the conditional writes.
const storageArtists = 200

// storageFaultOptions: random faults the SDKs' own retries absorb (S3
// makes 3 attempts, the serving store's DynamoDB client 8), and one outage
// on each service long enough to fail an activity attempt, so Temporal
// retries it: the Parquet of the artists table (Clean) and the batch write
// of the first artist's history item (Store).
func storageFaultOptions(seed uint64, firstArtist string) StorageFaultOptions {
	return StorageFaultOptions{
		S3PutError: 0.2, DynamoThrottle: 0.1, DynamoUnprocessed: 0.25, Seed: seed,
		S3PutOutage:  Outage{Match: []string{"curated/artists/dt="}, Requests: 3},
		DynamoOutage: Outage{Match: []string{`"ARTIST#` + firstArtist + `"`, `"SNAP#`}, Requests: 8},
	}
}

// storageWorld is the pipeline's activities on versitygw and dynalite,
// with or without faults, served by in-process workers on their own task
// queues of an in-process Temporal server.
type storageWorld struct {
	name         string
	lake         lake.Store // direct, without faults, for reading the output
	serving      *serving.Store
	taskQueue    string
	spotifyQueue string
}

// scenarioStorageFaults: S3 PutObject errors, DynamoDB throttling and
// UnprocessedItems injected by an http.RoundTripper under the AWS clients;
// the activities run in this process (a worker process takes no
// RoundTripper), driven by a real worker against the embedded server.
func scenarioStorageFaults(t *testing.T, _ reference, res *Result) {
	ctx := context.Background()
	s3Endpoint, accessKey, secretKey := testservers.StartVersityGW(t)
	dynamoEndpoint := testservers.StartDynalite(t)
	catalog := spotifyfake.NewCatalog(storageArtists, catalogSeed)
	faults := NewStorageFaults(nil, storageFaultOptions(seed(t), catalog.Artists()[0].ID))

	// The lake's S3 client takes no HTTP client, so its faults are
	// injected by a reverse proxy whose transport is the same
	// RoundTripper. The proxy keeps the Host header the client signed.
	target, err := url.Parse(s3Endpoint)
	require.NoError(t, err)
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		Transport: faults,
		ErrorLog:  log.New(io.Discard, "", 0),
	})
	t.Cleanup(proxy.Close)

	_, c := devservertest.Start(t)
	fakeURL, fake, stopFake, err := spotifyfake.StartServer(ctx, spotifyfake.Options{Artists: storageArtists, Seed: catalogSeed})
	require.NoError(t, err)
	t.Cleanup(stopFake)
	var ids []string
	for _, a := range fake.Catalog().Artists() {
		ids = append(ids, a.ID)
	}

	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s3Endpoint)
		o.UsePathStyle = true
	})
	newWorld := func(name string, faulty bool) storageWorld {
		t.Helper()
		_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		require.NoError(t, err)
		table := "dynamodb://" + name
		direct := []serving.Option{serving.WithAWSConfig(awsCfg), serving.WithEndpoint(dynamoEndpoint)}
		require.NoError(t, serving.CreateTable(ctx, table, direct...))

		w := storageWorld{name: name, taskQueue: name, spotifyQueue: name + "-spotify"}
		w.lake, err = lake.Open(ctx, "s3://"+name, lake.WithEndpoint(s3Endpoint),
			lake.WithStaticCredentials(accessKey, secretKey), lake.WithRegion("us-east-1"))
		require.NoError(t, err)
		w.serving, err = serving.Open(ctx, table, direct...)
		require.NoError(t, err)
		t.Cleanup(func() { w.serving.Close() })

		lakeEndpoint, servingOpts := s3Endpoint, direct
		if faulty {
			lakeEndpoint = proxy.URL
			servingOpts = append(servingOpts, serving.WithHTTPClient(&http.Client{Transport: faults}))
		}
		actLake, err := lake.Open(ctx, "s3://"+name, lake.WithEndpoint(lakeEndpoint),
			lake.WithStaticCredentials(accessKey, secretKey), lake.WithRegion("us-east-1"))
		require.NoError(t, err)
		actServing, err := serving.Open(ctx, table, servingOpts...)
		require.NoError(t, err)
		t.Cleanup(func() { actServing.Close() })
		engine, err := analytics.NewDuckDB(analytics.WithHeartbeat(activities.AnalyticsHeartbeat))
		require.NoError(t, err)
		t.Cleanup(func() { engine.Close() })
		sp, err := spotify.New(ctx, spotify.Options{
			ClientID: spotifyfake.DefaultClientID, ClientSecret: spotifyfake.DefaultClientSecret,
			BaseURL: fakeURL + "/v1/", TokenURL: fakeURL + "/api/token", Gate: spotify.NewGate(spotify.GateOptions{}),
		})
		require.NoError(t, err)
		acts := &activities.Activities{
			Spotify: sp, Lake: actLake, Serving: actServing, Analytics: engine,
			Settings: activities.Settings{APIMode: "auto", Market: "US", BatchSize: batchSize, MaxRejectRate: 0.2, Seeds: ids},
		}
		mainWorker := worker.New(c, w.taskQueue, worker.Options{})
		workflows.Register(mainWorker)
		activities.Register(mainWorker, acts)
		spw := worker.New(c, w.spotifyQueue, worker.Options{})
		activities.Register(spw, acts)
		require.NoError(t, mainWorker.Start())
		t.Cleanup(mainWorker.Stop)
		require.NoError(t, spw.Start())
		t.Cleanup(spw.Stop)
		return w
	}
	runWorld := func(w storageWorld) (Output, string, time.Duration) {
		t.Helper()
		start := time.Now()
		run, err := startRun(ctx, c, runDate, w.taskQueue, w.spotifyQueue)
		require.NoError(t, err)
		r, err := waitRun(ctx, c, run.GetID(), run.GetRunID())
		require.NoError(t, err)
		require.Equal(t, storageArtists, r.Artists)
		out, err := ReadOutput(ctx, w.lake, w.serving, runDate)
		require.NoError(t, err)
		return out, run.GetRunID(), time.Since(start)
	}

	// The reference: the same backends, no faults. Runs of one date
	// follow each other under the same workflow ID.
	refOut, _, refTime := runWorld(newWorld("reference", false))
	require.Zero(t, Duplicates(refOut))
	res.Reference, res.Rows = refTime, refOut.RowCount()

	got, runID, took := runWorld(newWorld("chaos", true))
	res.Duration, res.Runs = took, 1
	st := faults.Stats()
	res.Faults = fmt.Sprintf("%d/%d S3 puts failed, %d/%d DynamoDB requests throttled, %d/%d batch writes with %d items unprocessed, %d outage failures",
		st.S3PutErrors, st.S3Puts, st.DynamoThrottled, st.DynamoRequests, st.UnprocessedBatches, st.BatchWrites, st.UnprocessedItems, st.OutageFaults)
	res.Note = fmt.Sprintf("%d artists on versitygw + dynalite, in-process worker", storageArtists)

	d := Compare(refOut, got)
	res.Record(d)
	n, err := activityRetries(ctx, c, workflows.PipelineWorkflowID(runDate), runID)
	require.NoError(t, err)
	res.Retries = n
	require.Positive(t, st.S3PutErrors)
	require.Positive(t, st.DynamoThrottled)
	require.Positive(t, st.UnprocessedItems)
	require.Equal(t, 3+8, st.OutageFaults, "both outages struck")
	require.GreaterOrEqual(t, res.Retries, 2, "Temporal retried the activities the outages failed")
	require.True(t, d.Identical(), "output differs from the fault-free run: %s", d)
	require.Zero(t, Duplicates(got))
}
