package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

func testPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

func TestIsTenantRoute(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"/v1/me": true, "/v1/campaigns/{id}/status": true, "/v1/instances": true,
		"/v1/tenants": false, "/v1/tenants/{id}": false, "/v1/tenants/{id}/api-keys": false,
		"/v1/api-keys/{id}": false, "/v1/webhooks/wuzapi/{instanceId}": false,
		"/health": false, "/metrics": false, "/openapi.json": false, "": false,
	}
	for path, want := range tests {
		if got := isTenantRoute(path); got != want {
			t.Errorf("isTenantRoute(%q) = %v, want %v", path, got, want)
		}
	}
}

// The webhook route is limited once its secret is judged (wuzapiWebhook,
// TestWebhookRouteIsLimitedPerInstance), never before routing: a guess of
// the secret must not spend the instance's allowance.
func TestWebhookNotLimitedBeforeRouting(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	s := New(Options{
		Logger: slog.New(slog.DiscardHandler),
		Limiter: limit.NewAPI(limit.APIOptions{
			Redis: rdb, Plans: func(context.Context, string) (tenant.Plan, error) { return tenant.PlanFree, nil },
			Prefix: testPrefix(), WebhookPerMinute: 3, ClientPerMinute: 2, Timeout: 10 * time.Second,
		}),
	})
	const pattern = "POST /v1/webhooks/wuzapi/{instanceId}"
	for i, instance := range []string{uuid.NewString(), uuid.NewString(), "not-a-uuid", "not-a-uuid", "not-a-uuid"} {
		req := httptest.NewRequest("POST", "/v1/webhooks/wuzapi/"+instance+"?secret=x", nil)
		req.RemoteAddr = "198.51.100.1:1"
		rec := httptest.NewRecorder()
		if s.preLimit(rec, req, pattern) || rec.Header().Get("RateLimit-Limit") != "" {
			t.Fatalf("webhook %d limited before routing: %d %v", i+1, rec.Code, rec.Header())
		}
	}
}

// BenchmarkAuthAndLimit measures what authentication and the rate limit add
// to a tenant route: each iteration serves GET /v1/me once through the whole
// server (key lookup from the in-process cache, one Redis round trip for
// the limit) and once as the bare handler with the tenant already in the
// context, and reports both medians and their difference.
func BenchmarkAuthAndLimit(b *testing.B) {
	for _, cached := range []bool{true, false} {
		name := map[bool]string{true: "key-cache", false: "no-key-cache"}[cached]
		b.Run(name, func(b *testing.B) {
			rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
			b.Cleanup(func() { _ = rdb.Close() })
			db := pgtest.NewDB(b)
			opts := Options{
				DB: db, Redis: rdb, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Limiter: limit.NewAPI(limit.APIOptions{
					Redis: rdb, Plans: db.TenantPlan, Prefix: testPrefix(),
					PerMinute: func(tenant.Plan) int { return 1 << 30 }, // measure the allowed path
				}),
			}
			if cached {
				opts.AuthCacheTTL = time.Hour
			}
			s := New(opts)
			ten, key, err := db.CreateTenant(context.Background(), tenant.Tenant{Name: "Bench", Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "UTC"})
			if err != nil {
				b.Fatal(err)
			}
			full := func() {
				req := httptest.NewRequest("GET", "/v1/me", nil)
				req.Header.Set("Authorization", "Bearer "+key)
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("GET /v1/me: %d %s", rec.Code, rec.Body.String())
				}
			}
			bare := func() {
				req := httptest.NewRequest("GET", "/v1/me", nil)
				req = req.WithContext(withTenant(req.Context(), ten, nil))
				rec := httptest.NewRecorder()
				if err := s.getMe(rec, req); err != nil || rec.Code != 200 {
					b.Fatalf("bare handler: %v %d", err, rec.Code)
				}
			}
			full() // warm the caches and the script
			fulls := make([]time.Duration, 0, b.N)
			bares := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				bare()
				t1 := time.Now()
				full()
				fulls = append(fulls, time.Since(t1))
				bares = append(bares, t1.Sub(t0))
			}
			b.StopTimer()
			pf, pb := median(fulls), median(bares)
			b.ReportMetric(float64(pb.Microseconds()), "bare-p50-µs")
			b.ReportMetric(float64(pf.Microseconds()), "auth+limit-p50-µs")
			b.ReportMetric(float64((pf - pb).Microseconds()), "delta-p50-µs")
		})
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// TestRateLimitedAnswerAsWriteJSON: applyLimit's 429, written without
// reflection, is what writeJSON wrote for it, headers and body, and its
// RateLimit headers are what Header.Set stored.
func TestRateLimitedAnswerAsWriteJSON(t *testing.T) {
	t.Parallel()
	s := &Server{}
	for _, res := range []limit.Result{
		{Limit: 2000, Remaining: 0, RetryAfter: 30 * time.Millisecond, ResetAfter: 59 * time.Second},
		{Limit: 3, Remaining: 0, RetryAfter: 20 * time.Second, ResetAfter: time.Minute},
		{Limit: 100, Remaining: 0, RetryAfter: 100000 * time.Second, ResetAfter: 100001 * time.Second},
		{Allowed: true, Limit: 500, Remaining: 499, ResetAfter: 120 * time.Millisecond},
	} {
		got := httptest.NewRecorder()
		if s.applyLimit(got, nil, res) != res.Allowed {
			t.Fatalf("applyLimit(%+v) = %v", res, !res.Allowed)
		}
		want := httptest.NewRecorder()
		h := want.Header()
		h.Set("RateLimit-Limit", strconv.Itoa(res.Limit))
		h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(limit.Seconds(res.ResetAfter)))
		if !res.Allowed {
			retry := max(limit.Seconds(res.RetryAfter), 1)
			h.Set("Retry-After", strconv.Itoa(retry))
			writeJSON(want, http.StatusTooManyRequests, envelope{
				Error: "Too many requests", Code: errcode.RateLimitExceeded, RetryAfter: &retry,
			})
		}
		if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) || got.Body.String() != want.Body.String() {
			t.Fatalf("%+v answered %d %v %q, want %d %v %q", res, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}
