package local

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dashboardDir writes a small build: index.html, a hashed asset, the
// service worker and the manifest.
func dashboardDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html":           "<!doctype html><title>app</title>",
		"assets/index-AbC1.js": "console.log(1)",
		"sw.js":                "self.skipWaiting()",
		"manifest.webmanifest": `{"name":"x"}`,
		"icons/icon.svg":       "<svg/>",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDashboardBesideAPI(t *testing.T) {
	t.Parallel()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "api")
		w.WriteHeader(http.StatusTeapot)
	})
	h := withDashboard(dashboardDir(t), api)
	const immutable = "public, max-age=31536000, immutable"
	tests := []struct {
		name, method, path   string
		status               int
		fromAPI              bool
		body, cache, typePre string
	}{
		{"root is index.html", "GET", "/", 200, false, "<!doctype html>", "no-cache", "text/html"},
		{"index.html is not redirected", "GET", "/index.html", 200, false, "<!doctype html>", "no-cache", "text/html"},
		{"SPA route falls back", "GET", "/campaigns/0190", 200, false, "<!doctype html>", "no-cache", "text/html"},
		{"hashed asset is immutable", "GET", "/assets/index-AbC1.js", 200, false, "console.log(1)", immutable, "text/javascript"},
		{"missing asset is a real 404", "GET", "/assets/index-Old0.js", 404, false, "404", "no-cache", "text/plain"},
		{"missing file with an extension is a 404", "GET", "/favicon.ico", 404, false, "404", "no-cache", "text/plain"},
		{"service worker is revalidated", "GET", "/sw.js", 200, false, "self.skipWaiting()", "no-cache", "text/javascript"},
		{"manifest MIME", "GET", "/manifest.webmanifest", 200, false, `{"name":"x"}`, "no-cache", "application/manifest+json"},
		{"a directory is the SPA", "GET", "/icons", 200, false, "<!doctype html>", "no-cache", "text/html"},
		{"no way out of the build", "GET", "/../../etc/host.conf", 404, false, "404", "no-cache", "text/plain"},
		{"no way out, extensionless", "GET", "/../../etc/passwd", 200, false, "<!doctype html>", "no-cache", "text/html"},
		{"HEAD", "HEAD", "/", 200, false, "", "no-cache", "text/html"},
		{"writes are not files", "POST", "/campaigns", 405, false, "method not allowed", "", "text/plain"},
		{"API route", "GET", "/v1/me", 418, true, "", "", ""},
		{"API write", "POST", "/v1/campaigns", 418, true, "", "", ""},
		{"unknown API route still reaches the API", "GET", "/v1/nope.json", 418, true, "", "", ""},
		{"health", "GET", "/health", 418, true, "", "", ""},
		{"metrics", "GET", "/metrics", 418, true, "", "", ""},
		{"openapi", "GET", "/openapi.json", 418, true, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("%s %s = %d, want %d (%q)", tc.method, tc.path, rec.Code, tc.status, rec.Body.String())
			}
			if got := rec.Header().Get("X-From") == "api"; got != tc.fromAPI {
				t.Fatalf("%s %s: answered by the API = %v, want %v", tc.method, tc.path, got, tc.fromAPI)
			}
			if tc.fromAPI {
				return
			}
			if !strings.HasPrefix(rec.Body.String(), tc.body) {
				t.Errorf("body = %q, want prefix %q", rec.Body.String(), tc.body)
			}
			if tc.cache != "" && rec.Header().Get("Cache-Control") != tc.cache {
				t.Errorf("Cache-Control = %q, want %q", rec.Header().Get("Cache-Control"), tc.cache)
			}
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.typePre) {
				t.Errorf("Content-Type = %q, want %q…", rec.Header().Get("Content-Type"), tc.typePre)
			}
		})
	}
}

func TestDashboardRevalidates(t *testing.T) {
	t.Parallel()
	h := withDashboard(dashboardDir(t), http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/sw.js", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest("GET", "/sw.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation = %d, want 304", rec.Code)
	}
}

func TestNoDashboard(t *testing.T) {
	t.Parallel()
	api := http.NotFoundHandler()
	rec := httptest.NewRecorder()
	withDashboard("", api).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "doctype") {
		t.Fatalf("without a build / = %d %q, want the API's 404", rec.Code, rec.Body.String())
	}
}
