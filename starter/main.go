// Command starter is metronome's command line: it runs the embedded stack
// (`dev`), starts and watches pipeline runs, and serves the fake Spotify API.
// Exit codes: 0 ok, 1 the run or operation failed, 2 bad usage or config.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/metronome-data/metronome/config"
)

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the command line args and returns the exit code.
func execute(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	stopTracing, err := startTracing(ctx, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "starter:", err)
		return 2
	}
	defer stopTracing()

	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err = root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "starter:", err)
	var cfgErr *config.ValidationError
	var uErr usageError
	if errors.As(err, &cfgErr) || errors.As(err, &uErr) || isCobraUsage(err) {
		return 2
	}
	return 1
}

// globalFlags are the flags every command has.
type globalFlags struct {
	configFile string
	output     string
}

func newRootCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "starter",
		Short: "Run and operate metronome's Spotify pipelines on Temporal",
		Long: `starter runs metronome's durable Spotify data pipeline on Temporal.

Start everything on one machine with "starter dev"; from another terminal,
"starter run" starts or attaches to the run of a date.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "config file (default config/metronome.yaml when present)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newDevCommand(g),
		newRunCommand(g),
		newQueryCommand(g),
		newArtistCommand(g),
		newServeCommand(g),
		newBenchCommand(g),
		newFakeSpotifyCommand(),
		newCodecServerCommand(g),
		newSetupCommand(g),
		newScheduleCommand(g),
		newBackfillCommand(g),
		newStatusCommand(g),
		newPartitionsCommand(g),
		newRequestCommand(g),
		newCancelCommand(g, false),
		newCancelCommand(g, true),
	)
	return root
}
