package lineage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/lineage"
	"github.com/metronome-data/metronome/internal/lineage/lineagetest"
)

func TestRunID(t *testing.T) {
	at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	id := lineage.RunID(at, "pipeline-2026-12-01", "run-1", "7")
	tests := []struct {
		name string
		got  string
		same bool
	}{
		{"the same parts: the same run (a retry)", lineage.RunID(at, "pipeline-2026-12-01", "run-1", "7"), true},
		{"another activity", lineage.RunID(at, "pipeline-2026-12-01", "run-1", "8"), false},
		{"another workflow run", lineage.RunID(at, "pipeline-2026-12-01", "run-2", "7"), false},
		{"parts joined differently", lineage.RunID(at, "pipeline-2026-12-01", "run-17", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.same, tt.got == id, "%s vs %s", tt.got, id)
		})
	}
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id, "a version 7 UUID")
	// The first 48 bits are the time in milliseconds, so IDs sort by it.
	require.Equal(t, fmt.Sprintf("%012x", at.UnixMilli()), strings.ReplaceAll(id, "-", "")[:12])
	require.Less(t, lineage.RunID(at, "b"), lineage.RunID(at.Add(time.Millisecond), "a"))
}

// validEvent is a run event as the spec wants it; the cases of
// TestCheck break one thing each.
const validEvent = `{
  "eventType": "COMPLETE", "eventTime": "2026-12-01T03:00:00.123Z",
  "producer": "https://github.com/metronome-data/metronome/tree/v1",
  "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
  "run": {"runId": "019ad7c9-c280-7abc-8def-0123456789ab", "facets": {
    "parent": {"_producer": "https://x.test/p", "_schemaURL": "https://x.test/s",
      "run": {"runId": "019ad7c9-c280-7abc-8def-0123456789ac"}, "job": {"namespace": "metronome", "name": "metronome.pipeline"}},
    "nominalTime": {"_producer": "https://x.test/p", "_schemaURL": "https://x.test/s", "nominalStartTime": "2026-12-01T00:00:00Z"}}},
  "job": {"namespace": "metronome", "name": "metronome.pipeline.clean", "facets": {
    "jobType": {"_producer": "https://x.test/p", "_schemaURL": "https://x.test/s", "processingType": "BATCH", "integration": "METRONOME"}}},
  "inputs": [{"namespace": "file:///lake", "name": "raw/spotify/artists",
    "inputFacets": {"inputStatistics": {"_producer": "https://x.test/p", "_schemaURL": "https://x.test/s", "rowCount": 3}}}],
  "outputs": [{"namespace": "file:///lake", "name": "curated/artists",
    "facets": {"schema": {"_producer": "https://x.test/p", "_schemaURL": "https://x.test/s", "fields": [{"name": "artist_id", "type": "string"}]}},
    "outputFacets": {"outputStatistics": {"_producer": "https://x.test/p", "_schemaURL": "https://x.test/s", "rowCount": 3}}}]
}`

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		replace [2]string // in validEvent
		wantErr string
	}{
		{"valid", [2]string{}, ""},
		{"no event time", [2]string{`"eventTime": "2026-12-01T03:00:00.123Z",`, ``}, "eventTime: want a string"},
		{"event time not RFC 3339", [2]string{`2026-12-01T03:00:00.123Z`, `2026-12-01 03:00`}, `eventTime "2026-12-01 03:00": want an RFC 3339 date-time`},
		{"unknown event type", [2]string{`"COMPLETE"`, `"DONE"`}, "eventType DONE: want one of"},
		{"producer not a URI", [2]string{`"producer": "https://github.com/metronome-data/metronome/tree/v1"`, `"producer": "metronome"`}, `producer "metronome": want an absolute URI`},
		{"no schema URL", [2]string{`"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",`, ``}, "schemaURL: want a string"},
		{"run ID not a UUID", [2]string{`019ad7c9-c280-7abc-8def-0123456789ab`, `run-1`}, `run.runId "run-1": want a UUID`},
		{"empty job name", [2]string{`"name": "metronome.pipeline.clean"`, `"name": ""`}, "job.name: empty"},
		{"dataset without a name", [2]string{`"name": "raw/spotify/artists",`, ``}, "inputs[0].name: want a string"},
		{"facet without _producer", [2]string{`{"_producer": "https://x.test/p", "_schemaURL": "https://x.test/s", "processingType"`, `{"_schemaURL": "https://x.test/s", "processingType"`}, "job.facets.jobType._producer: want a string"},
		{"parent run not a UUID", [2]string{`019ad7c9-c280-7abc-8def-0123456789ac`, `pipeline-2026-12-01`}, `run.facets.parent.run.runId "pipeline-2026-12-01": want a UUID`},
		{"row count not a count", [2]string{`"rowCount": 3}}}],
  "outputs"`, `"rowCount": -1}}}],
  "outputs"`}, "inputs[0].inputFacets.inputStatistics.rowCount -1: want a count"},
		{"schema field without a name", [2]string{`{"name": "artist_id", "type": "string"}`, `{"type": "string"}`}, "outputs[0].facets.schema.fields[0].name: want a string"},
		{"not JSON", [2]string{`{`, `[`}, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := validEvent
			if tt.replace[0] != "" {
				require.Contains(t, body, tt.replace[0], "the case's text to replace")
				body = strings.Replace(body, tt.replace[0], tt.replace[1], 1)
			}
			err := lineage.Check([]byte(body))
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func stageEvent(typ lineage.EventType, err error) lineage.Event {
	at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	return lineage.Event{
		Type: typ, Time: at, RunID: lineage.RunID(at, "pipeline-2026-12-01", "r", "5"), Job: "metronome.pipeline.clean",
		Parent:      &lineage.Parent{Job: "metronome.pipeline", RunID: lineage.RunID(at, "pipeline-2026-12-01", "r")},
		NominalDate: "2026-12-01", Err: err,
		Inputs: []lineage.Dataset{{Namespace: "file:///lake", Name: "raw/spotify/artists", Stats: &lineage.Stats{Rows: 20, Files: 1}}},
		Outputs: []lineage.Dataset{{Namespace: "file:///lake", Name: "curated/artists",
			Fields: []lineage.Field{{Name: "artist_id", Type: "string"}}, Stats: &lineage.Stats{Rows: 19, Files: 1}}},
	}
}

// What the client sends passes the spec's checks at a receiver, with the
// run's facets, datasets and counts, and the API key as a bearer token.
func TestClientSendsSpecEvents(t *testing.T) {
	tests := []struct {
		name       string
		event      lineage.Event
		apiKey     string
		wantFacets []string
	}{
		{"start", stageEvent(lineage.Start, nil), "", []string{"nominalTime", "parent"}},
		{"complete with an API key", stageEvent(lineage.Complete, nil), "s3cret", []string{"nominalTime", "parent"}},
		{"fail", stageEvent(lineage.Fail, errors.New("clean 2026-12-01: too many rejects")), "", []string{"errorMessage", "nominalTime", "parent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			receiver, url := lineagetest.Start(t)
			c, err := lineage.NewClient(url, lineage.WithAPIKey(tt.apiKey), lineage.WithProducer("https://github.com/metronome-data/metronome/tree/v1"))
			require.NoError(t, err)
			c.Emit(context.Background(), tt.event)
			require.Empty(t, receiver.Invalid())
			events := receiver.Events()
			require.Len(t, events, 1)
			got := events[0]
			require.Equal(t, string(tt.event.Type), got.EventType)
			require.Equal(t, tt.event.RunID, got.Run.RunID)
			require.Equal(t, "metronome", got.Job.Namespace)
			require.Equal(t, "metronome.pipeline.clean", got.Job.Name)
			var facets []string
			for f := range got.Run.Facets {
				facets = append(facets, f)
			}
			require.ElementsMatch(t, tt.wantFacets, facets)
			require.Equal(t, map[string]int64{"raw/spotify/artists": 20}, lineagetest.Rows(got.Inputs))
			require.Equal(t, map[string]int64{"curated/artists": 19}, lineagetest.Rows(got.Outputs))
			require.Len(t, got.Outputs[0].Facets.Schema.Fields, 1)
			wantAuth := ""
			if tt.apiKey != "" {
				wantAuth = "Bearer " + tt.apiKey
			}
			require.Equal(t, []string{wantAuth}, receiver.Authorization())
			if tt.event.Err != nil {
				var msg struct{ Message, ProgrammingLanguage string }
				require.NoError(t, json.Unmarshal(got.Run.Facets["errorMessage"], &msg))
				require.Equal(t, "clean 2026-12-01: too many rejects", msg.Message)
				require.Equal(t, "Go", msg.ProgrammingLanguage)
			}
			requireCounts(t, c, 1, 0)
		})
	}
}

// requireCounts checks the client's counter of events sent and failed.
func requireCounts(t *testing.T, c *lineage.Client, sent, failed int) {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c.Collector()))
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]int{}
	for _, f := range families {
		require.Equal(t, "metronome_lineage_events_total", f.GetName())
		for _, m := range f.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = int(m.GetCounter().GetValue())
		}
	}
	require.Equal(t, map[string]int{"sent": sent, "failed": failed}, got)
}

// A backend that is down, refuses events or hangs costs the caller at most
// the timeout: Emit returns, logs and counts the failure.
func TestClientNeverFailsTheCaller(t *testing.T) {
	closed := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		url := "http://" + ln.Addr().String()
		require.NoError(t, ln.Close())
		return url
	}
	refusing := func(t *testing.T) string {
		receiver, url := lineagetest.Start(t)
		receiver.Refuse()
		return url
	}
	hanging := func(t *testing.T) string {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		t.Cleanup(func() { close(release); srv.Close() })
		return srv.URL
	}
	tests := []struct {
		name    string
		backend func(*testing.T) string
	}{
		{"down", closed},
		{"refusing (503)", refusing},
		{"hanging", hanging},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := lineage.NewClient(tt.backend(t), lineage.WithTimeout(200*time.Millisecond))
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a cancelled stage still tries to report its end
			c.Emit(ctx, stageEvent(lineage.Fail, errors.New("boom")))
			c.Emit(context.Background(), stageEvent(lineage.Start, nil))
			requireCounts(t, c, 0, 2)
		})
	}
}

func TestNewClientRefusesABadURL(t *testing.T) {
	for _, u := range []string{"marquez:5000", "ftp://marquez", "http://", ""} {
		_, err := lineage.NewClient(u)
		require.ErrorContains(t, err, fmt.Sprintf("lineage.url %q: want an http:// or https:// URL", u))
	}
}

// BenchmarkEmit is the cost a stage pays per event: encoding and one post
// to a backend on the same host that answers at once.
func BenchmarkEmit(b *testing.B) {
	var size int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size = r.ContentLength
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	c, err := lineage.NewClient(srv.URL)
	require.NoError(b, err)
	ev := stageEvent(lineage.Complete, nil)
	b.ReportAllocs()
	for b.Loop() {
		c.Emit(context.Background(), ev)
	}
	b.ReportMetric(float64(size), "bytes/event")
}
