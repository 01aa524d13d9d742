package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
)

// pattern is a reader of n deterministic bytes that are not all alike.
func pattern(n int) io.Reader {
	return io.LimitReader(&counter{}, int64(n))
}

type counter struct{ i byte }

func (c *counter) Read(p []byte) (int, error) {
	for k := range p {
		p[k] = 'a' + c.i%26
		c.i++
	}
	return len(p), nil
}

func TestMultipartUploadAndDownloadLink(t *testing.T) {
	t.Parallel()
	env := awstest.NewS3Bucket(t)
	ctx := context.Background()
	m := blob.Multipart{Client: env.Client, Bucket: env.Bucket}
	for _, n := range []int{0, 100, 12<<20 + 7} { // empty, one part, three parts
		key := fmt.Sprintf("reports/t/%d.csv", n)
		if err := m.Upload(ctx, key, "text/csv; charset=utf-8", pattern(n)); err != nil {
			t.Fatalf("upload %d bytes: %v", n, err)
		}
		out, err := env.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(env.Bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		_ = out.Body.Close()
		want, _ := io.ReadAll(pattern(n))
		if sha256.Sum256(got) != sha256.Sum256(want) {
			t.Fatalf("object of %d bytes reads back as %d different bytes", n, len(got))
		}
	}

	links := blob.NewLinks(env.Client, env.Bucket)
	u, exp, err := links.DownloadURL(ctx, "reports/t/100.csv", "report.csv", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 4*time.Minute || d > 5*time.Minute {
		t.Fatalf("expiresAt in %v, want about 5 minutes", d)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want, _ := io.ReadAll(pattern(100))
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf("GET presigned = %d, %d bytes", resp.StatusCode, len(body))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "report.csv") {
		t.Errorf("Content-Disposition = %q, want the file name", cd)
	}
}

func TestMultipartUploadFailureLeavesNoObject(t *testing.T) {
	t.Parallel()
	env := awstest.NewS3Bucket(t)
	ctx := context.Background()
	m := blob.Multipart{Client: env.Client, Bucket: env.Bucket}
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.Copy(pw, pattern(6<<20))
		pw.CloseWithError(errors.New("rows failed"))
	}()
	if err := m.Upload(ctx, "broken.csv", "text/csv", pr); err == nil {
		t.Fatal("upload of a failing body succeeded")
	}
	if _, err := env.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(env.Bucket), Key: aws.String("broken.csv")}); err == nil {
		t.Fatal("an object exists after a failed upload")
	}
	ups, err := env.Client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(env.Bucket)})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("multipart uploads left: %v (%v)", ups.Uploads, err)
	}
}
