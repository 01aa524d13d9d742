package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestVaryAuthorization: every JSON answer, success or error, tells caches
// that it depends on the Authorization header, so the dashboard's service
// worker never serves one key's cached data to another.
func TestVaryAuthorization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, key := b.newTenant(t, map[string]any{"name": "Vary"})
	tests := []struct {
		name, method, path, key string
		status                  int
	}{
		{"tenant read", "GET", "/v1/me", key, http.StatusOK},
		{"unauthorized", "GET", "/v1/me", "wrong", http.StatusUnauthorized},
		{"unknown route", "GET", "/v1/nope", key, http.StatusNotFound},
		{"health", "GET", "/health", "", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.do(t, tc.method, tc.path, tc.key, nil)
			if r.Status != tc.status {
				t.Fatalf("%s %s = %d %s", tc.method, tc.path, r.Status, r.Raw)
			}
			if !slices.Contains(r.Header.Values("Vary"), "Authorization") {
				t.Fatalf("%s %s: Vary = %q, want Authorization among them", tc.method, tc.path, r.Header.Values("Vary"))
			}
		})
	}
}
