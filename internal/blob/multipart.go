// Package blob is the S3 side of the functions: streaming uploads of
// unknown length and presigned download links.
package blob

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Multipart streams bodies of unknown length into S3 objects of Bucket as
// multipart uploads: memory is PartSize × (Concurrency+1) whatever the
// object's size, and a failed upload is aborted (no orphan parts).
type Multipart struct {
	Client *s3.Client
	Bucket string
	// PartSize is the size of each part, at least (and by default) 5 MiB.
	PartSize int64
	// Concurrency is how many parts upload at once; 2 by default.
	Concurrency int
}

// Upload reads body until EOF into the object key, replacing any object
// there. A body shorter than one part is stored with one PutObject.
func (m Multipart) Upload(ctx context.Context, key, contentType string, body io.Reader) error {
	up := manager.NewUploader(m.Client, func(u *manager.Uploader) {
		u.PartSize = max(m.PartSize, manager.MinUploadPartSize)
		u.Concurrency = m.Concurrency
		if u.Concurrency <= 0 {
			u.Concurrency = 2
		}
	})
	_, err := up.Upload(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(m.Bucket),
		Key:         aws.String(key),
		Body:        body,
		ContentType: aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", m.Bucket, key, err)
	}
	return nil
}

// Links presigns short-lived GETs of Bucket's objects.
type Links struct {
	Presign *s3.PresignClient
	Bucket  string
}

// NewLinks returns Links on client's configuration.
func NewLinks(client *s3.Client, bucket string) Links {
	return Links{Presign: s3.NewPresignClient(client), Bucket: bucket}
}

// DownloadURL returns a GET URL of key valid for ttl, which downloads as
// fileName, and when it expires.
func (l Links) DownloadURL(ctx context.Context, key, fileName string, ttl time.Duration) (string, time.Time, error) {
	expires := time.Now().Add(ttl).UTC().Truncate(time.Second)
	req, err := l.Presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     aws.String(l.Bucket),
		Key:                        aws.String(key),
		ResponseContentDisposition: aws.String(`attachment; filename="` + url.PathEscape(fileName) + `"`),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("presign GET s3://%s/%s: %w", l.Bucket, key, err)
	}
	return req.URL, expires, nil
}
