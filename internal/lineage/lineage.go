// Package lineage describes the pipeline's stage runs as OpenLineage run
// events (https://openlineage.io, spec 2-0-2): a START when a stage's
// activity begins and a COMPLETE or FAIL when it ends, with the datasets it
// read and wrote. Callers describe a run with this file's types; one file,
// openlineage.go, turns them into the spec's JSON and posts it over HTTP,
// so adopting the official Go client later replaces that file only.
// conformance.go checks an event's JSON against the spec's required fields
// and formats, whoever produced it.
package lineage

import (
	"context"
	"time"
)

// EventType is the transition of a run an event reports.
type EventType string

// The event types metronome emits (the spec also has RUNNING and OTHER).
const (
	Start    EventType = "START"
	Complete EventType = "COMPLETE"
	Fail     EventType = "FAIL"
	Abort    EventType = "ABORT"
)

// Event is one transition of one stage run.
type Event struct {
	Type EventType
	Time time.Time
	// RunID is the run's UUID, the same for its START and its end (RunID).
	RunID string
	// Job is the stage's job name, e.g. metronome.pipeline.clean.
	Job string
	// Parent is the workflow run the stage belongs to; nil for none.
	Parent *Parent
	// NominalDate is the logical date D the run processes (YYYY-MM-DD);
	// empty for none.
	NominalDate string
	// Err is why a FAIL failed.
	Err     error
	Inputs  []Dataset
	Outputs []Dataset
}

// Parent names the run of the job a stage run is part of.
type Parent struct {
	Job   string
	RunID string
}

// Dataset is a table or lake prefix a stage read or wrote.
type Dataset struct {
	// Namespace is where it lives: the lake's URL, the serving store's.
	Namespace string
	// Name is its path within the namespace, e.g. curated/artists.
	Name string
	// Fields are its columns; nil for a dataset without a schema.
	Fields []Field
	// Stats are what this run read or wrote of it; nil for unknown.
	Stats *Stats
}

// Field is one column of a dataset.
type Field struct {
	Name string
	Type string
}

// Stats count what a run read or wrote of a dataset.
type Stats struct {
	Rows  int64
	Bytes int64 // 0: unknown
	Files int64 // 0: unknown
}

// Emitter sends run events somewhere. Emit never fails the caller's work:
// an event that cannot be sent is logged and counted by the emitter.
type Emitter interface {
	Emit(ctx context.Context, e Event)
}
