package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
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
	p, err := s.PresignPut(ctx, "imports/t/a b+c.csv", "text/csv", 0, 5*time.Minute)
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

// A sized presigned PUT signs its Content-Length: the URL names
// content-length among its signed headers and its signature changes with
// the length, so S3 recomputes a different signature for a body of any
// other length and refuses it (403 SignatureDoesNotMatch). kumo checks a
// presigned URL's expiry but not its signature: it stores a body of the
// wrong length, which the media check then rejects (the file is N bytes,
// not the M declared).
func TestPresignedPutSignsContentLength(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	var p10, p11 blob.Presigned
	for range 3 { // both in the same second, so only the length differs
		var err error
		if p10, err = s.PresignPut(ctx, "media/t/m", "image/png", 10, 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		if p11, err = s.PresignPut(ctx, "media/t/m", "image/png", 11, 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		if query(t, p10.URL, "X-Amz-Date") == query(t, p11.URL, "X-Amz-Date") {
			break
		}
	}
	if signed := query(t, p10.URL, "X-Amz-SignedHeaders"); !strings.Contains(signed, "content-length") {
		t.Fatalf("signed headers %q lack content-length", signed)
	}
	if query(t, p10.URL, "X-Amz-Signature") == query(t, p11.URL, "X-Amz-Signature") {
		t.Fatal("the signature does not depend on the declared length")
	}
	if _, ok := p10.Headers["Content-Length"]; ok || p10.Headers["Content-Type"] != "image/png" {
		t.Fatalf("headers for the client = %v; want Content-Type only (the body sets its own length)", p10.Headers)
	}
	unsized, err := s.PresignPut(ctx, "imports/t/a.csv", "text/csv", 0, time.Minute)
	if err != nil || strings.Contains(query(t, unsized.URL, "X-Amz-SignedHeaders"), "content-length") {
		t.Fatalf("an unsized PUT signs %q (%v); want no content-length", query(t, unsized.URL, "X-Amz-SignedHeaders"), err)
	}

	// kumo, unlike S3, takes both lengths.
	for _, body := range []string{"0123456789", "0123456789+"} {
		req, _ := http.NewRequestWithContext(ctx, p10.Method, p10.URL, strings.NewReader(body))
		for k, v := range p10.Headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("kumo answered %d to a %d-byte PUT: it now checks signatures; docs/media.md says it does not", resp.StatusCode, len(body))
		}
	}
}

func query(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(name)
}
