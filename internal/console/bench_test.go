package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/benchlake"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
)

// BenchmarkConsole times every page of the console, server side, over a
// generated lake of 100,000 artists × 30 dates (internal/benchlake: built
// once, minutes, then reused from the user cache directory). The issue's
// budget is 300 ms a page. -short uses 2,000 artists; METRONOME_BENCH_ARTISTS
// sets another size:
//
//	go test -run '^$' -bench Console -benchtime 20x ./internal/console
//	go test -run '^$' -bench Console -benchtime 1x -short ./internal/console
//
// Each page reports ms/op (steady state, its caches warm) and cold-ms, its
// first request on a fresh console: what the first visitor after a start
// waits. Temporal is not connected: /runs measures its lake part and the
// "not answering" path.
func BenchmarkConsole(b *testing.B) {
	cfg := benchlake.DefaultConfig
	if testing.Short() {
		cfg.Artists = 2_000
	}
	if s := os.Getenv("METRONOME_BENCH_ARTISTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("METRONOME_BENCH_ARTISTS=%q: want a number of artists", s)
		}
		cfg.Artists = n
	}
	ctx := context.Background()
	l, err := benchlake.Cached(ctx, cfg, b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	last := l.Dates[len(l.Dates)-1]
	// A date with more rejects than most (one date in seven).
	rejects := l.Dates[len(l.Dates)-1-((len(l.Dates)-1-3)%7)]
	id, name, dates := l.Artist(l.Artists / 3)
	// Each page must show the lake's data, not an empty or error page.
	pages := []struct{ name, path, want string }{
		{"partitions", "/", `<tr data-date="` + l.Dates[0] + `"`},
		{"date", "/dates/" + last, `id="raw-objects"`},
		{"runs", "/runs", `id="freshness"`},
		{"quality", "/quality", `id="rejects-chart"`},
		{"quality-date", "/quality/" + rejects, `id="next-page"`},
		{"artists-search", "/artists?q=" + url.QueryEscape(name), `href="/artists/` + id + `"`},
		{"artist", "/artists/" + id, `data-points="` + strconv.Itoa(len(dates)) + `"`},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			c := newBenchConsole(b, l)
			get := func() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.Host = "127.0.0.1"
				rec := httptest.NewRecorder()
				c.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), p.want) {
					body := rec.Body.String()
					b.Fatalf("GET %s: %d, want 200 with %s:\n%s", p.path, rec.Code, p.want, body[:min(len(body), 4000)])
				}
			}
			start := time.Now()
			get()
			cold := time.Since(start)
			b.ResetTimer()
			for b.Loop() {
				get()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
		})
	}
}

// newBenchConsole is a console over the generated lake, as `starter serve`
// wires it for a file:// lake and a SQLite serving store.
func newBenchConsole(b *testing.B, l benchlake.Lake) *Console {
	b.Helper()
	ctx := context.Background()
	store, err := lake.Open(ctx, l.LakeURL)
	if err != nil {
		b.Fatal(err)
	}
	serve, err := serving.Open(ctx, l.ServingURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { serve.Close() })
	duck, err := analytics.NewDuckDB()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { duck.Close() })
	// Late on the last date: the grid's 30 dates are the lake's.
	lastDay, err := time.Parse(time.DateOnly, l.Dates[len(l.Dates)-1])
	if err != nil {
		b.Fatal(err)
	}
	now := lastDay.Add(23 * time.Hour)
	c, err := New(Options{Lake: store, LakeURL: l.LakeURL, Serving: serve, Query: duck,
		Addr: "127.0.0.1:0", Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
