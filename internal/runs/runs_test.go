package runs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestOf(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	date, err := dc.ToPayload(day)
	require.NoError(t, err)
	artists, err := dc.ToPayload(int64(400))
	require.NoError(t, err)
	started := day.Add(3 * time.Hour)
	e := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "pipeline-2026-11-20", RunId: "r1"},
		Type:      &commonpb.WorkflowType{Name: "PipelineWorkflow"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
		StartTime: timestamppb.New(started), CloseTime: timestamppb.New(started.Add(time.Minute)),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"PipelineDate": date, "ArtistCount": artists}},
	}
	r := Of(e)
	require.Equal(t, "pipeline-2026-11-20", r.WorkflowID)
	require.Equal(t, "TimedOut", r.Status)
	require.Equal(t, "2026-11-20", r.Date)
	require.Equal(t, int64(400), *r.Artists)
	require.Equal(t, started.Add(time.Minute), r.Closed.UTC())

	bare := Of(&workflowpb.WorkflowExecutionInfo{Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, StartTime: timestamppb.New(started)})
	require.Equal(t, "Running", bare.Status)
	require.Empty(t, bare.Date)
	require.Nil(t, bare.Artists)
	require.True(t, bare.Closed.IsZero())
}

func TestStatusName(t *testing.T) {
	for s, want := range map[enumspb.WorkflowExecutionStatus]string{
		enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "ContinuedAsNew",
		enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:        "Completed",
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:       "Terminated",
	} {
		require.Equal(t, want, StatusName(s))
	}
}
