package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
)

const adminKey = "test-admin-key"

type bundle struct {
	srv *httpapi.Server
}

func setup(t *testing.T, mutate ...func(*httpapi.Options)) bundle {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	opts := httpapi.Options{
		DB:            pgtest.NewDB(t),
		Redis:         rdb,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		AdminAPIKey:   adminKey,
		PublicBaseURL: "http://api.test",
	}
	for _, m := range mutate {
		m(&opts)
	}
	return bundle{srv: httpapi.New(opts)}
}

type reply struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (b bundle) do(t *testing.T, method, path, key string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		buf, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequestWithContext(context.Background(), method, path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	b.srv.ServeHTTP(rec, req)
	out := reply{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out.Body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, rec.Body.String())
		}
	}
	return out
}

// dig walks a decoded JSON body by keys.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (b bundle) newTenant(t *testing.T, body map[string]any) (id, key string) {
	t.Helper()
	r := b.do(t, "POST", "/v1/tenants", adminKey, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", r.Status, r.Raw)
	}
	return dig(r.Body, "data", "id").(string), dig(r.Body, "data", "apiKey").(string)
}

func TestHealth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do(t, "GET", "/health", "", nil)
	if r.Status != 200 || dig(r.Body, "data", "status") != "ok" || dig(r.Body, "data", "checks", "postgres") != "ok" || dig(r.Body, "data", "checks", "redis") != "ok" {
		t.Fatalf("health = %d %s", r.Status, r.Raw)
	}

	down := setup(t, func(o *httpapi.Options) {
		o.Redis = redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	})
	r = down.do(t, "GET", "/health", "", nil)
	if r.Status != 503 || dig(r.Body, "code") != "UNAVAILABLE" || dig(r.Body, "data", "status") != "degraded" ||
		dig(r.Body, "data", "checks", "postgres") != "ok" || dig(r.Body, "data", "checks", "redis") != "error" ||
		strings.Contains(r.Raw, "127.0.0.1") {
		t.Fatalf("health with redis down = %d %s", r.Status, r.Raw)
	}
}

func TestEnvelopeErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	big := `{"name":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	tests := []struct {
		name, method, path, key string
		body                    any
		status                  int
		code                    string
	}{
		{"unknown route", "GET", "/v1/nope", "", nil, 404, "NOT_FOUND"},
		{"wrong method", "DELETE", "/v1/me", "", nil, 405, "METHOD_NOT_ALLOWED"},
		{"malformed json", "POST", "/v1/tenants", adminKey, `{"name":`, 400, "MALFORMED_JSON"},
		{"empty body", "POST", "/v1/tenants", adminKey, ``, 400, "MALFORMED_JSON"},
		{"two values", "POST", "/v1/tenants", adminKey, `{"name":"a"} {}`, 400, "MALFORMED_JSON"},
		{"wrong type", "POST", "/v1/tenants", adminKey, `{"name":5}`, 400, "VALIDATION_FAILED"},
		{"bad plan", "POST", "/v1/tenants", adminKey, `{"name":"a","plan":"gold"}`, 400, "VALIDATION_FAILED"},
		{"bad country", "POST", "/v1/tenants", adminKey, `{"name":"a","defaultCountry":"ZZ"}`, 400, "VALIDATION_FAILED"},
		{"bad timezone", "POST", "/v1/tenants", adminKey, `{"name":"a","timezone":"Mars/Olympus"}`, 400, "VALIDATION_FAILED"},
		{"too large", "POST", "/v1/tenants", adminKey, big, 413, "PAYLOAD_TOO_LARGE"},
		{"no admin key", "POST", "/v1/tenants", "", `{"name":"a"}`, 401, "UNAUTHORIZED"},
		{"wrong admin key", "POST", "/v1/tenants", "nope", `{"name":"a"}`, 401, "UNAUTHORIZED"},
		{"no tenant key", "GET", "/v1/me", "", nil, 401, "UNAUTHORIZED"},
		{"wrong tenant key", "GET", "/v1/me", "wm_nope", nil, 401, "UNAUTHORIZED"},
		{"admin key is no tenant key", "GET", "/v1/me", adminKey, nil, 401, "UNAUTHORIZED"},
		{"patch unknown tenant", "PATCH", "/v1/tenants/00000000-0000-0000-0000-000000000000", adminKey, `{"plan":"pro"}`, 404, "NOT_FOUND"},
		{"patch non-uuid tenant", "PATCH", "/v1/tenants/abc", adminKey, `{"plan":"pro"}`, 404, "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, tt.method, tt.path, tt.key, tt.body)
			if r.Status != tt.status || dig(r.Body, "code") != tt.code || dig(r.Body, "success") != false || dig(r.Body, "error") == "" {
				t.Fatalf("%s %s = %d %s; want %d %s", tt.method, tt.path, r.Status, r.Raw, tt.status, tt.code)
			}
		})
	}
	r := b.do(t, "POST", "/v1/tenants", adminKey, `{"name":5}`)
	if d, _ := dig(r.Body, "details").([]any); len(d) != 1 || dig(d[0], "field") != "name" {
		t.Fatalf("details = %s, want one for name", r.Raw)
	}
	r = b.do(t, "DELETE", "/v1/me", "", nil)
	if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "PATCH") {
		t.Fatalf("Allow = %q, want GET and PATCH", allow)
	}
}

func TestTenantLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id, key := b.newTenant(t, map[string]any{"name": "Acme", "timezone": "America/Sao_Paulo", "unknownField": true})

	r := b.do(t, "GET", "/v1/me", key, nil)
	if r.Status != 200 || dig(r.Body, "data", "tenant", "id") != id || dig(r.Body, "data", "tenant", "plan") != "free" ||
		dig(r.Body, "data", "tenant", "defaultCountry") != "BR" || dig(r.Body, "data", "tenant", "timezone") != "America/Sao_Paulo" ||
		dig(r.Body, "data", "rateLimit", "limit") != float64(100) {
		t.Fatalf("GET /v1/me = %d %s", r.Status, r.Raw)
	}
	if _, has := dig(r.Body, "data", "tenant").(map[string]any)["apiKey"]; has {
		t.Fatal("GET /v1/me shows an api key")
	}

	r = b.do(t, "PATCH", "/v1/me", key, `{"quietHours":{"start":"21:00","end":"08:00"},"defaultCountry":"PT"}`)
	if r.Status != 200 || dig(r.Body, "data", "tenant", "quietHours", "start") != "21:00" || dig(r.Body, "data", "tenant", "defaultCountry") != "PT" {
		t.Fatalf("PATCH /v1/me = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "PATCH", "/v1/me", key, `{"quietHours":null}`)
	if r.Status != 200 || dig(r.Body, "data", "tenant", "quietHours") != nil || dig(r.Body, "data", "tenant", "defaultCountry") != "PT" {
		t.Fatalf("PATCH /v1/me clear = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "PATCH", "/v1/me", key, `{"quietHours":{"start":"9pm","end":"08:00"}}`)
	if r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" {
		t.Fatalf("PATCH /v1/me bad quiet hours = %d %s", r.Status, r.Raw)
	}

	r = b.do(t, "PATCH", "/v1/tenants/"+id, adminKey, `{"plan":"pro","name":"Acme Ltd"}`)
	if r.Status != 200 || dig(r.Body, "data", "plan") != "pro" || dig(r.Body, "data", "name") != "Acme Ltd" {
		t.Fatalf("PATCH tenant = %d %s", r.Status, r.Raw)
	}

	r = b.do(t, "POST", "/v1/tenants/"+id+"/api-keys", adminKey, nil)
	second, _ := dig(r.Body, "data", "apiKey").(string)
	keyID, _ := dig(r.Body, "data", "id").(string)
	if r.Status != 201 || second == "" || keyID == "" {
		t.Fatalf("create api key = %d %s", r.Status, r.Raw)
	}
	if r := b.do(t, "GET", "/v1/me", second, nil); r.Status != 200 {
		t.Fatalf("second key: %d %s", r.Status, r.Raw)
	}
	if r := b.do(t, "DELETE", "/v1/api-keys/"+keyID, adminKey, nil); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	if r := b.do(t, "GET", "/v1/me", second, nil); r.Status != 401 {
		t.Fatalf("revoked key: %d %s", r.Status, r.Raw)
	}
	if r := b.do(t, "GET", "/v1/me", key, nil); r.Status != 200 {
		t.Fatalf("first key after revoking the second: %d %s", r.Status, r.Raw)
	}
}

func TestPlanChangeHook(t *testing.T) {
	t.Parallel()
	var got []string
	b := setup(t, func(o *httpapi.Options) {
		o.OnPlanChange = func(_ context.Context, id string) { got = append(got, id) }
	})
	id, _ := b.newTenant(t, map[string]any{"name": "Hooked"})
	b.do(t, "PATCH", "/v1/tenants/"+id, adminKey, `{"name":"Renamed"}`)
	if len(got) != 0 {
		t.Fatalf("hook called on a name change: %v", got)
	}
	b.do(t, "PATCH", "/v1/tenants/"+id, adminKey, `{"plan":"enterprise"}`)
	if len(got) != 1 || got[0] != id {
		t.Fatalf("hook calls = %v, want [%s]", got, id)
	}
}
