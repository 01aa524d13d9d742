package local

import (
	"bytes"
	"context"
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
// file as a presigned URL. Bad input is refused with its code.
func TestMediaEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	cfg := e2eConfig(t, "wm-e2e-media-")
	cfg.ScheduleInterval = 2 * time.Second
	cfg.Parameters["AllowPrivateWuzapi"] = "true"
	p, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })

	status, body := call(t, p.APIURL, "POST", "/v1/tenants", e2eAdminKey, `{"name":"Media e2e","plan":"enterprise"}`)
	mustStatus(t, "create tenant", status, body, 201)
	key := jsonField(t, body, "data", "apiKey")
	status, body = call(t, p.APIURL, "POST", "/v1/instances", key, fmt.Sprintf(`{"name":"wa","baseUrl":%q,"token":"tok",
		"messagesPerMinute":1000,"minDelayMs":0,"maxDelayMs":0,"hourlyCap":1000,"dailyCap":1000,
		"warmupDays":0,"maxInFlight":4,"newContactsPerDay":500,"newContactsPerHour":200,"identicalPerHour":1000,
		"typing":false,"checkNumbers":false}`, fake.URL))
	mustStatus(t, "create instance", status, body, 201)
	instanceID := jsonField(t, body, "data", "id")

	img := e2ePNG(t)
	mediaID := uploadMedia(t, p.APIURL, key, "oferta.png", "image/png", img)
	// Announced but never uploaded: stays pending.
	status, body = call(t, p.APIURL, "POST", "/v1/media", key, `{"fileName":"later.png","contentType":"image/png","size":100}`)
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
