package local

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// The dashboard (web/dist) is served beside the API as
// CloudFront serves the S3 bucket on AWS: the API's paths go to the gateway,
// everything else is a file of the build.
//
//   - /v1/*, /health, /metrics and /openapi.json always reach the API.
//   - A path without an extension that is no file is the single-page app's
//     route: index.html answers (SPA fallback). A missing path with an
//     extension is a real 404, so a stale hashed asset never gets HTML.
//   - /assets/* (content-hashed names) are immutable for a year; everything
//     else, sw.js and index.html included, is no-cache (revalidated by ETag),
//     so a new build is picked up on the next load.
//   - index.html is served with http.ServeContent (http.FileServer would
//     redirect /index.html to /).

func init() {
	// Go's table has no entry for the web app manifest on every system.
	_ = mime.AddExtensionType(".webmanifest", "application/manifest+json")
}

// apiPath reports whether the gateway, not the dashboard, answers path.
func apiPath(p string) bool {
	return strings.HasPrefix(p, "/v1/") || p == "/v1" || p == "/health" || p == "/metrics" || p == "/openapi.json"
}

// withDashboard serves the build in dir beside api; an empty dir serves the
// API alone.
func withDashboard(dir string, api http.Handler) http.Handler {
	if dir == "" {
		return api
	}
	files := os.DirFS(dir)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		serveDashboard(files, w, r)
	})
}

func serveDashboard(files fs.FS, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	body, mod, err := readFile(files, name)
	if errors.Is(err, fs.ErrNotExist) && path.Ext(name) == "" {
		name = "index.html"
		body, mod, err = readFile(files, name)
	}
	if err != nil {
		w.Header().Set("Cache-Control", "no-cache")
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		http.Error(w, "cannot read the dashboard build", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if strings.HasPrefix(name, "assets/") {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	sum := sha256.Sum256(body)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	http.ServeContent(w, r, name, mod, bytes.NewReader(body))
}

// readFile reads a regular file of the build (a directory is not one).
func readFile(files fs.FS, name string) ([]byte, time.Time, error) {
	st, err := fs.Stat(files, name)
	if err != nil {
		return nil, time.Time{}, err
	}
	if st.IsDir() {
		return nil, time.Time{}, fs.ErrNotExist
	}
	b, err := fs.ReadFile(files, name)
	return b, st.ModTime(), err
}
