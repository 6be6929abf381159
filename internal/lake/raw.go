package lake

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// RawRecord is one line of a raw object: one Spotify API response (or one
// object of it) with where and when it was fetched. Data is exactly what
// the API returned.
type RawRecord struct {
	DT        string          `json:"dt"`
	Batch     int             `json:"batch"`
	FetchedAt time.Time       `json:"fetched_at"` // RFC 3339 with nanoseconds, UTC
	Endpoint  string          `json:"endpoint"`   // e.g. /v1/artists/{id}/top-tracks?market=US
	Key       string          `json:"key"`        // what the record is about, e.g. the artist ID
	Data      json.RawMessage `json:"data"`
}

// WriteRaw writes records as the gzip-compressed JSON-lines object key,
// replacing it, and returns the object's size in bytes.
func WriteRaw(ctx context.Context, store Store, key string, records []RawRecord) (int64, error) {
	utc := make([]RawRecord, len(records))
	for i, r := range records {
		r.FetchedAt = r.FetchedAt.UTC()
		utc[i] = r
	}
	return WriteJSONL(ctx, store, key, utc)
}

// WriteJSONL writes items as the gzip-compressed JSON-lines object key (one
// JSON value a line), replacing it, and returns the object's size in bytes.
// The object is built in memory: it suits batch-sized objects.
func WriteJSONL[T any](ctx context.Context, store Store, key string, items []T) (int64, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	// Keep API strings byte for byte: no \u003c for <, > and &.
	enc.SetEscapeHTML(false)
	for i, item := range items {
		if err := enc.Encode(item); err != nil {
			return 0, fmt.Errorf("write %q: encode line %d: %w", key, i+1, err)
		}
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("write %q: %w", key, err)
	}
	n := int64(buf.Len())
	if err := store.Put(ctx, key, &buf); err != nil {
		return 0, fmt.Errorf("write %q: %w", key, err)
	}
	return n, nil
}

// MalformedLine is a line of a JSON-lines object that does not decode.
type MalformedLine struct {
	Key  string // the raw object
	Line int    // 1-based
	Text []byte // the line as read, without the newline
	Err  error  // why it does not decode
}

// ErrMalformedLine is wrapped by ReadJSONL's error for a malformed line when
// the caller passed no handler for them.
var ErrMalformedLine = errors.New("malformed raw line")

// ErrCorruptObject is wrapped by the error of the MalformedLine (or of
// ReadJSONL without a handler) for an object whose gzip stream is
// truncated or corrupt: the store returned all of it, but it does not
// decompress to the end. The complete lines before the damage have been
// read; the rest is lost.
var ErrCorruptObject = errors.New("corrupt or truncated gzip object")

// sourceReader remembers how reading the stored object ended, to tell a
// damaged object (the store gave all its bytes, gzip refused them) from a
// failed read (a connection cut short), which a retry may cure.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// damaged reports whether err, met while decompressing, is the object's
// own fault rather than the read's.
func (s *sourceReader) damaged(err error) bool {
	return err != nil && (s.err == nil || errors.Is(s.err, io.EOF))
}

// ReadRaw streams the raw object key line by line, calling fn for each
// record. A line that does not decode goes to onMalformed, and reading goes
// on when that returns nil; with a nil onMalformed the first such line ends
// the read with an error wrapping ErrMalformedLine. Blank lines are skipped.
// An object whose gzip stream is truncated or corrupt gives its complete
// lines to fn and then one last MalformedLine (the partial line, if any),
// whose Err wraps ErrCorruptObject and names the object. The first error of
// fn or onMalformed is returned as is.
func ReadRaw(ctx context.Context, store Store, key string, fn func(RawRecord) error, onMalformed func(MalformedLine) error) error {
	return ReadJSONL(ctx, store, key, fn, onMalformed)
}

// ReadJSONL is ReadRaw for gzip-compressed JSON lines of any type, such as
// those WriteJSONL writes.
func ReadJSONL[T any](ctx context.Context, store Store, key string, fn func(T) error, onMalformed func(MalformedLine) error) error {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read jsonl: %w", err)
	}
	defer rc.Close()
	src := &sourceReader{r: rc}
	corrupt := func(line int, text []byte, cause error) error {
		err := fmt.Errorf("%w %q: unreadable after %d complete lines: %w", ErrCorruptObject, key, line-1, cause)
		if onMalformed == nil {
			return fmt.Errorf("read jsonl %q line %d: %w", key, line, err)
		}
		return onMalformed(MalformedLine{Key: key, Line: line, Text: text, Err: err})
	}
	zr, err := gzip.NewReader(src)
	if src.damaged(err) {
		return corrupt(1, nil, err)
	}
	if err != nil {
		return fmt.Errorf("read jsonl %q: %w", key, err)
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 256<<10)
	for line := 1; ; line++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read jsonl %q: %w", key, err)
		}
		// ReadBytes, not a Scanner: an album with its tracks can exceed any
		// fixed token size.
		text, rerr := br.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			if src.damaged(rerr) {
				return corrupt(line, bytes.TrimRight(text, "\r\n"), rerr)
			}
			return fmt.Errorf("read jsonl %q line %d: %w", key, line, rerr)
		}
		text = bytes.TrimRight(text, "\r\n")
		if len(bytes.TrimSpace(text)) > 0 {
			var v T
			if derr := json.Unmarshal(text, &v); derr != nil {
				if onMalformed == nil {
					return fmt.Errorf("read jsonl %q line %d: %w: %w", key, line, ErrMalformedLine, derr)
				}
				if err := onMalformed(MalformedLine{Key: key, Line: line, Text: text, Err: derr}); err != nil {
					return err
				}
			} else if err := fn(v); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
	}
}
