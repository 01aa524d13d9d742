// Package awstest runs the AWS emulator (kumo) in-process for tests and
// points real SDK clients at it. Imported only by tests.
//
// kumo keeps its services in package state, so two servers in one process
// share (and race on) them: one server serves the whole test binary, and
// each test gets resources with unique names instead.
package awstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/sivchari/kumo"
)

// S3Bucket is an S3 client on an in-process emulator with one fresh bucket.
type S3Bucket struct {
	Client   *s3.Client
	Bucket   string
	Endpoint string
}

var (
	shared     *kumo.Server
	sharedOnce sync.Once
)

// Emulator returns the URL of the process's kumo server, started on first use.
func Emulator() string {
	sharedOnce.Do(func() { shared = kumo.NewServer() })
	return shared.URL
}

// NewS3Bucket creates a bucket with a unique name on the process's kumo
// server and an S3 client for it.
func NewS3Bucket(t testing.TB) S3Bucket {
	t.Helper()
	url := Emulator()
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(url)
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	bucket := "test-" + hex.EncodeToString(b)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("awstest: create bucket %s: %v", bucket, err)
	}
	return S3Bucket{Client: client, Bucket: bucket, Endpoint: url}
}
