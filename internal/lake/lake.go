// Package lake is metronome's data lake: one Store interface over object
// storage (a local directory for the embedded default, S3 or any S3-compatible
// server in production), the deterministic key layout of DESIGN.md, raw
// JSONL.gz objects, Parquet files and the atomic publication of partitions.
//
// Keys are slash-separated, relative, and never contain "." or ".." segments;
// both backends refuse anything else, so a key means the same object on both.
// A key cannot also be a "directory" of other keys (a/b next to a/b/c): a
// file store cannot hold both, and the lake layout never needs it.
package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNotFound is returned (wrapped) by Store.Get when the key has no object.
var ErrNotFound = errors.New("lake: object not found")

// Store is an object store holding the lake.
//
// Every object is written whole: a concurrent Get or List sees either the old
// object or the new one, never a partial write. A prefix is a plain string
// prefix of keys, as in S3 (it need not end with "/").
type Store interface {
	// Put writes the object key with the content of r, replacing any object
	// already there.
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens the object key. The error wraps ErrNotFound when there is
	// no such object. The caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the keys starting with prefix, sorted. A prefix with no
	// objects is an empty list, not an error.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes the object key; a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every object whose key starts with prefix.
	DeletePrefix(ctx context.Context, prefix string) error
	// ReplacePrefix makes dst hold exactly the objects under src (the same
	// relative keys) and removes src. Both prefixes must end with "/". It is
	// the primitive of PartitionWriter.Publish; see there for what readers
	// may observe while it runs on each backend.
	ReplacePrefix(ctx context.Context, src, dst string) error
	// URL is the URL the store serves: file:///abs/dir or s3://bucket/prefix.
	URL() string
	// LocalDir returns the local directory holding the objects (the object
	// key maps to filepath.Join(dir, key)) and true for a file store, or ""
	// and false when the objects are remote.
	LocalDir() (string, bool)
}

// Open opens the store at url: file://DIR (an absolute or relative
// directory, created if missing) or s3://BUCKET[/PREFIX].
func Open(ctx context.Context, url string, opts ...Option) (Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case strings.HasPrefix(url, "file://"):
		return openFile(strings.TrimPrefix(url, "file://"))
	case strings.HasPrefix(url, "s3://"):
		return openS3(ctx, strings.TrimPrefix(url, "s3://"), o)
	default:
		return nil, fmt.Errorf("open lake %q: unsupported URL, want file://DIR or s3://BUCKET/PREFIX", url)
	}
}

// Option configures Open. S3 options are ignored by file stores.
type Option func(*options)

type options struct {
	endpoint  string
	region    string
	accessKey string
	secretKey string
	pathStyle *bool
	partSize  int64
}

// WithEndpoint points an s3:// store at an S3-compatible server, e.g.
// http://127.0.0.1:7070. Without it the SDK's own resolution applies
// (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then AWS).
func WithEndpoint(url string) Option { return func(o *options) { o.endpoint = url } }

// WithRegion sets the AWS region of an s3:// store. Without it the default
// chain applies (AWS_REGION, shared config) and, when that finds none,
// us-east-1, which S3-compatible servers accept.
func WithRegion(region string) Option { return func(o *options) { o.region = region } }

// WithStaticCredentials uses the given access key instead of the default
// credential chain. Meant for tests against local servers.
func WithStaticCredentials(accessKey, secretKey string) Option {
	return func(o *options) { o.accessKey, o.secretKey = accessKey, secretKey }
}

// WithPathStyle forces path-style (true) or virtual-hosted (false) bucket
// addressing. The default is path-style whenever a custom endpoint is in use
// (S3-compatible servers rarely resolve bucket subdomains) and
// virtual-hosted on AWS.
func WithPathStyle(on bool) Option { return func(o *options) { o.pathStyle = &on } }

// WithPartSize sets the multipart upload part size of an s3:// store in
// bytes; objects larger than one part are uploaded in parts. The minimum
// (and default) is 5 MiB, S3's smallest part.
func WithPartSize(bytes int64) Option { return func(o *options) { o.partSize = bytes } }

// checkKey refuses keys that are not clean relative slash paths, so that a
// key cannot escape a file store's root and names the same object on S3.
func checkKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("key %q must not start or end with /", key)
	}
	if strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("key %q contains a backslash or NUL", key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return fmt.Errorf("key %q has an empty, . or .. segment", key)
		case strings.HasPrefix(seg, tmpPrefix):
			return fmt.Errorf("key %q: names starting with %s are reserved", key, tmpPrefix)
		}
	}
	return nil
}

// checkPrefix refuses prefixes that could not be a prefix of a valid key.
// The empty prefix (everything) is allowed.
func checkPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	trimmed := strings.TrimSuffix(prefix, "/")
	if trimmed == "" {
		return fmt.Errorf("prefix %q must not start with /", prefix)
	}
	// The last segment may be partial ("raw/spotify/art"), so only the
	// complete segments must be valid.
	if err := checkKey(trimmed); err != nil {
		return fmt.Errorf("prefix %q: %w", prefix, err)
	}
	return nil
}

// checkDirPrefix refuses prefixes that are not whole "directories".
func checkDirPrefix(prefix string) error {
	if !strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("prefix %q must end with /", prefix)
	}
	return checkPrefix(prefix)
}
