package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"

	"github.com/metronome-data/metronome/internal/devserver"
)

// setup registers the search attributes a namespace lacks, creates the
// serving store, and says so again, changing nothing, when run twice.
func TestSetupIsIdempotent(t *testing.T) {
	dir, c := testServer(t, devserver.Options{SearchAttributes: map[string]enumspb.IndexedValueType{}})

	first := starter("setup")
	require.Equal(t, 0, first.code, "stdout: %s\nstderr: %s", first.stdout, first.stderr)
	require.Contains(t, first.stdout, "added ArtistCount (Int), PipelineDate (Datetime)")
	require.Contains(t, first.stdout, "✓ serving   sqlite://")
	require.Contains(t, first.stdout, "✓ analytics duckdb")
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	require.NoError(t, err)
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_DATETIME, resp.GetCustomAttributes()["PipelineDate"])
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_INT, resp.GetCustomAttributes()["ArtistCount"])
	_, err = os.Stat(filepath.Join(dir, "data", "serving.db"))
	require.NoError(t, err, "the serving store was not created")

	second := starter("setup", "-o", "json")
	require.Equal(t, 0, second.code, second.stderr)
	require.Contains(t, second.stdout, "present ArtistCount (Int), PipelineDate (Datetime)")
	require.NotContains(t, second.stdout, "added")
}

// A search attribute registered with another type is refused with its
// name, both types and what to do.
func TestSetupRefusesAConflictingSearchAttribute(t *testing.T) {
	testServer(t, devserver.Options{SearchAttributes: map[string]enumspb.IndexedValueType{
		"PipelineDate": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}})
	r := starter("setup")
	require.Equal(t, 1, r.code, r.stdout)
	require.Contains(t, r.stderr, "search attribute PipelineDate of namespace default has type Keyword, want Datetime")
}
