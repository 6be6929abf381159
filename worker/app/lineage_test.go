package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/lineage/lineagetest"
	"github.com/metronome-data/metronome/internal/tables"
)

// Lineage is on only when lineage.url (OPENLINEAGE_URL) is set.
func TestLineageOnlyWhenAURLIsSet(t *testing.T) {
	tests := []struct {
		url string
		on  bool
	}{{"", false}, {"http://127.0.0.1:1", true}}
	for _, tt := range tests {
		cfg := &config.Config{Lineage: config.LineageConfig{URL: tt.url, Namespace: "metronome", Timeout: time.Second}}
		c, err := newLineage(cfg, zap.NewNop())
		require.NoError(t, err)
		require.Equal(t, tt.on, c != nil, "lineage.url %q", tt.url)
	}
}

// One pipeline run, by a worker wired from config with OPENLINEAGE_URL
// pointing at a receiver that checks every event against the spec: every
// stage is a run with a START and then a COMPLETE under one run ID, whose
// parent is pipeline-D's run; the clean stage reads the raw entities and
// writes the curated tables with the manifest's row counts; the aggregate
// stage writes the marts with the manifest's row counts. The manifest's
// first attempt fails: a FAIL, then the retry's START and COMPLETE, all
// of one run.
func TestLineageOfAPipelineRun(t *testing.T) {
	receiver, url := lineagetest.Start(t)
	ctx, cfg := startHarness(t, map[string]string{"OPENLINEAGE_URL": url, "OPENLINEAGE_API_KEY": "lineage-key"})

	c, err := dial(ctx, cfg, zap.NewNop(), nil)
	require.NoError(t, err)
	defer c.Close()
	b, err := OpenBackends(ctx, cfg, zap.NewNop(), nil)
	require.NoError(t, err)
	defer b.Close()
	date := harnessDate
	// The first attempt to write the manifest fails: its retry must report
	// the same run.
	b.Activities.Lake = &failFirstPut{Store: b.Activities.Lake, key: lake.ManifestKey(date)}
	workerCtx, stopWorker := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- RunWorkers(workerCtx, c, cfg, b.Activities, nil) }()

	run, m := runPipeline(t, ctx, c, cfg)
	stopWorker()
	require.NoError(t, <-ran)
	store, err := lake.Open(ctx, cfg.Lake.URL)
	require.NoError(t, err)

	require.Empty(t, receiver.Invalid(), "events the spec refuses")
	for _, auth := range receiver.Authorization() {
		require.Equal(t, "Bearer lineage-key", auth)
	}
	events := receiver.Events()
	byJob := lineagetest.ByJob(events)
	runs := 0
	for _, stage := range []string{"resolve", "collect", "capture", "clean", "store", "aggregate", "manifest"} {
		job := byJob["metronome.pipeline."+stage]
		require.NotEmpty(t, job, "no event of the %s stage; jobs %v", stage, jobNames(byJob))
		started := map[string]bool{}
		for _, e := range job {
			require.Equal(t, "metronome", e.Job.Namespace)
			switch e.EventType {
			case "START":
				require.False(t, started[e.Run.RunID], "%s: a second START of run %s before its end", stage, e.Run.RunID)
				started[e.Run.RunID] = true
			case "COMPLETE", "FAIL":
				require.True(t, started[e.Run.RunID], "%s: %s of run %s before its START", stage, e.EventType, e.Run.RunID)
				delete(started, e.Run.RunID)
				if e.EventType == "COMPLETE" {
					runs++
				}
			default:
				t.Fatalf("%s: event %s", stage, e.EventType)
			}
		}
		require.Empty(t, started, "%s: runs started and never ended", stage)
	}
	manifest := byJob["metronome.pipeline.manifest"]
	var sequence []string
	for _, e := range manifest {
		sequence = append(sequence, e.EventType)
		require.Equal(t, manifest[0].Run.RunID, e.Run.RunID, "the manifest's retry is the same run")
	}
	require.Equal(t, []string{"START", "FAIL", "START", "COMPLETE"}, sequence)
	require.Contains(t, string(manifest[1].Run.Facets["errorMessage"]), "the disk is full for the test")
	for stage, job := range byJob {
		for _, e := range job {
			require.True(t, e.EventType != "FAIL" || stage == "metronome.pipeline.manifest", "%s failed", stage)
		}
	}
	require.Len(t, byJob["metronome.pipeline.collect"], 2*m.Resolve.Batches, "one run per collect batch")

	var parent struct {
		Run struct {
			RunID string `json:"runId"`
		} `json:"run"`
		Job struct{ Name string } `json:"job"`
	}
	clean := byJob["metronome.pipeline.clean"][1]
	require.NoError(t, json.Unmarshal(clean.Run.Facets["parent"], &parent))
	require.Equal(t, run.GetRunID(), parent.Run.RunID, "the clean stage's parent is pipeline-D's run")
	require.Equal(t, "metronome.pipeline", parent.Job.Name)

	for _, d := range append(clean.Inputs, clean.Outputs...) {
		require.Equal(t, store.URL(), d.Namespace, d.Name)
	}
	wantIn := map[string]int64{}
	for entity, n := range m.Clean.Report.RowsIn {
		wantIn["raw/spotify/"+entity] = int64(n)
	}
	require.Subset(t, lineagetest.Rows(clean.Inputs), wantIn, "clean reads the raw entities")
	curated := map[string]int64{}
	for table, n := range m.Clean.Report.RowsOut {
		curated["curated/"+table] = int64(n)
	}
	require.NotEmpty(t, curated)
	require.Equal(t, curated, lineagetest.Rows(clean.Outputs), "clean writes the curated tables, the manifest's rows")

	aggregate := byJob["metronome.pipeline.aggregate"][1]
	marts := lineagetest.Rows(aggregate.Outputs)
	for _, mart := range analytics.Marts {
		if n, ok := m.Aggregate.Rows[mart]; ok {
			require.Equal(t, n, marts["marts/"+mart], mart)
		}
	}
	require.Equal(t, lineagetest.Rows(aggregate.Inputs), map[string]int64{}, "aggregate's inputs carry no counts")
	require.Len(t, aggregate.Inputs, len(tables.All), "aggregate reads the curated tables")
	t.Logf("%d events, %d stage runs, %d bytes of JSON", len(events), runs, receiver.Bytes())
}

// failFirstPut is a lake whose first write of key fails.
type failFirstPut struct {
	lake.Store
	key    string
	failed atomic.Bool
}

func (f *failFirstPut) Put(ctx context.Context, key string, r io.Reader) error {
	if key == f.key && f.failed.CompareAndSwap(false, true) {
		return errors.New("the disk is full for the test")
	}
	return f.Store.Put(ctx, key, r)
}

func jobNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
