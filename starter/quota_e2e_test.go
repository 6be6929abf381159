package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/metronome-data/metronome/config"
	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/metrics"
	"github.com/metronome-data/metronome/internal/spotifyfake"
	"github.com/metronome-data/metronome/worker/app"
	"github.com/metronome-data/metronome/workflows"
)

// The fake's quota runs out in the middle of a capture, for a few seconds,
// with or without a Retry-After: the run waits for it (spotify.quota_wait
// 2s when there is none), `starter status` says until when while it lasts,
// the worker's gauge counts the seconds down, and the run completes.
func TestQuotaWaitEndToEnd(t *testing.T) {
	for _, tt := range []struct {
		name         string
		noRetryAfter bool
	}{
		{"with Retry-After", false},
		{"without Retry-After", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, c := testServer(t, devserver.Options{})
			t.Setenv("METRONOME_SPOTIFY_QUOTA_WAIT", "2s")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			// A run of 10 artists by ID in extended mode makes 13 calls
			// (probe, artists, 10 top tracks, audio features): the quota
			// runs out during the top tracks.
			url, fake, stopFake, err := spotifyfake.StartServer(ctx, spotifyfake.Options{Artists: 10,
				QuotaOutage: spotifyfake.QuotaOutage{After: 5, For: 3 * time.Second, NoRetryAfter: tt.noRetryAfter}})
			require.NoError(t, err)
			t.Cleanup(stopFake)
			cfg, err := config.NewLoader().Load()
			require.NoError(t, err)
			require.Equal(t, 2*time.Second, cfg.Spotify.QuotaWait)
			cfg.Spotify.BaseURL, cfg.Spotify.TokenURL = url+"/v1/", url+"/api/token"
			cfg.Spotify.ClientID, cfg.Spotify.ClientSecret = spotifyfake.DefaultClientID, spotifyfake.DefaultClientSecret
			cfg.Spotify.RequestsPerSecond = 1000
			cfg.Artists.Seeds = nil
			for _, a := range fake.Catalog().Artists() {
				cfg.Artists.Seeds = append(cfg.Artists.Seeds, a.ID)
			}
			reg := prometheus.NewRegistry()
			m, err := metrics.NewPipeline(reg)
			require.NoError(t, err)
			b, err := app.OpenBackends(ctx, cfg, zap.NewNop(), m)
			require.NoError(t, err)
			wctx, stopWorker := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- app.RunWorkers(wctx, c, cfg, b.Activities, nil) }()
			t.Cleanup(func() {
				stopWorker()
				require.NoError(t, <-done)
				require.NoError(t, b.Close())
			})

			today := time.Now().UTC().Format(workflows.DateLayout)
			in, err := pipelineInput(cfg, today, nil, "")
			require.NoError(t, err)
			run, _, err := startPipeline(ctx, c, cfg, in)
			require.NoError(t, err)

			// Watch `starter status` and the gauge while the run goes on.
			var (
				mu         sync.Mutex
				statusLine string
				lastStatus string
				gaugeMax   float64
			)
			watchDone := make(chan struct{})
			stopWatch := make(chan struct{})
			go func() {
				defer close(watchDone)
				for {
					r := starter("status", workflows.PipelineWorkflowID(today))
					g := gaugeValue(reg, "metronome_spotify_quota_wait_seconds")
					mu.Lock()
					lastStatus = r.stdout + r.stderr
					for _, line := range strings.Split(r.stdout, "\n") {
						if strings.Contains(line, "waiting for the Spotify quota until") {
							statusLine = line
						}
					}
					gaugeMax = max(gaugeMax, g)
					mu.Unlock()
					select {
					case <-stopWatch:
						return
					case <-time.After(100 * time.Millisecond):
					}
				}
			}()

			var res workflows.PipelineResult
			if err := run.Get(ctx, &res); err != nil {
				mu.Lock()
				t.Fatalf("the run did not complete after the quota wait: %v; %d API calls; last status:\n%s", err, fake.Stats().APICalls(), lastStatus)
			}
			close(stopWatch)
			<-watchDone
			require.Equal(t, 10, res.Artists)
			require.Equal(t, 10, res.Collect.Records["artists"])
			st := fake.Stats()
			require.Positive(t, st.QuotaExceeded, "the quota ran out during the run")
			mu.Lock()
			defer mu.Unlock()
			t.Logf("status during the wait: %q; gauge peak %.1fs; %d quota 429s", statusLine, gaugeMax, st.QuotaExceeded)
			require.Regexp(t, `spotify +waiting for the Spotify quota until \d\d:\d\d UTC`, statusLine)
			require.Positive(t, gaugeMax, "the worker's gauge showed the wait")

			after := starter("status", workflows.PipelineWorkflowID(today))
			require.Equal(t, 0, after.code, after.stderr)
			require.NotContains(t, after.stdout, "waiting for the Spotify quota")
		})
	}
}

// gaugeValue reads one unlabelled gauge from reg (0 when absent).
func gaugeValue(reg *prometheus.Registry, name string) float64 {
	families, err := reg.Gather()
	if err != nil {
		return 0
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) > 0 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}
