package local

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRateLimitEndToEnd drives the API rate limit through the local
// gateway and the real api binary: a free tenant's 101st request within a
// minute is refused with the RateLimit headers and the RATE_LIMITED body, and after the
// admin moves the tenant to pro its next request passes.
func TestRateLimitEndToEnd(t *testing.T) {
	t.Parallel()
	cfg := e2eConfig(t, "wm-rl-")
	cfg.VisibilityTimeout = 0 // the template's own: no queue work here
	p := startPlatform(t, cfg)

	status, body, _ := callHeaders(t, p.APIURL, http.MethodPost, "/v1/tenants", e2eAdminKey, `{"name":"Limited"}`)
	var created struct {
		Data struct{ ID, APIKey string } `json:"data"`
	}
	if err := json.Unmarshal(body, &created); status != http.StatusCreated || err != nil || created.Data.APIKey == "" {
		t.Fatalf("POST /v1/tenants = %d %s", status, body)
	}
	key := created.Data.APIKey

	start := time.Now()
	passed := 0
	var refused http.Header
	var refusedBody []byte
	for passed <= 150 {
		status, body, h := callHeaders(t, p.APIURL, http.MethodGet, "/v1/me", key, "")
		if status == http.StatusTooManyRequests {
			refused, refusedBody = h, body
			break
		}
		if status != http.StatusOK || h.Get("RateLimit-Limit") != "100" {
			t.Fatalf("request %d: %d %v %s", passed+1, status, h, body)
		}
		passed++
	}
	// GCRA refills one request per 600 ms at 100/min: a slow run may see a
	// few more pass, never fewer.
	if refill := int(time.Since(start)/(600*time.Millisecond)) + 1; passed < 100 || passed > 100+refill {
		t.Fatalf("%d requests passed in %v before the 429, want 100 (+%d refill)", passed, time.Since(start), refill)
	}
	for name, want := range map[string]string{
		"RateLimit-Limit": "100", "RateLimit-Remaining": "0", "RateLimit-Reset": "60", "Retry-After": "1",
	} {
		if got := refused.Get(name); got != want {
			t.Errorf("429 %s = %q, want %q", name, got, want)
		}
	}
	const wantBody = `{"success":false,"error":"Too many requests","code":"RATE_LIMIT_EXCEEDED","retryAfter":1}`
	if strings.TrimSpace(string(refusedBody)) != wantBody {
		t.Errorf("429 body = %s, want %s", refusedBody, wantBody)
	}

	status, body, _ = callHeaders(t, p.APIURL, http.MethodPatch, "/v1/tenants/"+created.Data.ID, e2eAdminKey, `{"plan":"pro"}`)
	if status != http.StatusOK {
		t.Fatalf("PATCH plan = %d %s", status, body)
	}
	status, body, h := callHeaders(t, p.APIURL, http.MethodGet, "/v1/me", key, "")
	if status != http.StatusOK || h.Get("RateLimit-Limit") != "500" || !strings.Contains(string(body), `"plan":"pro"`) {
		t.Fatalf("GET /v1/me after the plan change = %d %v %s, want 200 under pro's 500/min", status, h, body)
	}
}
