package lake_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/metronome-data/metronome/internal/lake"
	"github.com/metronome-data/metronome/internal/testservers"
)

// s3Server is a versitygw gateway and a way to make fresh buckets on it.
type s3Server struct {
	endpoint, access, secret string
	client                   *s3.Client
	buckets                  atomic.Int64
}

func startS3(t *testing.T) *s3Server {
	t.Helper()
	endpoint, access, secret := testservers.StartVersityGW(t)
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
	})
	return &s3Server{endpoint: endpoint, access: access, secret: secret, client: client}
}

func (srv *s3Server) newBucket(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("lake-%d", srv.buckets.Add(1))
	if _, err := srv.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

func TestS3Store(t *testing.T) {
	srv := startS3(t)
	runStoreSuite(t, func(t *testing.T) lake.Store {
		// A prefix inside the bucket, to prove keys are relative to it.
		url := "s3://" + srv.newBucket(t) + "/team/lake"
		s, err := lake.Open(context.Background(), url,
			lake.WithEndpoint(srv.endpoint), lake.WithStaticCredentials(srv.access, srv.secret))
		if err != nil {
			t.Fatal(err)
		}
		if s.URL() != url {
			t.Fatalf("URL = %q, want %q", s.URL(), url)
		}
		if dir, ok := s.LocalDir(); ok || dir != "" {
			t.Fatalf("LocalDir = %q, %v; want remote", dir, ok)
		}
		return s
	})
}

// The default AWS chain alone (endpoint and keys from the environment)
// reaches an S3-compatible server, path-style.
func TestS3StoreFromEnvironment(t *testing.T) {
	srv := startS3(t)
	bucket := srv.newBucket(t)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.secret)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	ctx := context.Background()
	s, err := lake.Open(ctx, "s3://"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "manifests/dt=2026-11-01/pipeline.json", "{}")
	if got := get(t, s, lake.ManifestKey("2026-11-01")); got != "{}" {
		t.Fatalf("Get = %q", got)
	}
	// The object sits at the bucket root, as the key says.
	out, err := srv.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(lake.ManifestKey("2026-11-01"))})
	if err != nil || aws.ToInt64(out.ContentLength) != 2 {
		t.Fatalf("HeadObject = %v, %v", out, err)
	}
}

func TestS3StoreMissingBucketIsNotErrNotFound(t *testing.T) {
	srv := startS3(t)
	s, err := lake.Open(context.Background(), "s3://no-such-bucket",
		lake.WithEndpoint(srv.endpoint), lake.WithStaticCredentials(srv.access, srv.secret))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(context.Background(), "a")
	if err == nil || strings.Contains(err.Error(), lake.ErrNotFound.Error()) {
		t.Fatalf("Get from a missing bucket: error = %v, want a bucket error, not ErrNotFound", err)
	}
}
