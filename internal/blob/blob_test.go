package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
)

func setup(t *testing.T) (*blob.Store, *awstest.Env) {
	t.Helper()
	env := awstest.New(t)
	return blob.New(env.S3, env.Bucket(t)), env
}

func TestPresignedPutThenOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	p, err := s.PresignPut(ctx, "imports/t/a b+c.csv", "text/csv", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if p.Method != http.MethodPut || p.Headers["Content-Type"] != "text/csv" || p.ExpiresAt.Before(time.Now().Add(4*time.Minute)) {
		t.Fatalf("presigned = %+v", p)
	}
	if _, ok := p.Headers["Host"]; ok {
		t.Fatalf("Host is not for the client to send: %+v", p.Headers)
	}
	req, _ := http.NewRequestWithContext(ctx, p.Method, p.URL, strings.NewReader("phone\n1\n"))
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT = %v, %v", resp, err)
	}
	_ = resp.Body.Close()

	obj, err := s.Open(ctx, "imports/t/a b+c.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	if string(body) != "phone\n1\n" || obj.Size != 8 || obj.ETag == "" {
		t.Fatalf("object = %q size %d etag %q", body, obj.Size, obj.ETag)
	}

	// The same ETag opens; a replaced object is ErrObjectChanged.
	again, err := s.Open(ctx, "imports/t/a b+c.csv", obj.ETag)
	if err != nil {
		t.Fatalf("open with its own etag: %v", err)
	}
	_ = again.Body.Close()
	if err := s.Put(ctx, "imports/t/a b+c.csv", "text/csv", []byte("phone\n2\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "imports/t/a b+c.csv", obj.ETag); !errors.Is(err, importer.ErrObjectChanged) {
		t.Fatalf("open of a replaced object: %v, want ErrObjectChanged", err)
	}
	if _, err := s.Open(ctx, "imports/t/missing.csv", ""); !errors.Is(err, importer.ErrObjectNotFound) {
		t.Fatalf("open of a missing object: %v, want ErrObjectNotFound", err)
	}
}

func TestUploadInPartsAndPresignedGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), (blob.PartSize+blob.PartSize/2)/16) // 1.5 parts
	// An io.Reader of unknown length, as the rejected rows' pipe is.
	if err := s.Upload(ctx, "rejects/t/x.csv", "text/csv", io.MultiReader(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	p, err := s.PresignGet(ctx, "rejects/t/x.csv", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("GET = %d, %d bytes; want 200, %d bytes", resp.StatusCode, len(got), len(data))
	}
	if err := s.Delete(ctx, "rejects/t/x.csv"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "rejects/t/x.csv", ""); !errors.Is(err, importer.ErrObjectNotFound) {
		t.Fatalf("deleted object: %v", err)
	}
}
