package main

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/bench"
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
		{name: "zero reps", output: "text", args: []string{"--reps", "0"}, wantMsg: "--reps 0: want more than 0 (leave the flag out for the default, 3)"},
		{name: "zero workers", output: "text", args: []string{"--workers", "0"}, wantMsg: "--workers 0"},
		{name: "zero rate window", output: "text", args: []string{"--rate-window", "0s"}, wantMsg: "--rate-window 0s"},
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

// The bench runs with what the flags say: a zero latency is no latency,
// and a flag left out is its default.
func TestBenchConfigOfFlags(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantLatency time.Duration
		wantReps    int
		wantWorkers int
	}{
		{name: "defaults", args: nil, wantLatency: 20 * time.Millisecond, wantReps: 3, wantWorkers: 2},
		{name: "zero latency", args: []string{"--latency", "0"}, wantLatency: 0, wantReps: 3, wantWorkers: 2},
		{name: "given", args: []string{"--latency", "5ms", "--reps", "1", "--workers", "3"}, wantLatency: 5 * time.Millisecond, wantReps: 1, wantWorkers: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bench.Config
			stop := errors.New("not running the bench")
			defer func(run func(context.Context, bench.Config) (*bench.Report, error)) { runBench = run }(runBench)
			runBench = func(_ context.Context, cfg bench.Config) (*bench.Report, error) {
				got = cfg
				return nil, stop
			}
			cmd := newBenchCommand(&globalFlags{output: "text"})
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			require.ErrorIs(t, cmd.Execute(), stop)
			require.Equal(t, tt.wantLatency, got.Latency)
			require.Equal(t, tt.wantReps, got.Reps)
			require.Equal(t, tt.wantWorkers, got.Workers)
		})
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes(" 500, 2000,,100000 ")
	require.NoError(t, err)
	require.Equal(t, []int{500, 2000, 100000}, got)
}
