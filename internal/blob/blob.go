// Package blob is the S3 side of the functions: blob.Store streams reads,
// streaming (multipart) and small writes, and presigns URLs for clients, on
// one bucket.
//
// Limits: a presigned PUT bounds the size of what a client uploads only
// when the size is known beforehand (PresignPut signs it as Content-Length;
// media declare theirs, CSV imports do not), and emulators may not check
// signatures, so readers of uploads check the object's size before reading
// (see importer and media). Uploads
// of unknown length go in 5 MiB parts, so memory stays at about 10 MiB per
// upload whatever the object's size.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
)

// PartSize is the part size of multipart uploads (the S3 minimum).
const PartSize = 5 << 20

// Store reads and writes one bucket.
type Store struct {
	client   *s3.Client
	presign  *s3.PresignClient
	uploader *manager.Uploader
	bucket   string
	now      func() time.Time
}

// New returns a Store on bucket.
func New(client *s3.Client, bucket string) *Store {
	return &Store{
		client:  client,
		presign: s3.NewPresignClient(client),
		uploader: manager.NewUploader(client, func(u *manager.Uploader) {
			u.PartSize = PartSize
			u.Concurrency = 2
		}),
		bucket: bucket,
		now:    time.Now,
	}
}

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

var _ importer.Objects = (*Store)(nil)

// Open streams the object at key (implements importer.Objects). With ifMatch
// set, an object whose ETag is no longer ifMatch is importer.ErrObjectChanged;
// a missing key is importer.ErrObjectNotFound. The caller closes Body.
func (s *Store) Open(ctx context.Context, key, ifMatch string) (importer.Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if ifMatch != "" {
		in.IfMatch = aws.String(ifMatch)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		var nsk *types.NoSuchKey
		var api smithy.APIError
		switch {
		case errors.As(err, &nsk):
			return importer.Object{}, fmt.Errorf("get %s: %w", key, importer.ErrObjectNotFound)
		case errors.As(err, &api) && api.ErrorCode() == "NotFound":
			return importer.Object{}, fmt.Errorf("get %s: %w", key, importer.ErrObjectNotFound)
		case errors.As(err, &api) && api.ErrorCode() == "PreconditionFailed":
			return importer.Object{}, fmt.Errorf("get %s: %w", key, importer.ErrObjectChanged)
		}
		return importer.Object{}, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	return importer.Object{Body: out.Body, Size: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag)}, nil
}

// Upload stores the stream r at key in parts (implements importer.Objects).
func (s *Store) Upload(ctx context.Context, key, contentType string, r io.Reader) error {
	_, err := s.uploader.Upload(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: r, ContentType: aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Put stores a small object in one request.
func (s *Store) Put(ctx context.Context, key, contentType string, body []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: strings.NewReader(string(body)),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Delete removes the object at key; a missing key is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Presigned is a request a client may make without credentials until
// ExpiresAt, sending exactly Headers.
type Presigned struct {
	URL       string
	Method    string
	Headers   map[string]string
	ExpiresAt time.Time
}

// PresignPut returns a PUT of key with Content-Type contentType, valid for
// ttl. With size > 0 the Content-Length is signed too: S3 refuses (403
// SignatureDoesNotMatch) a body of any other length, so an upload larger
// than declared never lands. A client sends the length of its body
// anyway (browsers refuse to set Content-Length themselves), so the
// returned Headers leave it out. size 0 leaves the length unbounded.
func (s *Store) PresignPut(ctx context.Context, key, contentType string, size int64, ttl time.Duration) (Presigned, error) {
	at := s.now()
	in := &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), ContentType: aws.String(contentType)}
	if size > 0 {
		in.ContentLength = aws.Int64(size)
	}
	req, err := s.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return Presigned{}, fmt.Errorf("presign put of %s: %w", key, err)
	}
	return presigned(req.URL, req.Method, req.SignedHeader, at.Add(ttl)), nil
}

// PresignGet returns a GET of key valid for ttl.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (Presigned, error) {
	at := s.now()
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return Presigned{}, fmt.Errorf("presign get of %s: %w", key, err)
	}
	return presigned(req.URL, req.Method, req.SignedHeader, at.Add(ttl)), nil
}

// presigned keeps the headers a client must set; Host is the URL's and
// Content-Length the body's own.
func presigned(url, method string, signed http.Header, expires time.Time) Presigned {
	h := map[string]string{}
	for k, v := range signed {
		if strings.EqualFold(k, "Host") || strings.EqualFold(k, "Content-Length") || len(v) == 0 {
			continue
		}
		h[http.CanonicalHeaderKey(k)] = v[0]
	}
	return Presigned{URL: url, Method: method, Headers: h, ExpiresAt: expires.UTC().Truncate(time.Second)}
}
