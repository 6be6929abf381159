package activities

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lineage"
	"github.com/metronome-data/metronome/internal/tables"
)

// The OpenLineage view of the stages (docs/OPERATIONS.md, "Lineage"): each
// stage activity is a run of the job metronome.pipeline.<stage>, whose
// parent is the workflow run that scheduled it; its datasets are the
// lake's zones (namespace: the lake's URL; names: raw/spotify/<entity>,
// curated/<table>, marts/<mart>, manifests/<record>, a request run's under
// its scope) and the serving store's items (namespace: serving.url).

// stageLineage says what a stage reads and writes, from its input and, once
// it succeeded, its result (nil before and on failure).
type stageLineage[I, R any] struct {
	stage   string
	date    func(I) string
	inputs  func(a *Activities, in I, res *R) []lineage.Dataset
	outputs func(a *Activities, in I, res R) []lineage.Dataset
}

// reportLineage sends the stage run's START now and returns what sends its
// COMPLETE, FAIL or ABORT when the activity returns, so an activity reports
// itself with one line:
//
//	defer reportLineage(ctx, a, cleanLineage, in)(&res, &err)
//
// A retry of the activity reports again under the same run ID. Without
// a.Lineage it does nothing.
func reportLineage[I, R any](ctx context.Context, a *Activities, s stageLineage[I, R], in I) func(*R, *error) {
	if a.Lineage == nil {
		return func(*R, *error) {}
	}
	ev := a.lineageRun(ctx, s.stage, s.date(in))
	start := ev
	start.Type, start.Time, start.Inputs = lineage.Start, time.Now(), s.inputs(a, in, nil)
	a.Lineage.Emit(ctx, start)
	return func(res *R, err *error) {
		ev.Time = time.Now()
		switch {
		case *err == nil:
			ev.Type, ev.Inputs, ev.Outputs = lineage.Complete, s.inputs(a, in, res), s.outputs(a, in, *res)
		case errors.Is(*err, context.Canceled) || temporal.IsCanceledError(*err):
			ev.Type, ev.Inputs, ev.Err = lineage.Abort, start.Inputs, *err
		default:
			ev.Type, ev.Inputs, ev.Err = lineage.Fail, start.Inputs, *err
		}
		a.Lineage.Emit(ctx, ev)
	}
}

// lineageRun identifies the stage run of ctx's activity: its job, its run
// ID from the workflow execution and activity ID (which retries keep) and
// its parent, the workflow run.
func (a *Activities) lineageRun(ctx context.Context, stage, date string) lineage.Event {
	ev := lineage.Event{Job: "metronome.pipeline." + stage, NominalDate: date}
	if !activity.IsActivity(ctx) {
		// Called outside Temporal (tests, tools): no retries to match.
		ev.RunID = lineage.RunID(time.Now(), stage, date, rand.Text())
		return ev
	}
	info := activity.GetInfo(ctx)
	wf := info.WorkflowExecution
	ev.RunID = lineage.RunID(info.ScheduledTime, wf.ID, wf.RunID, info.ActivityID)
	if info.WorkflowType != nil {
		ev.Parent = &lineage.Parent{Job: workflowJob(info.WorkflowType.Name), RunID: lineage.ParentRunID(wf.ID, wf.RunID)}
	}
	return ev
}

// CodeVersion is the version of the code the manifests record (Version, or
// the VCS revision of the build): lineage events name it as their producer.
func CodeVersion() string { return codeVersion() }

// workflowJob is the job name of a workflow type: PipelineWorkflow is
// metronome.pipeline, CollectChunkWorkflow metronome.collect_chunk.
func workflowJob(workflowType string) string {
	name := strings.TrimSuffix(workflowType, "Workflow")
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return "metronome." + b.String()
}

// The stages.
var (
	resolveLineage = stageLineage[contract.ResolveInput, contract.ResolveResult]{
		stage: "resolve",
		date:  func(in contract.ResolveInput) string { return in.Date },
		inputs: func(*Activities, contract.ResolveInput, *contract.ResolveResult) []lineage.Dataset {
			return nil
		},
		outputs: func(a *Activities, in contract.ResolveInput, res contract.ResolveResult) []lineage.Dataset {
			if res.ArtistsKey == "" {
				return nil // a request run none of whose names resolved
			}
			return []lineage.Dataset{a.artistList(in.Scope, &lineage.Stats{Rows: int64(res.Artists), Files: 1})}
		},
	}
	collectLineage = stageLineage[contract.CollectInput, contract.CollectResult]{
		stage: "collect",
		date:  func(in contract.CollectInput) string { return in.Date },
		inputs: func(a *Activities, in contract.CollectInput, _ *contract.CollectResult) []lineage.Dataset {
			return []lineage.Dataset{a.artistList(in.Scope, nil)}
		},
		outputs: func(a *Activities, in contract.CollectInput, res contract.CollectResult) []lineage.Dataset {
			var out []lineage.Dataset
			for _, entity := range curate.Entities {
				if n, ok := res.Records[entity]; ok {
					out = append(out, a.rawDataset(in.Scope, entity, &lineage.Stats{Rows: int64(n), Files: 1}))
				}
			}
			return out
		},
	}
	captureLineage = stageLineage[contract.CaptureInput, contract.CaptureSummary]{
		stage: "capture",
		date:  func(in contract.CaptureInput) string { return in.Date },
		inputs: func(a *Activities, _ contract.CaptureInput, _ *contract.CaptureSummary) []lineage.Dataset {
			return a.rawDatasets("", nil)
		},
		outputs: func(a *Activities, _ contract.CaptureInput, res contract.CaptureSummary) []lineage.Dataset {
			// The record lists every raw object of the capture.
			return []lineage.Dataset{a.lakeDataset("manifests/capture", nil, &lineage.Stats{Rows: int64(res.Objects), Files: 1})}
		},
	}
	cleanLineage = stageLineage[contract.CleanInput, contract.CleanResult]{
		stage: "clean",
		date:  func(in contract.CleanInput) string { return in.Date },
		inputs: func(a *Activities, in contract.CleanInput, res *contract.CleanResult) []lineage.Dataset {
			var rowsIn map[string]int
			if res != nil {
				rowsIn = res.Report.RowsIn
			}
			return a.rawDatasets(in.Scope, rowsIn)
		},
		outputs: func(a *Activities, in contract.CleanInput, res contract.CleanResult) []lineage.Dataset {
			var out []lineage.Dataset
			for _, table := range tables.All {
				if n, ok := res.Report.RowsOut[table]; ok {
					out = append(out, a.curatedDataset(in.Scope, table,
						&lineage.Stats{Rows: int64(n), Files: int64(len(res.CuratedKeys[table]))}))
				}
			}
			for _, entity := range curate.Entities {
				n := 0
				for _, c := range res.Report.Rejected[entity] {
					n += c
				}
				if n > 0 {
					out = append(out, a.lakeDataset(in.Scope+"quarantine/"+entity, nil, &lineage.Stats{Rows: int64(n)}))
				}
			}
			return out
		},
	}
	storeLineage = stageLineage[contract.StoreInput, contract.StoreResult]{
		stage: "store",
		date:  func(in contract.StoreInput) string { return in.Date },
		inputs: func(a *Activities, in contract.StoreInput, _ *contract.StoreResult) []lineage.Dataset {
			return a.curatedDatasets(in.Scope)
		},
		outputs: func(a *Activities, _ contract.StoreInput, res contract.StoreResult) []lineage.Dataset {
			return a.servingDatasets([]string{"artists", "top_tracks", "releases", "tracked"},
				[]int{res.Artists, res.TopTracks, res.Releases, res.Tracked})
		},
	}
	aggregateLineage = stageLineage[contract.AggregateInput, contract.AggregateResult]{
		stage: "aggregate",
		date:  func(in contract.AggregateInput) string { return in.Date },
		inputs: func(a *Activities, _ contract.AggregateInput, _ *contract.AggregateResult) []lineage.Dataset {
			return a.curatedDatasets("")
		},
		outputs: func(a *Activities, _ contract.AggregateInput, res contract.AggregateResult) []lineage.Dataset {
			var out []lineage.Dataset
			for _, mart := range analytics.Marts {
				n, ok := res.Rows[mart]
				if !ok {
					continue // skipped
				}
				files := 0
				for _, k := range res.Keys {
					if strings.HasPrefix(k, "marts/"+mart+"/") {
						files++
					}
				}
				out = append(out, a.lakeDataset("marts/"+mart, columns(mart), &lineage.Stats{Rows: n, Files: int64(files)}))
			}
			return append(out, a.servingDatasets([]string{"similar"}, []int{res.Similar})...)
		},
	}
	manifestLineage = stageLineage[contract.ManifestInput, contract.ManifestResult]{
		stage: "manifest",
		date:  func(in contract.ManifestInput) string { return in.Date },
		inputs: func(a *Activities, _ contract.ManifestInput, _ *contract.ManifestResult) []lineage.Dataset {
			return []lineage.Dataset{a.lakeDataset("manifests/capture", nil, nil)}
		},
		outputs: func(a *Activities, _ contract.ManifestInput, _ contract.ManifestResult) []lineage.Dataset {
			return []lineage.Dataset{a.lakeDataset("manifests/pipeline", nil, &lineage.Stats{Rows: 1, Files: 1})}
		},
	}
)

// rawFields are the fields of every raw record (lake.RawRecord).
var rawFields = []lineage.Field{
	{Name: "dt", Type: "string"}, {Name: "batch", Type: "int"}, {Name: "fetched_at", Type: "timestamp"},
	{Name: "endpoint", Type: "string"}, {Name: "key", Type: "string"}, {Name: "data", Type: "json"},
}

func (a *Activities) lakeDataset(name string, fields []lineage.Field, stats *lineage.Stats) lineage.Dataset {
	return lineage.Dataset{Namespace: a.Lake.URL(), Name: name, Fields: fields, Stats: stats}
}

func (a *Activities) artistList(scope string, stats *lineage.Stats) lineage.Dataset {
	return a.lakeDataset(scope+"manifests/artists", []lineage.Field{{Name: "artist_id", Type: "string"}}, stats)
}

func (a *Activities) rawDataset(scope, entity string, stats *lineage.Stats) lineage.Dataset {
	return a.lakeDataset(scope+"raw/spotify/"+entity, rawFields, stats)
}

// rawDatasets are the raw entities, with their records when rows is known.
func (a *Activities) rawDatasets(scope string, rows map[string]int) []lineage.Dataset {
	out := make([]lineage.Dataset, 0, len(curate.Entities))
	for _, entity := range curate.Entities {
		var stats *lineage.Stats
		if rows != nil {
			stats = &lineage.Stats{Rows: int64(rows[entity])}
		}
		out = append(out, a.rawDataset(scope, entity, stats))
	}
	return out
}

func (a *Activities) curatedDataset(scope, table string, stats *lineage.Stats) lineage.Dataset {
	return a.lakeDataset(scope+"curated/"+table, columns(table), stats)
}

func (a *Activities) curatedDatasets(scope string) []lineage.Dataset {
	out := make([]lineage.Dataset, 0, len(tables.All))
	for _, table := range tables.All {
		out = append(out, a.curatedDataset(scope, table, nil))
	}
	return out
}

// servingDatasets are the serving store's items of each name, with how
// many were written; none when Settings.ServingURL is unknown.
func (a *Activities) servingDatasets(names []string, items []int) []lineage.Dataset {
	if a.Settings.ServingURL == "" {
		return nil
	}
	out := make([]lineage.Dataset, len(names))
	for i, name := range names {
		out[i] = lineage.Dataset{Namespace: a.Settings.ServingURL, Name: name, Stats: &lineage.Stats{Rows: int64(items[i])}}
	}
	return out
}

// columns are the schema of a curated table or mart; none when unknown,
// which TestColumns rules out.
func columns(table string) []lineage.Field {
	cols, err := analytics.Columns(table)
	if err != nil {
		return nil
	}
	out := make([]lineage.Field, len(cols))
	for i, c := range cols {
		out[i] = lineage.Field{Name: c.Name, Type: c.Type}
	}
	return out
}
