package benchlake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/metronome-data/metronome/activities"
	"github.com/metronome-data/metronome/internal/analytics"
	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/serving"
	"github.com/metronome-data/metronome/internal/tables"
)

// Kinds of the dates: most are captures made on their day; one is a late
// capture (starter run --capture-now) and one was reprocessed by a backfill
// after its capture, when there are dates enough.
const (
	lateCaptureAge = 8  // days before the last date
	reprocessAge   = 15 // days before the last date
)

// kind is the kind of the d-th date.
func (l Lake) kind(d int) string {
	switch age := len(l.Dates) - 1 - d; {
	case age == lateCaptureAge:
		return contract.KindLateCapture
	case age == reprocessAge:
		return contract.KindReprocess
	}
	return contract.KindCapture
}

// dateWork is what writing one date's raw and curated data counted, for
// its manifest.
type dateWork struct {
	resolve contract.ResolveResult
	collect contract.CollectSummary
	clean   contract.CleanResult
	started time.Time
}

// write generates the whole lake: the dates' raw, curated and quarantine
// objects and capture records (two dates at a time), then the marts, the
// serving store and the manifests, in the order the pipeline's stages run.
func write(ctx context.Context, l Lake) error {
	store, err := lake.Open(ctx, l.LakeURL)
	if err != nil {
		return err
	}
	a := &activities.Activities{Lake: store}
	// The file store prunes empty staging directories up to _staging/ on
	// every publish, which races with another date's writer creating its
	// staging directory there; an object in _staging/ keeps it.
	if err := store.Put(ctx, keepStaging, strings.NewReader("benchlake is writing this lake\n")); err != nil {
		return err
	}
	serve, err := serving.Open(ctx, l.ServingURL)
	if err != nil {
		return fmt.Errorf("open serving store: %w", err)
	}
	defer serve.Close()
	a.Serving = serve
	// The serving store takes one writer, busy for most of the build: it
	// runs beside the dates' writers and DuckDB.
	var servingErr error
	var wg sync.WaitGroup
	wg.Go(func() { servingErr = writeServing(ctx, serve, l) })
	defer wg.Wait()

	work := make([]dateWork, len(l.Dates))
	if err := forEachDate(ctx, len(l.Dates), func(d int) (err error) {
		work[d], err = writeDate(ctx, a, l, d)
		return err
	}); err != nil {
		return err
	}
	duck, err := analytics.NewDuckDB(analytics.WithMemoryLimit("1GB"))
	if err != nil {
		return err
	}
	defer duck.Close()
	marts := make([]contract.AggregateResult, len(l.Dates))
	for d, dt := range l.Dates {
		if marts[d], err = buildMarts(ctx, duck, l, dt, similarityBlock(l, d)); err != nil {
			return err
		}
	}
	wg.Wait()
	if servingErr != nil {
		return servingErr
	}
	last := len(l.Dates) - 1
	if marts[last].Similar, err = writeSimilar(ctx, duck, serve, l, l.Dates[last]); err != nil {
		return err
	}
	for d := range l.Dates {
		if err := writeManifests(ctx, a, l, d, work[d], marts[d]); err != nil {
			return err
		}
	}
	return store.Delete(ctx, keepStaging)
}

// keepStaging keeps _staging/ while dates are written concurrently.
const keepStaging = lake.StagingRoot + "benchlake-writing"

// forEachDate runs fn for every date, as many at once as there are CPUs
// (at most 2: each date holds its batches in memory).
func forEachDate(ctx context.Context, n int, fn func(d int) error) error {
	limit := min(2, runtime.GOMAXPROCS(0))
	next := make(chan int)
	errs := make(chan error, limit)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range limit {
		wg.Go(func() {
			for d := range next {
				if err := fn(d); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
feed:
	for d := range n {
		select {
		case next <- d:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// fetchedAt is when artist i of date d was fetched: captures start at
// 03:00 UTC of the date and take about an hour and a half at 100,000
// artists; a late capture was made the day after the last date.
func (l Lake) fetchedAt(d, i int) time.Time {
	day, _ := tables.ParseDate(l.Dates[d])
	start := day.Time().Add(3 * time.Hour)
	if l.kind(d) == contract.KindLateCapture {
		last, _ := tables.ParseDate(l.Last)
		start = (last + 1).Time().Add(10 * time.Hour)
	}
	// Microseconds: what Parquet keeps of the raw record's time.
	return start.Add(time.Duration(i) * 53 * time.Millisecond).Add(time.Duration(i%1000) * time.Microsecond)
}

// runID is a deterministic UUID-shaped run ID of a date's run.
func runID(dt string, n int) string {
	h := mix(uint64(n) ^ mix(uint64(len(dt))))
	for _, c := range dt {
		h = mix(h ^ uint64(c))
	}
	h2 := mix(h)
	return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x", h>>32, h>>16&0xffff, h&0xfff, h2>>48&0x3fff|0x8000, h2&0xffffffffffff)
}

// writeDate writes the raw objects, quarantine, curated partitions and
// capture record of the d-th date.
func writeDate(ctx context.Context, a *activities.Activities, l Lake, d int) (dateWork, error) {
	g := generator{cfg: l.Config}
	dt := l.Dates[d]
	late := l.kind(d) == contract.KindLateCapture
	w := dateWork{started: l.fetchedAt(d, 0).Add(-time.Minute)}

	// The resolved artists, in batch order.
	var ids strings.Builder
	for i := range l.Artists {
		ids.WriteString(artistID(i))
		ids.WriteByte('\n')
	}
	artistsKey := "manifests/dt=" + dt + "/artists.txt"
	if err := a.Lake.Put(ctx, artistsKey, strings.NewReader(ids.String())); err != nil {
		return w, fmt.Errorf("write %s: %w", artistsKey, err)
	}
	batches := (l.Artists + batchSize - 1) / batchSize
	w.resolve = contract.ResolveResult{ArtistsKey: artistsKey, Artists: l.Artists, Batches: batches,
		BatchSize: batchSize, Mode: "extended"}

	cw, err := newCuratedWriters(a.Lake, dt)
	if err != nil {
		return w, err
	}
	defer cw.abort(ctx)
	report := contract.QualityReport{RowsIn: map[string]int{}, RowsOut: map[string]int{},
		Rejected: map[string]map[string]int{}}
	w.collect = contract.CollectSummary{Records: map[string]int{}, Calls: map[string]int{}}
	last, _ := tables.ParseDate(l.Last)
	for b := range batches {
		bw := batchWriter{g: g, l: l, d: d, dt: dt, batch: b, late: late, last: last}
		for i := b * batchSize; i < min(l.Artists, (b+1)*batchSize); i++ {
			bw.artist(i)
		}
		if err := bw.flush(ctx, a.Lake, cw, &w.collect, &report); err != nil {
			return w, err
		}
	}
	if err := cw.publish(ctx, &report); err != nil {
		return w, err
	}
	w.clean = contract.CleanResult{Report: report, CuratedKeys: cw.keys()}

	kind := contract.KindCapture
	if late {
		kind = contract.KindLateCapture
	}
	// The manifest copies its summary from the record it writes.
	_, err = a.CompleteCapture(ctx, contract.CaptureInput{
		Date: dt, Kind: kind, Mode: "extended", Artists: l.Artists, Batches: batches, BatchSize: batchSize,
		Calls: w.collect.Calls, WorkflowID: "pipeline-" + dt, RunID: runID(dt, 0),
	})
	if err != nil {
		return w, fmt.Errorf("capture record of %s: %w", dt, err)
	}
	return w, nil
}

// similarityBlock is the similarity block size of the d-th date's
// artist_similarity: the pipeline's on the last date, whose similar
// artists the serving store keeps, and a tenth of it before, where the
// mart costs about 25 s a date at 100,000 artists and nothing but its rows
// is read (a tenth of the candidates, the same columns and rows per artist).
func similarityBlock(l Lake, d int) int {
	if d == len(l.Dates)-1 {
		return analytics.DefaultSimilarityBlockSize
	}
	return analytics.DefaultSimilarityBlockSize / 10
}

// buildMarts builds the marts of dt with their own SQL, as the aggregate
// stage does, and publishes each partition.
func buildMarts(ctx context.Context, duck *analytics.DuckDB, l Lake, dt string, similarityBlock int) (contract.AggregateResult, error) {
	res := contract.AggregateResult{Rows: map[string]int64{}}
	root := strings.TrimPrefix(l.LakeURL, "file://")
	store, err := lake.Open(ctx, l.LakeURL)
	if err != nil {
		return res, err
	}
	for _, mart := range analytics.Marts {
		query, err := analytics.MartSQL(mart, analytics.MartParams{DT: dt, SimilarityBlockSize: similarityBlock})
		if err != nil {
			return res, err
		}
		staging := lake.StagingRoot + "bench-" + mart + "-" + dt + "/"
		key := lake.PartKey(staging, 0)
		// DuckDB's COPY does not create directories.
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(staging)), 0o755); err != nil {
			return res, err
		}
		// The options of the aggregate stage's COPY: Data Page V1 and
		// Snappy, which every engine reads.
		out, err := duck.Query(ctx, root, "COPY ("+query+") TO '"+root+"/"+key+
			"' (FORMAT parquet, COMPRESSION snappy, PARQUET_VERSION V1)")
		if err != nil {
			return res, fmt.Errorf("build mart %s of %s: %w", mart, dt, err)
		}
		rows, err := copiedRows(out)
		if err != nil {
			return res, fmt.Errorf("build mart %s of %s: %w", mart, dt, err)
		}
		if err := lake.Publish(ctx, store, staging, lake.MartPrefix(mart, dt)); err != nil {
			return res, fmt.Errorf("publish mart %s of %s: %w", mart, dt, err)
		}
		res.Rows[mart] = rows
		res.Keys = append(res.Keys, lake.PartKey(lake.MartPrefix(mart, dt), 0))
	}
	return res, nil
}

// copiedRows reads the row count a COPY answers.
func copiedRows(r *analytics.Result) (int64, error) {
	if len(r.Rows) != 1 || len(r.Rows[0]) != 1 {
		return 0, fmt.Errorf("COPY answered %d rows, want one count", len(r.Rows))
	}
	switch n := r.Rows[0][0].(type) {
	case int64:
		return n, nil
	case int32:
		return int64(n), nil
	}
	return 0, fmt.Errorf("COPY answered %T, want a count", r.Rows[0][0])
}

// writeServing writes what the store stage leaves in the serving store
// after every date ran in order: each date's artist snapshots (the history
// of the artist pages), and the last date's top tracks and latest
// releases, the lists an older date never replaces, and the tracked set.
func writeServing(ctx context.Context, serve *serving.Store, l Lake) error {
	g := generator{cfg: l.Config}
	const chunk = 500
	for d, dt := range l.Dates {
		snaps := make([]serving.ArtistSnapshot, 0, chunk)
		for i := range l.Artists {
			if g.present(i, d) {
				pop, followers := int(g.popularity(i, d)), g.followers(i, d)
				snaps = append(snaps, serving.ArtistSnapshot{ID: artistID(i), Name: g.artistName(i), Genres: g.genres(i),
					Popularity: &pop, Followers: &followers, ImageURL: imageURL(i), UpdatedAt: l.fetchedAt(d, i)})
			}
			if len(snaps) == chunk || i == l.Artists-1 && len(snaps) > 0 {
				if err := serve.PutArtists(ctx, dt, snaps); err != nil {
					return fmt.Errorf("store artists of %s: %w", dt, err)
				}
				snaps = snaps[:0]
			}
		}
	}

	d := len(l.Dates) - 1
	dt := l.Dates[d]
	last, _ := tables.ParseDate(l.Last)
	top := map[string][]serving.TopTrack{}
	releases := map[string][]serving.Release{}
	ids := make([]string, 0, l.Artists)
	flush := func() error {
		if err := serve.PutTopTracksBatch(ctx, dt, top); err != nil {
			return fmt.Errorf("store top tracks of %s: %w", dt, err)
		}
		if err := serve.PutReleasesBatch(ctx, dt, releases); err != nil {
			return fmt.Errorf("store releases of %s: %w", dt, err)
		}
		clear(top)
		clear(releases)
		return nil
	}
	for i := range l.Artists {
		id := artistID(i)
		ids = append(ids, id)
		if !g.present(i, d) {
			continue
		}
		for _, k := range g.topTrackOrder(i, d) {
			if g.rejectReason(i, k, d) != "" {
				continue
			}
			pop := int(g.trackPopularity(i, k, d))
			name, _, _, _ := g.album(i, albumOf(k), last)
			top[id] = append(top[id], serving.TopTrack{ID: trackID(i, k), Name: g.trackName(i, k), Album: name,
				Popularity: &pop, DurationMS: int(g.durationMS(i, k))})
		}
		for j := range albumsPerArtist {
			name, kind, released, _ := g.album(i, j, last)
			releases[id] = append(releases[id], serving.Release{AlbumID: albumID(i, j), Name: name, Type: kind,
				ReleaseDate: released.String()})
		}
		if len(top) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := serve.Track(ctx, ids...); err != nil {
		return fmt.Errorf("track %d artists: %w", len(ids), err)
	}
	return nil
}

// writeSimilar stores the similar artists of dt's artist_similarity mart,
// as the aggregate stage does for each date (the last date's remain).
func writeSimilar(ctx context.Context, duck *analytics.DuckDB, serve *serving.Store, l Lake, dt string) (int, error) {
	n := 0
	batch := map[string][]serving.Similar{}
	flush := func() error {
		err := serve.PutSimilarBatch(ctx, dt, batch)
		clear(batch)
		return err
	}
	err := duck.Similar(ctx, l.LakeURL, dt, func(artistID string, similar []analytics.SimilarArtist) error {
		for _, s := range similar {
			batch[artistID] = append(batch[artistID], serving.Similar{ArtistID: s.ArtistID, Name: s.Name, Score: s.Score})
			n++
		}
		if len(batch) == 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("store similar artists of %s: %w", dt, err)
	}
	return n, nil
}

// writeManifests writes the run manifest of the d-th date with the
// activity that writes it; a reprocessed date gets the manifest of its
// capture first and then the backfill's, which records the one it
// replaced.
func writeManifests(ctx context.Context, a *activities.Activities, l Lake, d int, w dateWork, marts contract.AggregateResult) error {
	dt := l.Dates[d]
	in := contract.ManifestInput{
		Date: dt, WorkflowID: "pipeline-" + dt, RunID: runID(dt, 0), Trigger: "schedule",
		StartedAt: w.started.UTC().Format(time.RFC3339), Resolve: w.resolve, Collect: w.collect, Clean: w.clean,
		Store:     contract.StoreResult{Artists: w.clean.Report.RowsOut[tables.Artists], TopTracks: w.clean.Report.RowsOut[tables.ArtistTopTracks], Tracked: l.Artists},
		Aggregate: marts,
		// About what the stages take at 100,000 artists, scaled.
		StageMillis: map[string]int64{
			"resolve": 50, "collect": int64(l.Artists) * 2, "clean": int64(l.Artists) * 6 / 10,
			"store": int64(l.Artists) * 3 / 10, "aggregate": int64(l.Artists) * 9 / 10,
		},
		Kind: contract.KindCapture,
	}
	if l.kind(d) == contract.KindLateCapture {
		in.Kind, in.Trigger = contract.KindLateCapture, "manual"
	}
	if _, err := a.WriteManifest(ctx, in); err != nil {
		return fmt.Errorf("manifest of %s: %w", dt, err)
	}
	if l.kind(d) != contract.KindReprocess {
		return nil
	}
	in.RunID, in.Trigger, in.Kind = runID(dt, 1), "backfill", contract.KindReprocess
	in.Collect = contract.CollectSummary{}
	in.StartedAt = w.started.Add(72 * time.Hour).UTC().Format(time.RFC3339)
	delete(in.StageMillis, "collect")
	if _, err := a.WriteManifest(ctx, in); err != nil {
		return fmt.Errorf("manifest of the reprocess of %s: %w", dt, err)
	}
	return nil
}

func imageURL(i int) string {
	return "https://i.scdn.co/image/ab6761610000e5eb" + strings.ToLower(artistID(i)[:16])
}
