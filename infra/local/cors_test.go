package local

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBucketCORS(t *testing.T) {
	t.Parallel()
	var reached []string
	h := withBucketCORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = append(reached, r.Method)
		w.WriteHeader(http.StatusOK)
	}))
	do := func(method string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/bucket/imports/a.csv?X-Amz-Signature=x", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	pre := do("OPTIONS", map[string]string{"Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"})
	if pre.Code != 200 || pre.Header().Get("Access-Control-Allow-Origin") != "*" || pre.Header().Get("Access-Control-Allow-Headers") != "content-type" ||
		pre.Header().Get("Access-Control-Allow-Methods") != "PUT, GET" {
		t.Fatalf("preflight = %d %v", pre.Code, pre.Header())
	}
	if len(reached) != 0 {
		t.Fatalf("a preflight reached the emulator: %v", reached)
	}
	if bad := do("OPTIONS", map[string]string{"Origin": "http://x", "Access-Control-Request-Method": "DELETE"}); bad.Code != http.StatusForbidden {
		t.Fatalf("DELETE preflight = %d, want 403 as S3 answers a method outside the rule", bad.Code)
	}
	put := do("PUT", map[string]string{"Origin": "http://127.0.0.1:8080", "Content-Type": "text/csv"})
	if put.Code != 200 || put.Header().Get("Access-Control-Allow-Origin") != "*" || put.Header().Get("Access-Control-Expose-Headers") != "ETag" {
		t.Fatalf("browser PUT = %d %v", put.Code, put.Header())
	}
	sdk := do("PUT", nil)
	if sdk.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("an SDK request (no Origin) got CORS headers: %v", sdk.Header())
	}
	if len(reached) != 2 {
		t.Fatalf("requests reaching the emulator = %v, want the two PUTs", reached)
	}
}
