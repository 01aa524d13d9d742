package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// TestMediaEndToEnd runs campaign media through the real function binaries:
// an image announced to the API, uploaded with the presigned PUT, checked
// by import-worker from the bucket's notification, then sent by a campaign
// through the fake WuzAPI, once per recipient with our message id and the
// file as a presigned URL; then an audio/ogg and a PDF campaign, each
// recipient getting one /chat/send/audio or /chat/send/document whose data
// URL holds the uploaded bytes. Bad input is refused with its code.
func TestMediaEndToEnd(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	cfg := e2eConfig(t, "wm-e2e-media-")
	cfg.ScheduleInterval = 2 * time.Second
	cfg.Parameters["AllowPrivateWuzapi"] = "true"
	p := startPlatform(t, cfg)

	key := createTenant(t, p, "Media e2e", "enterprise")
	instanceID := createFastInstance(t, p, key, fake.URL, 4, false)

	img := e2ePNG(t)
	mediaID := uploadMedia(t, p.APIURL, key, "oferta.png", "image/png", img)
	// Announced but never uploaded: stays pending.
	status, body := call(t, p.APIURL, "POST", "/v1/media", key, `{"fileName":"later.png","contentType":"image/png","size":100}`)
	mustStatus(t, "announce media", status, body, 201)
	pendingID := jsonField(t, body, "data", "mediaId")
	// Declared a PNG, uploaded text: rejected by the check.
	badID := uploadMedia(t, p.APIURL, key, "fake.png", "image/png", []byte("this is not an image at all"))

	waitMedia := func(id, want string) {
		eventually(t, 90*time.Second, "media "+id+" "+want, func(context.Context) (bool, error) {
			status, body := call(t, p.APIURL, "GET", "/v1/media/"+id, key, "")
			if status != 200 {
				return false, fmt.Errorf("GET media: %d %s", status, body)
			}
			return jsonField(t, body, "data", "status") == want, nil
		})
	}
	waitMedia(mediaID, "ready")
	waitMedia(badID, "rejected")

	for _, c := range []struct{ name, body, field, code string }{
		{"type not allowed", `{"fileName":"a.gif","contentType":"image/gif","size":10}`, "contentType", "type_not_allowed"},
		{"too big", `{"fileName":"a.jpg","contentType":"image/jpeg","size":5000001}`, "size", "too_large"},
	} {
		status, body := call(t, p.APIURL, "POST", "/v1/media", key, c.body)
		if status != 400 || !strings.Contains(string(body), `"code":"VALIDATION_FAILED"`) ||
			!strings.Contains(string(body), fmt.Sprintf(`"field":%q,"code":%q`, c.field, c.code)) {
			t.Errorf("%s: POST /v1/media = %d %s; want 400 VALIDATION_FAILED %s/%s", c.name, status, body, c.field, c.code)
		}
	}
	phones := []string{"5511987660001", "5511987660002", "5511987660003"}
	contacts := fmt.Sprintf(`[{"phone":%q,"name":"Ana"},{"phone":%q,"name":"Bia"},{"phone":%q,"name":"Caio"}]`, phones[0], phones[1], phones[2])
	for _, id := range []string{pendingID, badID} {
		status, body := call(t, p.APIURL, "POST", "/v1/campaigns", key, fmt.Sprintf(`{"instanceId":%q,"message":"x",
			"contacts":%s,"media":{"mediaId":%q}}`, instanceID, contacts, id))
		if status != 400 || !strings.Contains(string(body), `"field":"media.mediaId","code":"not_ready"`) {
			t.Errorf("campaign on media %s that is not ready = %d %s; want 400 not_ready", id, status, body)
		}
	}

	status, body = call(t, p.APIURL, "POST", "/v1/campaigns", key, fmt.Sprintf(`{"instanceId":%q,"message":"Oi {{name}}, veja a oferta",
		"contacts":%s,"media":{"mediaId":%q}}`, instanceID, contacts, mediaID))
	mustStatus(t, "create campaign", status, body, 202)
	campaignID := jsonField(t, body, "data", "jobId")
	eventually(t, 90*time.Second, "the media campaign completed", func(context.Context) (bool, error) {
		status, body := call(t, p.APIURL, "GET", "/v1/campaigns/"+campaignID, key, "")
		if status != 200 {
			return false, fmt.Errorf("GET campaign: %d %s", status, body)
		}
		return jsonField(t, body, "data", "state") == "completed", nil
	})

	got := map[string][]wuzapitest.Send{}
	for _, s := range fake.Sends() {
		got[s.Phone] = append(got[s.Phone], s)
	}
	names := map[string]string{phones[0]: "Ana", phones[1]: "Bia", phones[2]: "Caio"}
	for _, ph := range phones {
		ss := got[ph]
		if len(ss) != 1 {
			t.Fatalf("%s got %d sends, want exactly 1: %+v", ph, len(ss), ss)
		}
		s := ss[0]
		if s.Media != "image" || s.ID != campaign.MessageID(campaignID, ph, 0) || s.Body != "Oi "+names[ph]+", veja a oferta" ||
			!strings.Contains(s.File, "media/") || !strings.Contains(s.File, mediaID) || !strings.Contains(s.File, "X-Amz-Signature") {
			t.Fatalf("send to %s = %+v; want an image with our id, the caption and a presigned URL", ph, s)
		}
		// The URL WuzAPI is given serves the checked file.
		resp, err := http.Get(s.File)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(buf.Bytes(), img) {
			t.Fatalf("GET the sent URL = %d, %d bytes; want the uploaded %d bytes", resp.StatusCode, buf.Len(), len(img))
		}
	}
	if len(got) != len(phones) {
		t.Fatalf("%d phones got sends, want %d", len(got), len(phones))
	}

	// Audio and documents go as data URLs read from the bucket (once per
	// worker, pinned to the checked ETag): each recipient gets exactly one
	// send of the uploaded bytes with our id.
	dataURLCampaigns := []struct {
		kind, fileName, contentType, dataPrefix string
		data                                    []byte
		phones                                  []string
	}{
		{"audio", "aviso.ogg", "audio/ogg", "data:audio/ogg;base64,", e2eOgg(), []string{"5511987660011", "5511987660012"}},
		{"document", "tabela.pdf", "application/pdf", "data:application/octet-stream;base64,", e2ePDF(), []string{"5511987660021", "5511987660022"}},
	}
	for _, c := range dataURLCampaigns {
		id := uploadMedia(t, p.APIURL, key, c.fileName, c.contentType, c.data)
		waitMedia(id, "ready")
		list := fmt.Sprintf(`[{"phone":%q,"name":"Ana"},{"phone":%q,"name":"Bia"}]`, c.phones[0], c.phones[1])
		status, body := call(t, p.APIURL, "POST", "/v1/campaigns", key, fmt.Sprintf(`{"instanceId":%q,"message":"Oi {{name}}",
			"contacts":%s,"media":{"mediaId":%q}}`, instanceID, list, id))
		mustStatus(t, "create "+c.kind+" campaign", status, body, 202)
		cid := jsonField(t, body, "data", "jobId")
		eventually(t, 90*time.Second, "the "+c.kind+" campaign completed", func(context.Context) (bool, error) {
			status, body := call(t, p.APIURL, "GET", "/v1/campaigns/"+cid, key, "")
			return status == 200 && jsonField(t, body, "data", "state") == "completed", nil
		})
		want := c.dataPrefix + base64.StdEncoding.EncodeToString(c.data)
		for _, ph := range c.phones {
			var ss []wuzapitest.Send
			for _, s := range fake.Sends() {
				if s.Phone == ph {
					ss = append(ss, s)
				}
			}
			if len(ss) != 1 {
				t.Fatalf("%s: %s got %d sends, want exactly 1: %+v", c.kind, ph, len(ss), ss)
			}
			s := ss[0]
			if s.Media != c.kind || s.ID != campaign.MessageID(cid, ph, 0) || s.File != want || !s.OK() ||
				(c.kind == "document" && (s.FileName != c.fileName || s.MimeType != c.contentType)) {
				t.Fatalf("%s send to %s = %s %s file %.60q (%d chars) name %q type %q; want our id and %.60q (%d chars)",
					c.kind, ph, s.Media, s.ID, s.File, len(s.File), s.FileName, s.MimeType, want, len(want))
			}
		}
	}
}

// e2eOgg is the head of an Ogg stream (what the check sniffs as audio/ogg).
func e2eOgg() []byte {
	head := []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x00\x00\x00\x00")
	return append(head, bytes.Repeat([]byte{0x4f, 0x70, 0x75, 0x73}, 64)...)
}

// e2ePDF is a small PDF.
func e2ePDF() []byte {
	return []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

// uploadMedia announces a file and PUTs it to the presigned URL.
func uploadMedia(t *testing.T, api, key, name, contentType string, data []byte) string {
	t.Helper()
	status, body := call(t, api, "POST", "/v1/media", key, fmt.Sprintf(`{"fileName":%q,"contentType":%q,"size":%d}`, name, contentType, len(data)))
	mustStatus(t, "announce media", status, body, 201)
	var up struct {
		Data struct {
			MediaID, UploadURL, Method string
			Headers                    map[string]string
		}
	}
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), up.Data.Method, up.Data.UploadURL, bytes.NewReader(data))
	for k, v := range up.Data.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT to the presigned URL: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	return up.Data.MediaID
}

func e2ePNG(t *testing.T) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range 16 {
		m.Set(i, i, color.RGBA{G: 180, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
