package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// Bad bench flags are usage errors (exit code 2) found before anything
// starts.
func TestBenchRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name    string
		output  string
		args    []string
		wantMsg string
	}{
		{name: "sizes not numbers", output: "text", args: []string{"--sizes", "500,many"}, wantMsg: "--sizes"},
		{name: "no size", output: "text", args: []string{"--sizes", ","}, wantMsg: "names no size"},
		{name: "size below the catalog's minimum", output: "text", args: []string{"--sizes", "5"}, wantMsg: "bench size 5"},
		{name: "no reps", output: "text", args: []string{"--reps", "-1"}, wantMsg: "bench reps -1"},
		{name: "unknown part", output: "text", args: []string{"--parts", "overhead,speed"}, wantMsg: `bench part "speed"`},
		{name: "negative latency", output: "text", args: []string{"--latency", "-1s"}, wantMsg: "bench latency"},
		{name: "unknown output", output: "yaml", args: nil, wantMsg: "--output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newBenchCommand(&globalFlags{output: tt.output})
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.Execute()
			require.Error(t, err)
			var uErr usageError
			require.True(t, errors.As(err, &uErr), "want a usage error, got %v", err)
			require.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes(" 500, 2000,,100000 ")
	require.NoError(t, err)
	require.Equal(t, []int{500, 2000, 100000}, got)
}
