package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWuzapiHTMLPageNeverShown: an instance whose WuzAPI address answers an
// HTML error page gets a person's reason everywhere the API speaks of
// WuzAPI, never the page.
func TestWuzapiHTMLPageNeverShown(t *testing.T) {
	t.Parallel()
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>nginx</p></body></html>"))
	}))
	t.Cleanup(page.Close)
	b := setupCampaigns(t)
	schemas := newAnswerSchemas(t)
	r := b.do(t, "POST", "/v1/instances", b.key, map[string]any{"name": "wrong", "baseUrl": page.URL, "token": "tok"})
	id := dig(r.Body, "data", "id").(string)

	shows := func(r reply) bool {
		return strings.Contains(r.Raw, "<") || strings.Contains(r.Raw, "nginx") || strings.Contains(r.Raw, "DOCTYPE")
	}
	r = b.do(t, "GET", "/v1/instances/"+id, b.key, nil)
	schemas.check("GET /v1/instances/{id}", r)
	if want := "WuzAPI answered 404 at /session/status: is the address right?"; r.Status != 200 || dig(r.Body, "data", "sessionError") != want || shows(r) {
		t.Fatalf("GET instance = %d %s, want sessionError %q", r.Status, r.Raw, want)
	}
	if want := "WuzAPI answered 404 at /session/status: is the address right?"; dig(r.Body, "data", "health", "state") != "disconnected" ||
		dig(r.Body, "data", "health", "reason") != want {
		t.Fatalf("GET instance health = %s, want disconnected with %q", r.Raw, want)
	}
	r = b.do(t, "POST", "/v1/instances/"+id+"/connect", b.key, nil)
	if r.Status < 400 || dig(r.Body, "error") != "WuzAPI answered 404 at /session/connect: is the address right?" || shows(r) {
		t.Fatalf("connect = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "GET", "/v1/instances/"+id+"/qr", b.key, nil)
	if r.Status < 400 || !strings.Contains(r.Raw, "WuzAPI answered 404 at /session/status") || shows(r) {
		t.Fatalf("qr = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "POST", "/v1/instances", b.key, map[string]any{"name": "hooked", "baseUrl": page.URL, "token": "tok", "configureWebhook": true})
	details, _ := dig(r.Body, "details").([]any)
	if r.Status != 400 || len(details) != 1 || dig(details[0], "code") != "webhook_failed" || shows(r) ||
		!strings.Contains(dig(details[0], "message").(string), "WuzAPI answered 404 at /webhook: is the address right?") {
		t.Fatalf("configureWebhook on an HTML page = %d %s", r.Status, r.Raw)
	}
}
