package httpapi_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// pngBytes is a small real PNG.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type mediaBundle struct {
	campaignBundle
	checker  *media.Checker
	tenantID string
	db       *postgres.DB
	store    *blob.Store
}

func setupMedia(t *testing.T) mediaBundle {
	t.Helper()
	env := awstest.New(t)
	store := blob.New(env.S3, env.Bucket(t))
	var db *postgres.DB
	b := setupCampaigns(t, func(o *httpapi.Options) { o.Uploads = store; db = o.DB })
	me := b.do(t, "GET", "/v1/me", b.key, nil)
	return mediaBundle{campaignBundle: b, tenantID: dig(me.Body, "data", "tenant", "id").(string), db: db, store: store,
		checker: &media.Checker{Store: db, Objects: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
}

// upload announces a file, PUTs body and runs the check as the import
// worker would on the notification; it returns the media as GET shows it.
func (b mediaBundle) upload(t *testing.T, name, contentType string, size int, body []byte) map[string]any {
	t.Helper()
	r := b.do(t, "POST", "/v1/media", b.key, map[string]any{"fileName": name, "contentType": contentType, "size": size})
	if r.Status != 201 {
		t.Fatalf("POST /v1/media = %d %s", r.Status, r.Raw)
	}
	data := dig(r.Body, "data")
	id := dig(data, "mediaId").(string)
	put(t, data, string(body))
	if err := b.checker.Run(context.Background(), media.ObjectKey(b.tenantID, id)); err != nil {
		t.Fatal(err)
	}
	got := b.do(t, "GET", "/v1/media/"+id, b.key, nil)
	if got.Status != 200 {
		t.Fatalf("GET /v1/media/%s = %d %s", id, got.Status, got.Raw)
	}
	return dig(got.Body, "data").(map[string]any)
}

func TestMediaUploadAndCheck(t *testing.T) {
	t.Parallel()
	b := setupMedia(t)
	img := pngBytes(t)

	r := b.do(t, "POST", "/v1/media", b.key, map[string]any{"fileName": "a.png", "contentType": "image/png", "size": len(img)})
	data := dig(r.Body, "data")
	if r.Status != 201 || dig(data, "method") != "PUT" || dig(data, "headers", "Content-Type") != "image/png" ||
		dig(data, "maxBytes") != float64(media.MaxImageBytes) || !strings.Contains(dig(data, "uploadUrl").(string), "media/"+b.tenantID+"/") {
		t.Fatalf("POST /v1/media = %d %s", r.Status, r.Raw)
	}
	id := dig(data, "mediaId").(string)
	if g := b.do(t, "GET", "/v1/media/"+id, b.key, nil); dig(g.Body, "data", "status") != "pending" || dig(g.Body, "data", "url") != nil {
		t.Fatalf("announced media = %s, want pending without url", g.Raw)
	}

	cases := []struct {
		name, contentType string
		size              int
		body              []byte
		status, errorHas  string
	}{
		{"png", "image/png", len(img), img, "ready", ""},
		{"declared jpeg, png inside", "image/jpeg", len(img), img, "rejected", "image/png, not image/jpeg"},
		{"size differs", "image/png", len(img) + 1, img, "rejected", "not the"},
		{"text as pdf", "application/pdf", 11, []byte("hello world"), "rejected", "text/plain"},
		{"pdf", "application/pdf", 18, []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0"), "ready", ""},
		{"mp3 with id3", "audio/mpeg", 10, []byte("ID3\x03\x00\x00\x00\x00\x00\x00"), "ready", ""},
		{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 8, []byte("PK\x03\x04\x14\x00\x06\x00"), "ready", ""},
	}
	for _, c := range cases {
		got := b.upload(t, "f", c.contentType, c.size, c.body)
		errText, _ := got["error"].(string)
		if got["status"] != c.status || !strings.Contains(errText, c.errorHas) {
			t.Errorf("%s: status %v error %q; want %s with %q", c.name, got["status"], errText, c.status, c.errorHas)
		}
		if (c.status == "ready") != (got["url"] != nil) {
			t.Errorf("%s: url %v with status %v", c.name, got["url"], got["status"])
		}
	}

	// A ready media whose file is uploaded again is rejected when the
	// second upload's notification comes.
	r = b.do(t, "POST", "/v1/media", b.key, map[string]any{"fileName": "b.png", "contentType": "image/png", "size": len(img)})
	again := dig(r.Body, "data")
	aid := dig(again, "mediaId").(string)
	put(t, again, string(img))
	if err := b.checker.Run(context.Background(), media.ObjectKey(b.tenantID, aid)); err != nil {
		t.Fatal(err)
	}
	put(t, again, string(img[:len(img)-1])+"x")
	if err := b.checker.Run(context.Background(), media.ObjectKey(b.tenantID, aid)); err != nil {
		t.Fatal(err)
	}
	if g := b.do(t, "GET", "/v1/media/"+aid, b.key, nil); dig(g.Body, "data", "status") != "rejected" ||
		dig(g.Body, "data", "error") != media.ReplacedReason {
		t.Fatalf("replaced media = %s, want rejected: %s", g.Raw, media.ReplacedReason)
	}

	_, otherKey := b.newTenant(t, map[string]any{"name": "Other"})
	if g := b.do(t, "GET", "/v1/media/"+id, otherKey, nil); g.Status != 404 || dig(g.Body, "code") != "NOT_FOUND" {
		t.Fatalf("another tenant's media = %d %s, want 404 NOT_FOUND", g.Status, g.Raw)
	}
	if l := b.do(t, "GET", "/v1/media?limit=3", b.key, nil); l.Status != 200 || len(dig(l.Body, "data", "items").([]any)) != 3 ||
		dig(l.Body, "data", "nextCursor") == nil {
		t.Fatalf("GET /v1/media?limit=3 = %d %s", l.Status, l.Raw)
	}
}

func TestMediaBadInput(t *testing.T) {
	t.Parallel()
	b := setupMedia(t)
	cases := []struct {
		name        string
		body        any
		field, code string
	}{
		{"type not allowed", map[string]any{"fileName": "x.exe", "contentType": "application/x-msdownload", "size": 10}, "contentType", "type_not_allowed"},
		{"gif not allowed", map[string]any{"fileName": "x.gif", "contentType": "image/gif", "size": 10}, "contentType", "type_not_allowed"},
		{"image too big", map[string]any{"fileName": "x.jpg", "contentType": "image/jpeg", "size": media.MaxImageBytes + 1}, "size", "too_large"},
		{"video too big", map[string]any{"fileName": "x.mp4", "contentType": "video/mp4", "size": media.MaxVideoBytes + 1}, "size", "too_large"},
		{"document too big", map[string]any{"fileName": "x.pdf", "contentType": "application/pdf", "size": media.MaxDocumentBytes + 1}, "size", "too_large"},
		{"no size", map[string]any{"fileName": "x.pdf", "contentType": "application/pdf"}, "size", "required"},
		{"zero size", map[string]any{"fileName": "x.pdf", "contentType": "application/pdf", "size": 0}, "size", "out_of_range"},
		{"no file name", map[string]any{"contentType": "application/pdf", "size": 5}, "fileName", "required"},
	}
	for _, c := range cases {
		r := b.do(t, "POST", "/v1/media", b.key, c.body)
		if r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" || !hasDetail(r.Body, c.field, c.code) {
			t.Errorf("%s: POST /v1/media = %d %s; want 400 VALIDATION_FAILED %s/%s", c.name, r.Status, r.Raw, c.field, c.code)
		}
	}
	if l := b.do(t, "GET", "/v1/media", b.key, nil); len(dig(l.Body, "data", "items").([]any)) != 0 {
		t.Fatalf("refused announcements stored media: %s", l.Raw)
	}
}

func hasDetail(body map[string]any, field, code string) bool {
	ds, _ := body["details"].([]any)
	for _, d := range ds {
		if dig(d, "field") == field && dig(d, "code") == code {
			return true
		}
	}
	return false
}

func TestCampaignWithMedia(t *testing.T) {
	t.Parallel()
	b := setupMedia(t)
	inst := b.newInstance(t, nil)["id"].(string)
	img := pngBytes(t)
	ready := b.upload(t, "oferta.png", "image/png", len(img), img)["id"].(string)
	rejected := b.upload(t, "x.png", "image/png", len(img)+5, img)["id"].(string)
	pending := dig(b.do(t, "POST", "/v1/media", b.key, map[string]any{"fileName": "p.png", "contentType": "image/png", "size": 10}).Body, "data", "mediaId").(string)
	_, otherKey := b.newTenant(t, map[string]any{"name": "Other"})
	foreign := dig(b.do(t, "POST", "/v1/media", otherKey, map[string]any{"fileName": "o.png", "contentType": "image/png", "size": 10}).Body, "data", "mediaId").(string)

	bad := []struct {
		name, mediaID, code string
	}{
		{"pending", pending, "not_ready"},
		{"rejected", rejected, "not_ready"},
		{"another tenant's", foreign, "not_found"},
		{"unknown", "00000000-0000-0000-0000-000000000000", "not_found"},
		{"not a uuid", "nope", "not_found"},
		{"empty", "", "required"},
	}
	for _, c := range bad {
		r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "Oi {{name}}",
			"contacts": []string{"11999990001"}, "media": map[string]any{"mediaId": c.mediaID}})
		if r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" || !hasDetail(r.Body, "media.mediaId", c.code) {
			t.Errorf("%s media: POST /v1/campaigns = %d %s; want 400 VALIDATION_FAILED media.mediaId/%s", c.name, r.Status, r.Raw, c.code)
		}
	}
	// A campaign scheduled past the lifecycle rule's deletion less 7 days is refused.
	late := b.now.AddDate(0, 0, 84).Format("2006-01-02T15:04:05Z")
	r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "x", "scheduledAt": late,
		"contacts": []string{"11999990001"}, "media": map[string]any{"mediaId": ready}})
	if r.Status != 400 || !hasDetail(r.Body, "media.mediaId", "expires_too_soon") {
		t.Errorf("campaign 84 days ahead on a 90-day media = %d %s; want expires_too_soon", r.Status, r.Raw)
	}
	if l := b.do(t, "GET", "/v1/campaigns", b.key, nil); len(dig(l.Body, "data", "items").([]any)) != 0 {
		t.Fatalf("refused campaigns were stored: %s", l.Raw)
	}

	// A blank message is allowed with media: it is the caption.
	r = b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "",
		"contacts": []string{"11999990001"}, "media": map[string]any{"mediaId": ready}})
	if r.Status != 202 {
		t.Fatalf("campaign with ready media = %d %s", r.Status, r.Raw)
	}
	c := b.do(t, "GET", "/v1/campaigns/"+dig(r.Body, "data", "jobId").(string), b.key, nil)
	if dig(c.Body, "data", "media", "mediaId") != ready || dig(c.Body, "data", "media", "kind") != "image" ||
		dig(c.Body, "data", "media", "fileName") != "oferta.png" {
		t.Fatalf("campaign with media = %s", c.Raw)
	}
	if r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": " ",
		"contacts": []string{"11999990001"}}); r.Status != 400 || !hasDetail(r.Body, "message", "required") {
		t.Fatalf("blank message without media = %d %s", r.Status, r.Raw)
	}
}
