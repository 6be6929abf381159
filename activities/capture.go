package activities

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/metronome-data/metronome/internal/contract"
	"github.com/metronome-data/metronome/internal/curate"
	"github.com/metronome-data/metronome/internal/lake"
)

// Capture is the record of a complete capture of a date,
// manifests/dt=D/capture.json. It is written after every raw object of the
// capture is in the lake and removed when a new capture of the date starts,
// so its presence means "raw/…/dt=D is complete": the date can be
// reprocessed without calling Spotify.
type Capture struct {
	// CaptureInput is what the capturing run reports: the date, its kind
	// (capture or late_capture), mode, counts and workflow.
	contract.CaptureInput
	LateCapture bool `json:"late_capture"`
	// CapturedAt is when the capture completed (RFC 3339, UTC).
	CapturedAt string `json:"captured_at"`
	// Window is the first and last fetched_at of the raw records.
	Window  contract.FetchWindow `json:"window"`
	Objects []RawObject          `json:"objects"`
	Bytes   int64                `json:"bytes"`
}

// RawObject is one raw object of a capture.
type RawObject struct {
	Key     string `json:"key"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Records int    `json:"records"`
}

func (c Capture) summary() contract.CaptureSummary {
	return contract.CaptureSummary{
		Key: lake.CaptureKey(c.Date), Kind: c.Kind, LateCapture: c.LateCapture, CapturedAt: c.CapturedAt,
		Window: c.Window, Mode: c.Mode, Artists: c.Artists, Batches: c.Batches, BatchSize: c.BatchSize,
		Objects: len(c.Objects), Bytes: c.Bytes,
	}
}

// BeginCapture removes the capture record of a date before a new capture
// overwrites its raw objects: until the new capture completes, the date has
// no complete capture to reprocess.
func (a *Activities) BeginCapture(ctx context.Context, date string) error {
	if err := lake.CheckDate(date); err != nil {
		return badInput("%v", err)
	}
	if err := a.Lake.Delete(ctx, lake.CaptureKey(date)); err != nil {
		return fmt.Errorf("remove the capture record of %s before capturing again: %w", date, err)
	}
	return nil
}

// CompleteCapture seals the raw objects of a capture: it removes the raw
// objects of batches the capture did not write (left by an earlier, larger
// capture of the date), reads every raw object of the date for its size,
// SHA-256 and first and last fetched_at, and writes the capture record.
func (a *Activities) CompleteCapture(ctx context.Context, in contract.CaptureInput) (res contract.CaptureSummary, err error) {
	defer reportLineage(ctx, a, captureLineage, in)(&res, &err)
	ctx, stop := keepAlive(ctx, keepAliveEvery)
	defer stop()
	if in.Kind != contract.KindCapture && in.Kind != contract.KindLateCapture {
		return contract.CaptureSummary{}, badInput("capture kind %q: want %q or %q", in.Kind, contract.KindCapture, contract.KindLateCapture)
	}
	if err := a.removeStaleBatches(ctx, in.Date, in.Batches); err != nil {
		return contract.CaptureSummary{}, err
	}
	c := Capture{
		CaptureInput: in, LateCapture: in.Kind == contract.KindLateCapture,
		CapturedAt: time.Now().UTC().Format(time.RFC3339), Objects: []RawObject{},
	}
	var first, last time.Time
	for _, entity := range curate.Entities {
		keys, err := a.Lake.List(ctx, lake.RawPrefix(entity, in.Date))
		if err != nil {
			return contract.CaptureSummary{}, fmt.Errorf("list raw %s of %s: %w", entity, in.Date, err)
		}
		for _, key := range keys {
			obj, f, l, err := a.readRawObject(ctx, key)
			if err != nil {
				return contract.CaptureSummary{}, err
			}
			c.Objects = append(c.Objects, obj)
			c.Bytes += obj.Size
			if !f.IsZero() && (first.IsZero() || f.Before(first)) {
				first = f
			}
			if l.After(last) {
				last = l
			}
		}
		heartbeat(ctx, entity)
	}
	if !first.IsZero() {
		c.Window = contract.FetchWindow{First: first.UTC().Format(time.RFC3339Nano), Last: last.UTC().Format(time.RFC3339Nano)}
	}
	body, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return contract.CaptureSummary{}, fmt.Errorf("encode capture record of %s: %w", in.Date, err)
	}
	key := lake.CaptureKey(in.Date)
	if err := a.Lake.Put(ctx, key, bytes.NewReader(body)); err != nil {
		return contract.CaptureSummary{}, fmt.Errorf("write capture record %s: %w", key, err)
	}
	a.logger(ctx).Info("capture complete", zap.String("date", in.Date), zap.String("kind", in.Kind),
		zap.Int("objects", len(c.Objects)), zap.Int64("bytes", c.Bytes),
		zap.String("first_fetched_at", c.Window.First), zap.String("last_fetched_at", c.Window.Last))
	return c.summary(), nil
}

// readRawObject hashes one raw object as stored and finds the first and
// last fetched_at of its records. A line that does not decode is counted
// by the clean stage, not here.
func (a *Activities) readRawObject(ctx context.Context, key string) (RawObject, time.Time, time.Time, error) {
	rc, err := a.Lake.Get(ctx, key)
	if err != nil {
		return RawObject{}, time.Time{}, time.Time{}, fmt.Errorf("read raw %s: %w", key, err)
	}
	defer rc.Close()
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(rc, h)}
	zr, err := gzip.NewReader(counted)
	if err != nil {
		return RawObject{}, time.Time{}, time.Time{}, fmt.Errorf("raw %s is not gzip: %w", key, err)
	}
	var first, last time.Time
	records := 0
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		records++
		var r struct {
			FetchedAt time.Time `json:"fetched_at"`
		}
		if json.Unmarshal(line, &r) != nil || r.FetchedAt.IsZero() {
			continue
		}
		if first.IsZero() || r.FetchedAt.Before(first) {
			first = r.FetchedAt
		}
		if r.FetchedAt.After(last) {
			last = r.FetchedAt
		}
	}
	if err := sc.Err(); err != nil {
		return RawObject{}, time.Time{}, time.Time{}, fmt.Errorf("read raw %s: %w", key, err)
	}
	// Hash the whole stored object, gzip trailer included.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return RawObject{}, time.Time{}, time.Time{}, fmt.Errorf("read raw %s: %w", key, err)
	}
	return RawObject{Key: key, Size: counted.n, SHA256: hex.EncodeToString(h.Sum(nil)), Records: records}, first, last, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadCapture reads the capture record of date; found is false when the
// date has no complete capture.
func ReadCapture(ctx context.Context, store lake.Store, date string) (c Capture, found bool, err error) {
	rc, err := store.Get(ctx, lake.CaptureKey(date))
	if errors.Is(err, lake.ErrNotFound) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read capture record of %s: %w", date, err)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(&c); err != nil {
		return c, false, fmt.Errorf("decode capture record %s: %w", lake.CaptureKey(date), err)
	}
	return c, true, nil
}

// Partition reads whether a date has a complete capture to reprocess: all a
// run's plan needs, so the date's run manifest is not read.
func (a *Activities) Partition(ctx context.Context, date string) (contract.PartitionState, error) {
	if err := lake.CheckDate(date); err != nil {
		return contract.PartitionState{}, badInput("%v", err)
	}
	st := contract.PartitionState{Date: date}
	c, found, err := ReadCapture(ctx, a.Lake, date)
	if err != nil {
		return st, err
	}
	if found {
		st.Captured, st.Capture = true, c.summary()
	}
	return st, nil
}

// Partitions lists, with one listing of manifests/, which dates of a range
// have a complete capture and which have been processed.
func (a *Activities) Partitions(ctx context.Context, in contract.PartitionsInput) (contract.PartitionsResult, error) {
	return ListPartitions(ctx, a.Lake, in.From, in.To)
}

// ListPartitions lists which dates from from to to (inclusive, YYYY-MM-DD;
// empty is open) have a capture record and which have a run manifest.
func ListPartitions(ctx context.Context, store lake.Store, from, to string) (contract.PartitionsResult, error) {
	res := contract.PartitionsResult{Captured: []string{}, Processed: []string{}}
	// Every date from from to to starts with their common prefix (the dates
	// are of fixed width), so a bounded range lists only its part of the lake.
	prefix := lake.ManifestsRoot + "dt="
	if from != "" && to != "" {
		n := 0
		for n < min(len(from), len(to)) && from[n] == to[n] {
			n++
		}
		prefix += from[:n]
	}
	keys, err := store.List(ctx, prefix)
	if err != nil {
		return res, fmt.Errorf("list %s: %w", lake.ManifestsRoot, err)
	}
	for _, key := range keys {
		rest, ok := strings.CutPrefix(key, lake.ManifestsRoot+"dt=")
		if !ok {
			continue
		}
		date, name, ok := strings.Cut(rest, "/")
		if !ok || lake.CheckDate(date) != nil || (from != "" && date < from) || (to != "" && date > to) {
			continue
		}
		switch name {
		case "capture.json":
			res.Captured = append(res.Captured, date)
		case "pipeline.json":
			res.Processed = append(res.Processed, date)
		}
	}
	return res, nil
}
