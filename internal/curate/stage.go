package curate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/tables"
)

// segmentMaxRows closes a segment early when its objects yield many rows
// (an artist_albums batch can list thousands of albums), bounding the rows
// phase 1 holds in memory.
const segmentMaxRows = 50_000

// checkpointVersion changes whenever the staged format does, so that an
// attempt never resumes from state an older build wrote.
const checkpointVersion = 2

// listingsName is the staged table of album listings (not a curated table).
const listingsName = "album_listings"

// checkpoint is the state of phase 1 that a later attempt resumes from.
// Everything it counts is staged in the lake.
type checkpoint struct {
	Version  int    `json:"version"`
	DT       string `json:"dt"`
	Inputs   string `json:"inputs"`   // fingerprint of the raw object keys, in read order
	Objects  int    `json:"objects"`  // raw objects cleaned and staged
	Segments int    `json:"segments"` // segments staged
	Report   Report `json:"report"`   // counts of those objects
}

// stage runs phase 1 and holds the open segment.
type stage struct {
	store   lake.Store
	dt      string
	prefix  string // StagingPrefix(dt)
	tempDir string
	cp      checkpoint
	pending objectOutput // rows of the open segment; rejects are written at once
	objects int          // objects in the open segment
	late    bool         // Options.LateCapture
}

func startStage(ctx context.Context, store lake.Store, dt string, objects []rawObject, opts Options) (*stage, error) {
	st := &stage{store: store, dt: dt, prefix: StagingPrefix(dt), tempDir: opts.TempDir, late: opts.LateCapture}
	inputs := fingerprint(objects, opts.LateCapture)
	if opts.ResumeAfter > 0 {
		cp, ok, err := st.loadCheckpoint(ctx)
		if err != nil {
			return nil, err
		}
		if ok && cp.Version == checkpointVersion && cp.DT == dt && cp.Inputs == inputs && cp.Objects <= len(objects) {
			cp.Report.Resumed = cp.Objects
			st.cp = cp
			return st, nil
		}
	}
	if err := store.DeletePrefix(ctx, st.prefix); err != nil {
		return nil, fmt.Errorf("clear staging: %w", err)
	}
	st.cp = checkpoint{Version: checkpointVersion, DT: dt, Inputs: inputs, Report: newReport(dt)}
	return st, nil
}

// fingerprint identifies what staged rows are made of: the raw objects and
// the late-capture flag every row carries.
func fingerprint(objects []rawObject, late bool) string {
	h := sha256.New()
	for _, o := range objects {
		fmt.Fprintf(h, "%s\n", o.Key)
	}
	fmt.Fprintf(h, "late_capture=%t\n", late)
	return hex.EncodeToString(h.Sum(nil))
}

func (st *stage) checkpointKey() string { return st.prefix + "checkpoint.json" }

func (st *stage) segmentKey(seg int, table string) string {
	return fmt.Sprintf("%ssegments/%05d/%s.parquet", st.prefix, seg, table)
}

// loadCheckpoint reads the checkpoint; a missing or unreadable one means
// there is nothing to resume.
func (st *stage) loadCheckpoint(ctx context.Context) (checkpoint, bool, error) {
	rc, err := st.store.Get(ctx, st.checkpointKey())
	if errors.Is(err, lake.ErrNotFound) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("read checkpoint: %w", err)
	}
	defer rc.Close()
	var cp checkpoint
	if err := json.NewDecoder(rc).Decode(&cp); err != nil {
		return checkpoint{}, false, nil
	}
	return cp, true, nil
}

// clean runs phase 1 over the objects the checkpoint does not cover.
func (st *stage) clean(ctx context.Context, objects []rawObject, opts Options) error {
	st.cp.Report.Objects = len(objects)
	for i := st.cp.Objects; i < len(objects); i++ {
		obj := objects[i]
		c := &cleaner{dt: st.dt, market: opts.Market, entity: obj.Entity, source: obj.Key, obj: int64(i)}
		if err := lake.ReadRaw(ctx, st.store, obj.Key, c.record, c.malformed); err != nil {
			return fmt.Errorf("clean %q: %w", obj.Key, err)
		}
		rep := &st.cp.Report
		rep.RowsIn[obj.Entity] += c.out.in
		if len(c.out.rejects) > 0 {
			// Written in place at once: the key is deterministic, so a
			// resumed attempt rewrites the same object.
			key := lake.QuarantineKey(obj.Entity, st.dt, obj.Batch)
			if _, err := lake.WriteJSONL(ctx, st.store, key, c.out.rejects); err != nil {
				return fmt.Errorf("quarantine %q: %w", obj.Key, err)
			}
			rep.QuarantineKeys = append(rep.QuarantineKeys, key)
			if rep.Rejected[obj.Entity] == nil {
				rep.Rejected[obj.Entity] = map[string]int{}
			}
			for _, q := range c.out.rejects {
				rep.Rejected[obj.Entity][q.Reason]++
			}
		}
		st.add(&c.out)
		if st.objects >= opts.CheckpointEvery || st.pending.rows() >= segmentMaxRows || i == len(objects)-1 {
			if err := st.checkpoint(ctx, i+1); err != nil {
				return err
			}
		}
		if opts.Progress != nil {
			opts.Progress(i+1, obj.Key)
		}
	}
	return nil
}

func (st *stage) add(o *objectOutput) {
	// The flag is the date's, not the record's: set here once for all rows.
	for i := range o.artists {
		o.artists[i].Row.LateCapture = st.late
	}
	for i := range o.albums {
		o.albums[i].Row.LateCapture = st.late
	}
	for i := range o.tracks {
		o.tracks[i].Row.LateCapture = st.late
	}
	for i := range o.topTracks {
		o.topTracks[i].Row.LateCapture = st.late
	}
	for i := range o.features {
		o.features[i].Row.LateCapture = st.late
	}
	p := &st.pending
	p.artists = append(p.artists, o.artists...)
	p.albums = append(p.albums, o.albums...)
	p.tracks = append(p.tracks, o.tracks...)
	p.topTracks = append(p.topTracks, o.topTracks...)
	p.features = append(p.features, o.features...)
	p.listings = append(p.listings, o.listings...)
	st.objects++
}

// checkpoint stages the open segment, then records that done objects are
// staged. A crash in between leaves an unreferenced segment that the next
// attempt overwrites.
func (st *stage) checkpoint(ctx context.Context, done int) error {
	seg := st.cp.Segments
	tmp := lake.WithTempDir(st.tempDir)
	// A crashed attempt may have staged this segment number already, with
	// other tables in it.
	if err := st.store.DeletePrefix(ctx, fmt.Sprintf("%ssegments/%05d/", st.prefix, seg)); err != nil {
		return fmt.Errorf("stage segment %d: %w", seg, err)
	}
	p := &st.pending
	writes := []error{
		writeSegment(ctx, st.store, st.segmentKey(seg, tables.Artists), p.artists, tmp),
		writeSegment(ctx, st.store, st.segmentKey(seg, tables.Albums), p.albums, tmp),
		writeSegment(ctx, st.store, st.segmentKey(seg, tables.Tracks), p.tracks, tmp),
		writeSegment(ctx, st.store, st.segmentKey(seg, tables.ArtistTopTracks), p.topTracks, tmp),
		writeSegment(ctx, st.store, st.segmentKey(seg, tables.AudioFeatures), p.features, tmp),
		writeSegment(ctx, st.store, st.segmentKey(seg, listingsName), p.listings, tmp),
	}
	if err := errors.Join(writes...); err != nil {
		return fmt.Errorf("stage segment %d: %w", seg, err)
	}
	st.cp.Segments = seg + 1
	st.cp.Objects = done
	b, err := json.Marshal(st.cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	if err := st.store.Put(ctx, st.checkpointKey(), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	st.pending, st.objects = objectOutput{}, 0
	return nil
}

// writeSegment stages rows; an empty segment writes nothing.
func writeSegment[T any](ctx context.Context, store lake.Store, key string, rows []T, opts ...lake.WriterOption) error {
	if len(rows) == 0 {
		return nil
	}
	return lake.WriteParquet(ctx, store, key, rows, opts...)
}

// segmentKeys lists the staged segment files of table that the checkpoint
// covers, in segment order.
func (st *stage) segmentKeys(ctx context.Context, table string) ([]string, error) {
	var keys []string
	for seg := range st.cp.Segments {
		keys = append(keys, st.segmentKey(seg, table))
	}
	existing, err := st.store.List(ctx, st.prefix+"segments/")
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	return slices.DeleteFunc(keys, func(k string) bool {
		_, found := slices.BinarySearch(existing, k)
		return !found
	}), nil
}

// pruneQuarantine removes the quarantine objects of dt that this run did
// not write (left by an earlier run whose batches had rejects).
func (st *stage) pruneQuarantine(ctx context.Context) error {
	written := map[string]bool{}
	for _, k := range st.cp.Report.QuarantineKeys {
		written[k] = true
	}
	for _, e := range Entities {
		keys, err := st.store.List(ctx, lake.QuarantinePrefix(e, st.dt))
		if err != nil {
			return fmt.Errorf("prune quarantine: %w", err)
		}
		for _, k := range keys {
			if !written[k] {
				if err := st.store.Delete(ctx, k); err != nil {
					return fmt.Errorf("prune quarantine: %w", err)
				}
			}
		}
	}
	return nil
}
