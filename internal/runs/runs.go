// Package runs lists workflow runs through Temporal's visibility, for
// `starter status` and the data console.
package runs

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/metronome-data/metronome/workflows"
)

// Run is one workflow run of a list. The JSON names are a contract of
// `starter status --output json`.
type Run struct {
	WorkflowID string    `json:"workflow_id"`
	RunID      string    `json:"run_id"`
	Type       string    `json:"type"`
	Date       string    `json:"date,omitempty"`
	Status     string    `json:"status"`
	Artists    *int64    `json:"artists,omitempty"`
	Started    time.Time `json:"started"`
	Closed     time.Time `json:"closed,omitzero"`
}

// List lists up to limit runs of namespace matching the visibility query.
func List(ctx context.Context, c client.Client, namespace, query string, limit int) ([]Run, error) {
	var rows []Run
	var token []byte
	for len(rows) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, PageSize: int32(min(limit-len(rows), 1000)),
			NextPageToken: token, Query: query,
		})
		if err != nil {
			return nil, fmt.Errorf("list workflows where %s: %w", query, err)
		}
		for _, e := range resp.GetExecutions() {
			rows = append(rows, Of(e))
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return rows[:min(len(rows), limit)], nil
}

// Of is the Run of a visibility record: its logical date and artist count
// come from the PipelineDate and ArtistCount search attributes.
func Of(e *workflowpb.WorkflowExecutionInfo) Run {
	r := Run{
		WorkflowID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(),
		Type: e.GetType().GetName(), Status: StatusName(e.GetStatus()), Started: e.GetStartTime().AsTime(),
	}
	if e.GetCloseTime() != nil {
		r.Closed = e.GetCloseTime().AsTime()
	}
	dc := converter.GetDefaultDataConverter()
	fields := e.GetSearchAttributes().GetIndexedFields()
	if p, ok := fields["PipelineDate"]; ok {
		var t time.Time
		if dc.FromPayload(p, &t) == nil {
			r.Date = t.UTC().Format(workflows.DateLayout)
		}
	}
	if p, ok := fields["ArtistCount"]; ok {
		var n int64
		if dc.FromPayload(p, &n) == nil {
			r.Artists = &n
		}
	}
	return r
}

// StatusName is a status as Temporal's visibility queries spell it:
// Running, Completed, Failed, ContinuedAsNew, …
func StatusName(s enumspb.WorkflowExecutionStatus) string {
	name := strings.TrimPrefix(s.String(), "WorkflowExecutionStatus")
	return strings.ReplaceAll(name, "_", "")
}
