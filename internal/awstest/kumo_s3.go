package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Bucket is an S3 client on the process's kumo with one fresh bucket.
type S3Bucket struct {
	Client   *s3.Client
	Bucket   string
	Endpoint string
}

// NewS3Bucket creates a bucket with a unique name on the process's kumo
// and an S3 client for it.
func NewS3Bucket(t testing.TB) S3Bucket {
	t.Helper()
	url := Emulator()
	client := s3.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(url)
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	bucket := Name("test")
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("awstest: create bucket %s: %v", bucket, err)
	}
	return S3Bucket{Client: client, Bucket: bucket, Endpoint: url}
}
