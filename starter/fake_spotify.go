package main

import (
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// newFakeSpotifyCommand serves the synthetic Spotify Web API standalone, so
// separate worker processes, benchmarks and people can share one fake (and
// so its rate limit and quota).
func newFakeSpotifyCommand() *cobra.Command {
	var (
		opts         spotifyfake.Options
		addr         string
		faults       string
		printArtists bool
	)
	cmd := &cobra.Command{
		Use:   "fake-spotify",
		Short: "Serve the fake Spotify Web API over the synthetic sample catalog",
		Long: `fake-spotify serves a Spotify-Web-API-compatible server over a deterministic
synthetic catalog until interrupted: POST /api/token (client credentials) and
GET /v1/… in extended or development mode, with Spotify's rolling-window rate
limit (--budget requests per --window), a daily --quota, a quota that runs
out once (--quota-after requests, for --quota-for, with or without a
Retry-After), an app refused on every endpoint (--refuse-app) and injected --faults
(e.g. "5xx=0.02,429=0.05,slow=0.01,truncated=0.01,malformed=0.01,slow_delay=30s,
retry_after=1s").

Point metronome at it with METRONOME_SPOTIFY_BASE_URL=http://ADDR/v1/,
METRONOME_SPOTIFY_TOKEN_URL=http://ADDR/api/token and the client ID and secret
(fake-id / fake-secret unless given).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if opts.Artists < spotifyfake.MinArtists || opts.Artists > spotifyfake.MaxArtists {
				return usagef("--artists %d: must be between %d and %d", opts.Artists, spotifyfake.MinArtists, spotifyfake.MaxArtists)
			}
			if printArtists {
				for _, a := range spotifyfake.NewCatalog(opts.Artists, opts.Seed).Artists() {
					fmt.Fprintf(out, "%s\t%s\n", a.ID, a.Name)
				}
				return nil
			}
			f, err := spotifyfake.ParseFaults(faults)
			if err != nil {
				return usagef("--faults: %v", err)
			}
			opts.Faults = f
			srv, err := spotifyfake.New(opts)
			if err != nil {
				return usagef("%v", err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on --addr %s: %w", addr, err)
			}
			stop := spotifyfake.Serve(cmd.Context(), ln, srv)
			o := srv.Options()
			root := "http://" + ln.Addr().String()
			fmt.Fprintf(out, "fake Spotify Web API: %d artists, %s mode, on %s\n", o.Artists, o.Mode, root)
			fmt.Fprintf(out, "  METRONOME_SPOTIFY_BASE_URL=%s/v1/\n  METRONOME_SPOTIFY_TOKEN_URL=%s/api/token\n", root, root)
			fmt.Fprintf(out, "  SPOTIFY_ID=%s SPOTIFY_SECRET=%s\n", o.ClientID, o.ClientSecret)
			if o.Window > 0 {
				fmt.Fprintf(out, "  rate limit: %d requests per rolling %v\n", o.Budget, o.Window)
			}
			if o.Quota > 0 {
				fmt.Fprintf(out, "  daily quota: %d requests\n", o.Quota)
			}
			if q := o.QuotaOutage; q.After > 0 {
				fmt.Fprintf(out, "  quota runs out after %d requests for %v (Retry-After: %t)\n", q.After, q.For, !q.NoRetryAfter)
			}
			if o.RefuseApp {
				fmt.Fprintln(out, "  every API request is refused with 403 (the app owner's Premium lapsed)")
			}
			<-cmd.Context().Done()
			stop()
			printFakeStats(cmd, srv.Stats())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", "127.0.0.1:8089", "HOST:PORT to listen on (port 0: any free port)")
	fl.IntVar(&opts.Artists, "artists", spotifyfake.DefaultArtists, "catalog size")
	fl.Int64Var(&opts.Seed, "seed", 1, "catalog seed")
	fl.StringVar(&opts.Mode, "mode", spotifyfake.ModeExtended, "API mode: extended or development")
	fl.DurationVar(&opts.Latency, "latency", 0, "added to every response")
	fl.IntVar(&opts.Budget, "budget", 0, "requests allowed per --window (with --window)")
	fl.DurationVar(&opts.Window, "window", 0, "rolling rate-limit window, e.g. 30s (0: no limit)")
	fl.IntVar(&opts.Quota, "quota", 0, "requests allowed per UTC day (0: no quota)")
	fl.IntVar(&opts.QuotaOutage.After, "quota-after", 0, "the quota runs out after this many API requests (0: never), for --quota-for")
	fl.DurationVar(&opts.QuotaOutage.For, "quota-for", 0, "how long the quota stays exhausted after --quota-after requests")
	fl.BoolVar(&opts.QuotaOutage.NoRetryAfter, "quota-no-retry-after", false, "answer the quota 429s of --quota-after without a Retry-After")
	fl.BoolVar(&opts.RefuseApp, "refuse-app", false, "answer every API request 403, as Spotify answers a development-mode app whose owner has no Premium")
	fl.StringVar(&faults, "faults", "", `fault spec, e.g. "5xx=0.02,429=0.05,slow=0.01,truncated=0.01,malformed=0.01,retry_after=1s"`)
	fl.StringVar(&opts.ClientID, "client-id", spotifyfake.DefaultClientID, "client ID the token endpoint accepts")
	fl.StringVar(&opts.ClientSecret, "client-secret", spotifyfake.DefaultClientSecret, "client secret the token endpoint accepts")
	fl.BoolVar(&printArtists, "print-artists", false, "print the catalog's artist IDs and names, tab-separated, and exit")
	return cmd
}

func printFakeStats(cmd *cobra.Command, st spotifyfake.Stats) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s: served %d requests (%d rate-limited, %d over quota, %d during a Retry-After)\n",
		time.Now().Format(time.TimeOnly), st.Total, st.RateLimited, st.QuotaExceeded, st.DuringRetryAfter)
	endpoints := make([]string, 0, len(st.Requests))
	for ep := range st.Requests {
		endpoints = append(endpoints, ep)
	}
	sort.Strings(endpoints)
	for _, ep := range endpoints {
		fmt.Fprintf(out, "  %-20s %v\n", ep, st.Requests[ep])
	}
}
