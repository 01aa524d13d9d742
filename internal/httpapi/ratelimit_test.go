package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit/limittest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// fleet is several API function instances over one Postgres and one Redis,
// each with its own limiter (in-process caches) and metrics.
type fleet struct {
	db      *postgres.DB
	rdb     *redis.Client
	prefix  string
	clock   *testClock
	servers []*httpapi.Server
	metrics []*telemetry.Metrics
	lopts   limit.APIOptions
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func randomPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

// setupFleet starts n instances; mutate may change the limiter's options
// (before any instance is built).
func setupFleet(t *testing.T, n int, mutate ...func(*limit.APIOptions)) *fleet {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	f := &fleet{db: pgtest.NewDB(t), rdb: rdb, prefix: randomPrefix(),
		clock: &testClock{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}}
	f.lopts = limit.APIOptions{Redis: rdb, Plans: f.db.TenantPlan, Prefix: f.prefix, Timeout: 10 * time.Second}
	for _, m := range mutate {
		m(&f.lopts)
	}
	for range n {
		f.add(t, f.lopts)
	}
	return f
}

// add starts one more instance with these limiter options.
func (f *fleet) add(t *testing.T, lo limit.APIOptions) *httpapi.Server {
	t.Helper()
	m := telemetry.NewMetrics()
	lo.Metrics = m
	lim := limit.NewAPI(lo)
	srv := httpapi.New(httpapi.Options{
		DB:           f.db,
		Redis:        f.rdb,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:      m,
		AdminAPIKey:  adminKey,
		Limiter:      lim,
		AuthCacheTTL: 5 * time.Second,
		Now:          f.clock.Now,
		OnPlanChange: func(ctx context.Context, id string) {
			if err := lim.InvalidatePlan(ctx, id); err != nil {
				t.Errorf("invalidate plan: %v", err)
			}
		},
	})
	f.servers = append(f.servers, srv)
	f.metrics = append(f.metrics, m)
	return srv
}

// call sends one request to instance i from the client address ip.
func (f *fleet) call(t *testing.T, i int, ip, method, path, key, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(context.Background(), method, path, rd)
	req.RemoteAddr = ip + ":40000"
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	f.servers[i].ServeHTTP(rec, req)
	out := reply{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	if rec.Body.Len() > 0 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &out.Body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, path, rec.Body.String())
		}
	}
	return out
}

func (f *fleet) newTenant(t *testing.T, plan string) (id, key string) {
	t.Helper()
	r := f.call(t, 0, "10.0.0.1", "POST", "/v1/tenants", adminKey, `{"name":"Limited","plan":"`+plan+`"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", r.Status, r.Raw)
	}
	return dig(r.Body, "data", "id").(string), dig(r.Body, "data", "apiKey").(string)
}

// exhaust sends requests until one is refused and returns how many passed
// and the refusal. A refill during the loop (one per 600 ms at 100/min)
// may let one or two more pass.
func (f *fleet) exhaust(t *testing.T, i int, ip, path, key string, max int) (int, reply) {
	t.Helper()
	for n := 0; n < max; n++ {
		r := f.call(t, i, ip, "GET", path, key, "")
		if r.Status == http.StatusTooManyRequests {
			return n, r
		}
	}
	t.Fatalf("no 429 after %d requests to %s", max, path)
	return 0, reply{}
}

func checkHeaders(t *testing.T, r reply, limit, remaining, reset string) {
	t.Helper()
	for name, want := range map[string]string{"RateLimit-Limit": limit, "RateLimit-Remaining": remaining, "RateLimit-Reset": reset} {
		if got := r.Header.Get(name); got != want {
			t.Fatalf("%s = %q, want %q (status %d)", name, got, want, r.Status)
		}
	}
}

func check429(t *testing.T, r reply, limit string) {
	t.Helper()
	checkHeaders(t, r, limit, "0", "60")
	if r.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After = %q, want 1", r.Header.Get("Retry-After"))
	}
	const want = `{"success":false,"error":"Too many requests","code":"RATE_LIMIT_EXCEEDED","retryAfter":1}` + "\n"
	if r.Raw != want {
		t.Fatalf("429 body = %q, want %q", r.Raw, want)
	}
}

func TestTenantRateLimit(t *testing.T) {
	t.Parallel()
	f := setupFleet(t, 1)
	_, key := f.newTenant(t, "free")

	r := f.call(t, 0, "10.0.0.2", "GET", "/v1/me", key, "")
	checkHeaders(t, r, "100", "99", "1")
	if r.Status != 200 || dig(r.Body, "data", "rateLimit", "limit") != float64(100) ||
		dig(r.Body, "data", "rateLimit", "remaining") != float64(99) || dig(r.Body, "data", "rateLimit", "resetSeconds") != float64(1) {
		t.Fatalf("GET /v1/me = %d %s, want the limiter's state (100, 99 left, full in 1 s)", r.Status, r.Raw)
	}
	r = f.call(t, 0, "10.0.0.2", "GET", "/v1/me", key, "")
	if dig(r.Body, "data", "rateLimit", "remaining") != float64(98) {
		t.Fatalf("second GET /v1/me = %s, want 98 left", r.Raw)
	}

	passed, refused := f.exhaust(t, 0, "10.0.0.3", "/v1/me", key, 150)
	if passed < 98 || passed > 100 {
		t.Fatalf("%d more requests passed, want 98 (+refill)", passed)
	}
	check429(t, refused, "100")
	if got := testutil.ToFloat64(f.metrics[0].RateLimitRejections.WithLabelValues("free")); got != 1 {
		t.Fatalf("rate_limit_rejections_total{plan=free} = %v, want 1", got)
	}
	// The tenant's allowance is not its client address's.
	if r := f.call(t, 0, "10.0.0.3", "GET", "/v1/nope", "", ""); r.Status != 404 {
		t.Fatalf("same IP without the tenant key: %d %s", r.Status, r.Raw)
	}
}

func TestPlanChangeTakesEffectOnTheNextRequest(t *testing.T) {
	t.Parallel()
	f := setupFleet(t, 2)
	id, key := f.newTenant(t, "free")
	for i := range f.servers {
		// Both instances have the tenant's key and plan in their caches.
		if r := f.call(t, i, "10.0.1.1", "GET", "/v1/me", key, ""); r.Status != 200 {
			t.Fatalf("instance %d: %d %s", i, r.Status, r.Raw)
		}
	}
	_, refused := f.exhaust(t, 1, "10.0.1.1", "/v1/me", key, 150)
	check429(t, refused, "100")

	if r := f.call(t, 0, "10.0.0.1", "PATCH", "/v1/tenants/"+id, adminKey, `{"plan":"pro"}`); r.Status != 200 {
		t.Fatalf("PATCH plan: %d %s", r.Status, r.Raw)
	}
	// Instance 1 still has the tenant row (plan free) cached for its key, and
	// its plan in-process; neither may stand.
	for i := range f.servers {
		r := f.call(t, i, "10.0.1.1", "GET", "/v1/me", key, "")
		if r.Status != 200 || r.Header.Get("RateLimit-Limit") != "500" ||
			dig(r.Body, "data", "tenant", "plan") != "pro" || dig(r.Body, "data", "rateLimit", "limit") != float64(500) {
			t.Fatalf("instance %d after the plan change: %d %v %s", i, r.Status, r.Header, r.Raw)
		}
	}
}

func TestRequestsWithoutATenant(t *testing.T) {
	t.Parallel()
	f := setupFleet(t, 1, func(o *limit.APIOptions) { o.ClientPerMinute = 3 })
	for range 5 {
		if r := f.call(t, 0, "10.0.2.1", "GET", "/health", "", ""); r.Status != 200 || r.Header.Get("RateLimit-Limit") != "" {
			t.Fatalf("/health: %d %v, want 200 without rate-limit headers", r.Status, r.Header)
		}
	}
	tests := []struct {
		name, ip, method, path, key string
		status                      int
	}{
		{"unknown route", "10.0.2.2", "GET", "/v1/nope", "", 404},
		{"admin route", "10.0.2.3", "POST", "/v1/tenants", adminKey, 400},
		{"wrong admin key", "10.0.2.4", "POST", "/v1/tenants", "nope", 401},
		{"no tenant key", "10.0.2.5", "GET", "/v1/me", "", 401},
		{"wrong tenant key", "10.0.2.6", "GET", "/v1/me", "wm_guess", 401},
		{"ipv6 client", "[2001:db8::7]", "GET", "/v1/me", "wm_guess", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 3 {
				r := f.call(t, 0, tt.ip, tt.method, tt.path, tt.key, "")
				if r.Status != tt.status {
					t.Fatalf("request %d: %d %s, want %d", i+1, r.Status, r.Raw, tt.status)
				}
				checkHeaders(t, r, "3", strconv.Itoa(2-i), strconv.Itoa(20*(i+1))) // 20 s per request at 3/min
			}
			r := f.call(t, 0, tt.ip, tt.method, tt.path, tt.key, "")
			if r.Status != 429 || r.Header.Get("Retry-After") != "20" || dig(r.Body, "retryAfter") != float64(20) ||
				dig(r.Body, "code") != "RATE_LIMIT_EXCEEDED" {
				t.Fatalf("4th request: %d %v %s, want 429 retry in 20 s", r.Status, r.Header, r.Raw)
			}
		})
	}
	if got := testutil.ToFloat64(f.metrics[0].RateLimitRejections.WithLabelValues(limit.RejectClient)); got != float64(len(tests)) {
		t.Fatalf("rejections{plan=anonymous} = %v, want %d", got, len(tests))
	}
}

func TestRateLimiterFailsOpen(t *testing.T) {
	t.Parallel()
	srv := limittest.Start(t)
	var alerts atomic.Int64
	f := setupFleet(t, 1, func(o *limit.APIOptions) {
		o.Redis = srv.Client(t)
		o.Timeout = time.Second
		o.OnFailOpen = func(context.Context, error) { alerts.Add(1) }
	})
	_, key := f.newTenant(t, "free")
	if r := f.call(t, 0, "10.0.3.1", "GET", "/v1/me", key, ""); r.Status != 200 || r.Header.Get("RateLimit-Remaining") != "99" {
		t.Fatalf("with Redis up: %d %v", r.Status, r.Header)
	}
	srv.Kill()
	for i := range 3 {
		r := f.call(t, 0, "10.0.3.1", "GET", "/v1/me", key, "")
		if r.Status != 200 || r.Header.Get("RateLimit-Limit") != "" || dig(r.Body, "data", "tenant", "plan") != "free" {
			t.Fatalf("request %d with Redis down: %d %v %s, want served without headers", i, r.Status, r.Header, r.Raw)
		}
	}
	if r := f.call(t, 0, "10.0.3.1", "POST", "/v1/tenants", "", ""); r.Status != 401 {
		t.Fatalf("admin route with Redis down: %d %s", r.Status, r.Raw)
	}
	if alerts.Load() != 1 {
		t.Fatalf("OnFailOpen called %d times, want once (then backoff)", alerts.Load())
	}
}

func TestAPIKeyCache(t *testing.T) {
	t.Parallel()
	f := setupFleet(t, 2)
	id, _ := f.newTenant(t, "free")
	r := f.call(t, 0, "10.0.0.1", "POST", "/v1/tenants/"+id+"/api-keys", adminKey, "")
	second, keyID := dig(r.Body, "data", "apiKey").(string), dig(r.Body, "data", "id").(string)
	for i := range f.servers {
		if r := f.call(t, i, "10.0.4.1", "GET", "/v1/me", second, ""); r.Status != 200 {
			t.Fatalf("instance %d: %d %s", i, r.Status, r.Raw)
		}
	}
	if r := f.call(t, 0, "10.0.0.1", "DELETE", "/v1/api-keys/"+keyID, adminKey, ""); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	if r := f.call(t, 0, "10.0.4.1", "GET", "/v1/me", second, ""); r.Status != 401 {
		t.Fatalf("revoking instance: %d, want 401 at once", r.Status)
	}
	if r := f.call(t, 1, "10.0.4.1", "GET", "/v1/me", second, ""); r.Status != 200 {
		t.Fatalf("other instance within the cache TTL: %d, want the cached 200", r.Status)
	}
	f.clock.Add(5 * time.Second)
	if r := f.call(t, 1, "10.0.4.1", "GET", "/v1/me", second, ""); r.Status != 401 {
		t.Fatalf("other instance after the cache TTL: %d, want 401", r.Status)
	}

	// A tenant's own settings change is seen by its next request here.
	_, key := f.newTenant(t, "free")
	f.call(t, 0, "10.0.4.2", "GET", "/v1/me", key, "")
	f.call(t, 0, "10.0.4.2", "PATCH", "/v1/me", key, `{"timezone":"Europe/Lisbon"}`)
	if r := f.call(t, 0, "10.0.4.2", "GET", "/v1/me", key, ""); dig(r.Body, "data", "tenant", "timezone") != "Europe/Lisbon" {
		t.Fatalf("GET /v1/me after PATCH: %s", r.Raw)
	}
}

func TestMetricsScrapes(t *testing.T) {
	t.Parallel()
	f := setupFleet(t, 0, func(o *limit.APIOptions) { o.ClientPerMinute = 2 })
	m := telemetry.NewMetrics()
	lo := f.lopts
	lo.Metrics = m
	f.servers = append(f.servers, httpapi.New(httpapi.Options{
		DB: f.db, Redis: f.rdb, Logger: slog.New(slog.DiscardHandler), Metrics: m,
		Limiter: limit.NewAPI(lo), MetricsToken: "scrape-token",
	}))
	f.metrics = append(f.metrics, m)
	for i := range 5 {
		if r := f.call(t, 0, "10.0.6.1", "GET", "/metrics", "scrape-token", ""); r.Status != 200 || r.Header.Get("RateLimit-Limit") != "" {
			t.Fatalf("authenticated scrape %d: %d %v, want 200 unlimited", i+1, r.Status, r.Header)
		}
	}
	for i, want := range []int{401, 401, 429} {
		if r := f.call(t, 0, "10.0.6.2", "GET", "/metrics", "wrong", ""); r.Status != want {
			t.Fatalf("scrape %d with a wrong token: %d, want %d (limited per IP)", i+1, r.Status, want)
		}
	}
}

func TestWebhookRouteIsLimitedPerInstance(t *testing.T) {
	t.Parallel()
	f := setupFleet(t, 1, func(o *limit.APIOptions) { o.WebhookPerMinute, o.ClientPerMinute = 3, 2 })
	fx := newFixture(t, f.db, 1)
	good := "/v1/webhooks/wuzapi/" + fx.instanceID + "?secret=s3cret"
	bad := "/v1/webhooks/wuzapi/" + fx.instanceID + "?secret=wrong"
	event := `{"type":"Presence","event":{}}`
	// Wrong secrets from many addresses never spend the instance's allowance.
	for i := range 6 {
		if r := f.call(t, 0, "10.0.5."+strconv.Itoa(i+1), "POST", bad, "", event); r.Status != 401 {
			t.Fatalf("wrong secret %d: %d %s, want 401", i+1, r.Status, r.Raw)
		}
	}
	for i := range 3 {
		// Each from another address: the allowance is the instance's.
		r := f.call(t, 0, "10.0.6."+strconv.Itoa(i+1), "POST", good, "", event)
		if r.Status == 429 || r.Header.Get("RateLimit-Limit") != "3" || r.Header.Get("RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("webhook %d: %d %v %s, want the instance's allowance of 3", i+1, r.Status, r.Header, r.Raw)
		}
	}
	r := f.call(t, 0, "10.0.6.9", "POST", good, "", event)
	if r.Status != 429 || dig(r.Body, "code") != "RATE_LIMIT_EXCEEDED" || r.Header.Get("Retry-After") != "20" {
		t.Fatalf("4th webhook: %d %v %s, want 429", r.Status, r.Header, r.Raw)
	}
	if got := testutil.ToFloat64(f.metrics[0].RateLimitRejections.WithLabelValues(limit.RejectWebhook)); got != 1 {
		t.Fatalf("rejections{plan=webhook} = %v, want 1", got)
	}
	// Wrong secrets are limited per client IP: 2, then refused, and then
	// refused before the instance is looked up, even with a right secret.
	for i, want := range []int{401, 401, 429, 429} {
		if r := f.call(t, 0, "10.0.7.1", "POST", bad, "", event); r.Status != want {
			t.Fatalf("wrong secret %d from one address: %d %s, want %d", i+1, r.Status, r.Raw, want)
		}
	}
	if r := f.call(t, 0, "10.0.7.1", "POST", "/v1/webhooks/wuzapi/not-an-id?secret=x", "", event); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("gated address: %d %v, want 429 with Retry-After", r.Status, r.Header)
	}
}

// TestEnterpriseReadsHoldAllowance: an enterprise tenant's reads are
// limited from batches of its allowance the instance holds (fewer Redis
// round trips), each answered with RateLimit-Remaining one less than the
// last, as one check a request gives; its writes ask Redis each time.
func TestEnterpriseReadsHoldAllowance(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	cc := &limittest.Commands{}
	rdb.AddHook(cc)
	f := setupFleet(t, 1, func(o *limit.APIOptions) {
		o.Redis = rdb
		o.Period = time.Hour // an interval of 1.8 s: no refill between the requests
	})
	_, key := f.newTenant(t, "enterprise")
	f.call(t, 0, "10.0.4.1", "GET", "/v1/me", key, "") // the plan read from Postgres
	cc.Take()
	for i := 2; i <= 31; i++ {
		r := f.call(t, 0, "10.0.4.1", "GET", "/v1/me", key, "")
		if r.Status != 200 || r.Header.Get("RateLimit-Limit") != "2000" ||
			r.Header.Get("RateLimit-Remaining") != strconv.Itoa(2000-i) ||
			dig(r.Body, "data", "rateLimit", "remaining") != float64(2000-i) {
			t.Fatalf("read %d: %d %v %s, want %d remaining", i, r.Status, r.Header, r.Raw, 2000-i)
		}
	}
	if calls := cc.Take(); calls["evalsha"] > 6 {
		t.Fatalf("30 reads sent %v, want a batch a round trip (2, 4, 8, 16)", calls)
	}
	for range 3 {
		if r := f.call(t, 0, "10.0.4.1", "POST", "/v1/campaigns", key, `{}`); r.Status != 400 {
			t.Fatalf("POST /v1/campaigns {}: %d %s", r.Status, r.Raw)
		}
	}
	if calls := cc.Take(); calls["evalsha"] != 3 {
		t.Fatalf("3 writes sent %v, want 3 evalsha", calls)
	}
}
