package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// maxDeleteBatch is the most keys one DeleteObjects request may name.
const maxDeleteBatch = 1000

// minPartSize is S3's smallest multipart upload part, and our default one.
const minPartSize = 5 << 20

// s3Store keeps each object as s3://bucket/<base>/<key>.
type s3Store struct {
	client   *s3.Client
	uploader *transfermanager.Client
	bucket   string
	base     string // no leading or trailing slash; may be empty
}

func openS3(ctx context.Context, rest string, o options) (*s3Store, error) {
	bucket, base, _ := strings.Cut(rest, "/")
	base = strings.Trim(base, "/")
	if bucket == "" {
		return nil, fmt.Errorf("open lake s3://%s: missing bucket", rest)
	}
	if base != "" {
		if err := checkKey(base); err != nil {
			return nil, fmt.Errorf("open lake s3://%s: prefix: %w", rest, err)
		}
	}
	var loadOpts []func(*config.LoadOptions) error
	if o.region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.region))
	}
	if o.accessKey != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.accessKey, o.secretKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("open lake s3://%s: load AWS config: %w", rest, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.endpoint != "" {
			so.BaseEndpoint = aws.String(o.endpoint)
		}
		// Objects uploaded in parts carry no whole-object checksum; the SDK
		// would log a warning for each such Get.
		so.DisableLogOutputChecksumValidationSkipped = true
		// By now BaseEndpoint also holds AWS_ENDPOINT_URL_S3 when set.
		switch {
		case o.pathStyle != nil:
			so.UsePathStyle = *o.pathStyle
		case so.BaseEndpoint != nil:
			so.UsePathStyle = true
		}
	})
	// An object of one part or less goes up in one PutObject, larger ones in
	// parts: the threshold is the part size (transfermanager's default
	// threshold, 16 MiB, is twice its default part).
	partSize := max(o.partSize, minPartSize)
	uploader := transfermanager.New(client, func(tm *transfermanager.Options) {
		tm.PartSizeBytes = partSize
		tm.MultipartUploadThreshold = partSize
	})
	return &s3Store{client: client, uploader: uploader, bucket: bucket, base: base}, nil
}

func (s *s3Store) URL() string {
	if s.base == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + s.base
}

func (s *s3Store) LocalDir() (string, bool) { return "", false }

// objectKey maps a lake key or prefix to the S3 object key.
func (s *s3Store) objectKey(key string) string {
	if s.base == "" {
		return key
	}
	return s.base + "/" + key
}

func (s *s3Store) Put(ctx context.Context, key string, r io.Reader) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("put %s: %w", s.URL(), err)
	}
	_, err := s.uploader.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.objectKey(key)),
		Body:   r,
	})
	if err != nil {
		return fmt.Errorf("put %q to %s: %w", key, s.URL(), err)
	}
	return nil
}

func (s *s3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get %s: %w", s.URL(), err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.objectKey(key)),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("get %q from %s: %w", key, s.URL(), ErrNotFound)
		}
		return nil, fmt.Errorf("get %q from %s: %w", key, s.URL(), err)
	}
	return out.Body, nil
}

func (s *s3Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list %s: %w", s.URL(), err)
	}
	full := s.objectKey(prefix)
	if prefix == "" && s.base != "" {
		full = s.base + "/"
	}
	var keys []string
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(full),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %q in %s: %w", prefix, s.URL(), err)
		}
		for _, obj := range page.Contents {
			k := aws.ToString(obj.Key)
			if s.base != "" {
				k = strings.TrimPrefix(k, s.base+"/")
			}
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("delete %s: %w", s.URL(), err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.objectKey(key)),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %q from %s: %w", key, s.URL(), err)
	}
	return nil
}

func (s *s3Store) DeletePrefix(ctx context.Context, prefix string) error {
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("delete prefix: %w", err)
	}
	return s.deleteKeys(ctx, keys)
}

func (s *s3Store) deleteKeys(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), maxDeleteBatch)
		objs := make([]types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			objs[i] = types.ObjectIdentifier{Key: aws.String(s.objectKey(k))}
		}
		out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(s.bucket),
			Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete %d objects from %s starting at %q: %w", n, s.URL(), keys[0], err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete %q from %s: %s: %s (and %d more errors)",
				aws.ToString(e.Key), s.URL(), aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors)-1)
		}
		keys = keys[n:]
	}
	return nil
}

// ReplacePrefix has no atomic form on S3, which cannot rename: it copies
// every src object over dst (server-side, in key order), deletes the dst
// objects src does not have, then deletes src. A reader listing dst while it
// runs may see a mix of old and new objects. CopyObject limits one object to
// 5 GiB, far above a part file.
func (s *s3Store) ReplacePrefix(ctx context.Context, src, dst string) error {
	if err := checkDirPrefix(src); err != nil {
		return fmt.Errorf("replace prefix in %s: %w", s.URL(), err)
	}
	if err := checkDirPrefix(dst); err != nil {
		return fmt.Errorf("replace prefix in %s: %w", s.URL(), err)
	}
	if strings.HasPrefix(src, dst) || strings.HasPrefix(dst, src) {
		return fmt.Errorf("replace prefix %q with %q: prefixes overlap", dst, src)
	}
	srcKeys, err := s.List(ctx, src)
	if err != nil {
		return fmt.Errorf("replace prefix %q: %w", dst, err)
	}
	dstKeys, err := s.List(ctx, dst)
	if err != nil {
		return fmt.Errorf("replace prefix %q: %w", dst, err)
	}
	keep := make(map[string]bool, len(srcKeys))
	for _, k := range srcKeys {
		rel := strings.TrimPrefix(k, src)
		keep[rel] = true
		source := (&url.URL{Path: s.bucket + "/" + s.objectKey(k)}).EscapedPath()
		_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket:     aws.String(s.bucket),
			Key:        aws.String(s.objectKey(dst + rel)),
			CopySource: aws.String(source),
		})
		if err != nil {
			return fmt.Errorf("replace prefix %q: copy %q: %w", dst, k, err)
		}
	}
	var stale []string
	for _, k := range dstKeys {
		if !keep[strings.TrimPrefix(k, dst)] {
			stale = append(stale, k)
		}
	}
	if err := s.deleteKeys(ctx, stale); err != nil {
		return fmt.Errorf("replace prefix %q: remove old objects: %w", dst, err)
	}
	if err := s.deleteKeys(ctx, srcKeys); err != nil {
		return fmt.Errorf("replace prefix %q: remove staged objects: %w", dst, err)
	}
	return nil
}

// isNotFound reports a missing object. A missing bucket is also a 404, but
// a configuration error, not a missing object.
func isNotFound(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "NoSuchBucket" {
		return false
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}
