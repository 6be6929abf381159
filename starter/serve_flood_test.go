package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metronome-data/metronome/internal/devserver"
	"github.com/metronome-data/metronome/internal/spotifyfake"
)

// A flood of 1,000 slash commands for distinct artists nobody tracks,
// sent over 10 s, costs a bounded number of collection runs (the request
// window and the 50-artist batch bound them, whatever the rate) and of
// Spotify calls, and every asker is acknowledged and then answered at
// their response_url. It logs the counts (docs/PERFORMANCE.md); it
// asserts no timing.
func TestServeFloodOfUnknownArtists(t *testing.T) {
	_, c := testServer(t, devserver.Options{})
	const (
		flood   = 1000
		over    = 10 * time.Second
		window  = 2 * time.Second
		batch   = 50
		senders = 32
	)
	_, fake := startRealWorkerWithFake(t, c, flood)
	catalog := spotifyfake.NewCatalog(flood, 1).Artists()
	t.Setenv("SLACK_SIGNING_SECRET", serveSecret)
	bot := startServe(t, "--window", window.String(), "--max-artists", fmt.Sprint(batch))
	hooks := newResponseURLs(t)
	callsBefore := apiCalls(fake)

	// 100 commands a second from 32 senders.
	next := make(chan int)
	go func() {
		defer close(next)
		tick := time.NewTicker(over / flood)
		defer tick.Stop()
		for i := range flood {
			<-tick.C
			next <- i
		}
	}()
	const maxAttempts = 5
	var (
		mu         sync.Mutex
		failed     []string
		wg         sync.WaitGroup
		askedAgain atomic.Int64
	)
	start := time.Now()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				// A command refused for a moment (the machine is loaded and
				// a dependency missed the 2.5 s deadline) is answered too;
				// the asker asks again, as the answer says.
				var err error
				for attempt := range maxAttempts {
					var ack botapiAnswer
					ack, _, err = sendCommand(bot.base, catalog[i].Name, hooks.url(fmt.Sprint(i)))
					if err == nil && !strings.Contains(ack.Text, "Collecting") {
						err = fmt.Errorf("command %q acknowledged with %q", catalog[i].Name, ack.Text)
					}
					if err == nil {
						break
					}
					if attempt < maxAttempts-1 {
						askedAgain.Add(1)
						time.Sleep(time.Second)
					}
				}
				if err != nil {
					mu.Lock()
					failed = append(failed, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	sent := time.Since(start)
	require.Empty(t, failed, "every command is acknowledged, at the latest when asked again")
	keys := make([]string, flood)
	for i := range keys {
		keys[i] = fmt.Sprint(i)
	}
	hooks.await(t, 15*time.Minute, keys...) // a safety net
	answered := time.Since(start)
	for i, k := range keys {
		got := hooks.answers(k)
		require.Len(t, got, 1, "answered once: %s", catalog[i].Name)
		require.Contains(t, decodedText(t, got[0].body), slackText(catalog[i].Name))
	}
	runs := countRuns(t, c)
	calls := apiCalls(fake) - callsBefore
	t.Logf("%d commands sent in %s (%d asked again after a refusal), all answered after %s: %d collection runs, %d Spotify API calls (%.2f per artist)",
		flood, sent.Round(time.Millisecond), askedAgain.Load(), answered.Round(time.Second), runs, calls, float64(calls)/flood)
	// A run starts when 50 requests have gathered or a window has passed:
	// at most one per 50 artists plus one per window of the flood (and one
	// for the tail).
	require.LessOrEqual(t, runs, flood/batch+int(sent/window)+1)
	require.LessOrEqual(t, calls, 3*flood, "Spotify calls per artist stay bounded")
}
