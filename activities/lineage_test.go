package activities

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/lineage"
	"github.com/metronome-data/metronome/internal/lineage/lineagetest"
	"github.com/metronome-data/metronome/internal/tables"
)

func TestWorkflowJob(t *testing.T) {
	tests := []struct{ workflowType, want string }{
		{"PipelineWorkflow", "metronome.pipeline"},
		{"CollectChunkWorkflow", "metronome.collect_chunk"},
		{"ArtistRequestRunWorkflow", "metronome.artist_request_run"},
		{"Backfill", "metronome.backfill"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, workflowJob(tt.workflowType), tt.workflowType)
	}
}

// The stages of a run, called as the workflow calls them, each send a
// START and then a COMPLETE of one run, valid by the spec, with the
// datasets they read and wrote and the counts they report; a stage that
// fails sends a FAIL with its error.
func TestStagesReportLineage(t *testing.T) {
	const date = "2026-11-01"
	h := newHarness(t, "extended", 20)
	receiver, url := lineagetest.Start(t)
	client, err := lineage.NewClient(url)
	require.NoError(t, err)
	h.acts.Lineage = client
	h.acts.Settings.ServingURL = "sqlite:///serving.db"
	lakeURL := h.acts.Lake.URL()

	in := h.run(t, date)

	require.Empty(t, receiver.Invalid())
	byJob := lineagetest.ByJob(receiver.Events())
	for _, stage := range []string{"resolve", "clean", "store", "aggregate", "manifest"} {
		events := byJob["metronome.pipeline."+stage]
		require.Len(t, events, 2, stage)
		require.Equal(t, "START", events[0].EventType, stage)
		require.Equal(t, "COMPLETE", events[1].EventType, stage)
		require.Equal(t, events[0].Run.RunID, events[1].Run.RunID, "%s: one run", stage)
		require.Contains(t, events[0].Run.Facets, "nominalTime", stage)
	}
	collects := byJob["metronome.pipeline.collect"]
	require.Len(t, collects, 2*in.Resolve.Batches)

	clean := byJob["metronome.pipeline.clean"][1]
	for _, d := range append(clean.Inputs, clean.Outputs...) {
		require.Equal(t, lakeURL, d.Namespace, d.Name)
	}
	wantIn := map[string]int64{}
	for entity, n := range in.Clean.Report.RowsIn {
		wantIn["raw/spotify/"+entity] = int64(n)
	}
	require.Subset(t, lineagetest.Rows(clean.Inputs), wantIn)
	wantOut := map[string]int64{}
	for table, n := range in.Clean.Report.RowsOut {
		wantOut["curated/"+table] = int64(n)
	}
	require.Equal(t, wantOut, lineagetest.Rows(clean.Outputs))
	artists, err := analytics.Columns(tables.Artists)
	require.NoError(t, err)
	for _, d := range clean.Outputs {
		if d.Name == "curated/artists" {
			require.Len(t, d.Facets.Schema.Fields, len(artists))
			require.Equal(t, "artist_id", d.Facets.Schema.Fields[0].Name)
		}
	}

	aggregate := byJob["metronome.pipeline.aggregate"][1]
	wantMarts := map[string]int64{}
	for mart, n := range in.Aggregate.Rows {
		wantMarts["marts/"+mart] = n
	}
	wantMarts["similar"] = int64(in.Aggregate.Similar)
	require.Equal(t, wantMarts, lineagetest.Rows(aggregate.Outputs))

	store := byJob["metronome.pipeline.store"][1]
	require.Equal(t, int64(in.Store.Artists), lineagetest.Rows(store.Outputs)["artists"])
	require.Equal(t, "sqlite:///serving.db", store.Outputs[0].Namespace)

	// A stage that fails: the manifest, on a lake refusing writes.
	broken := *h.acts
	broken.Lake = refusingLake{h.acts.Lake}
	_, err = broken.WriteManifest(context.Background(), in)
	require.ErrorContains(t, err, "disk full")
	failed := lineagetest.ByJob(receiver.Events())["metronome.pipeline.manifest"][2:]
	require.Len(t, failed, 2)
	require.Equal(t, "START", failed[0].EventType)
	require.Equal(t, "FAIL", failed[1].EventType)
	require.Equal(t, failed[0].Run.RunID, failed[1].Run.RunID)
	require.Contains(t, string(failed[1].Run.Facets["errorMessage"]), "disk full")
	require.Empty(t, failed[1].Outputs)
}

// refusingLake is a lake whose writes fail.
type refusingLake struct{ lake.Store }

func (refusingLake) Put(context.Context, string, io.Reader) error { return errors.New("disk full") }

// A lineage backend that is down changes nothing for the stages.
func TestStagesRunWithLineageDown(t *testing.T) {
	h := newHarness(t, "extended", 10)
	receiver, url := lineagetest.Start(t)
	receiver.Refuse()
	client, err := lineage.NewClient(url)
	require.NoError(t, err)
	h.acts.Lineage = client
	in := h.run(t, "2026-11-01")
	require.NotEmpty(t, in.Clean.Report.RowsOut)
	require.Empty(t, receiver.Events())
	require.NotEmpty(t, receiver.Authorization(), "the events were posted")
}
