package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

func TestRequestMetricsUseRoutePatternAndTenant(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics()
	b := setup(t, func(o *httpapi.Options) { o.Metrics = m })
	id, key := b.newTenant(t, map[string]any{"name": "Counted"})
	b.do(t, "GET", "/v1/me", key, nil)
	// The tenant is found through the compressing writer too.
	gz := httptest.NewRequest("GET", "/v1/me", nil)
	gz.Header.Set("Authorization", "Bearer "+key)
	gz.Header.Set("Accept-Encoding", "gzip")
	b.srv.ServeHTTP(httptest.NewRecorder(), gz)
	b.do(t, "GET", "/v1/me", "wm_wrong", nil)
	b.do(t, "GET", "/v1/nope/123", "", nil)
	b.do(t, "PATCH", "/v1/tenants/"+id, adminKey, `{"name":"Renamed"}`)

	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tenant route with its tenant", []string{"GET", "GET /v1/me", "200", id}, 2},
		{"refused key has no tenant", []string{"GET", "GET /v1/me", "401", "unknown"}, 1},
		{"unknown path is one series", []string{"GET", "unrouted", "404", "unknown"}, 1},
		{"path parameters stay in the pattern", []string{"PATCH", "PATCH /v1/tenants/{id}", "200", "unknown"}, 1},
		{"admin route", []string{"POST", "POST /v1/tenants", "201", "unknown"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testutil.ToFloat64(m.HTTPRequests.WithLabelValues(tt.labels...)); got != tt.want {
				t.Fatalf("http_requests_total%v = %v, want %v", tt.labels, got, tt.want)
			}
		})
	}
	if n := testutil.CollectAndCount(m.HTTPRequests); n != len(tests) {
		t.Fatalf("%d http_requests_total series, want %d (no raw paths)", n, len(tests))
	}
	if n := testutil.CollectAndCount(m.HTTPDuration); n != len(tests) {
		t.Fatalf("%d http_request_duration_seconds series, want %d", n, len(tests))
	}
}

// testFleet is a fleet store under a Redis prefix of this test's own.
func testFleet(t *testing.T) *telemetry.Fleet {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "wm:test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
		_ = rdb.Close()
	})
	return &telemetry.Fleet{Redis: rdb, Prefix: prefix}
}

// TestMetricsShowTheFleet runs two API instances on one database, each
// with its own registry and flusher, and scrapes a third: GET /metrics
// shows both instances' requests.
func TestMetricsShowTheFleet(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	fleet := testFleet(t)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	instance := func() (bundle, *telemetry.Flusher) {
		m := telemetry.NewMetrics()
		srv := httpapi.New(httpapi.Options{
			DB: db, Redis: rdb, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			AdminAPIKey: adminKey, Metrics: m, Fleet: fleet, MetricsToken: "scrape-token",
		})
		return bundle{srv: srv}, fleet.NewFlusher(m, "api", nil)
	}
	a, fa := instance()
	b, fb := instance()
	scraper, _ := instance()
	id, key := a.newTenant(t, map[string]any{"name": "Fleet"})
	a.do(t, "GET", "/v1/me", key, nil)
	b.do(t, "GET", "/v1/me", key, nil)
	b.do(t, "GET", "/v1/me", key, nil)
	for _, f := range []*telemetry.Flusher{fa, fb} {
		if err := f.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	for _, tok := range []string{"", "wrong"} {
		if r := scraper.do(t, "GET", "/metrics", tok, nil); r.Status != 401 || dig(r.Body, "code") != "UNAUTHORIZED" {
			t.Fatalf("GET /metrics with token %q = %d %s, want 401", tok, r.Status, r.Raw)
		}
	}
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Authorization", "Bearer scrape-token")
	rec := httptest.NewRecorder()
	scraper.srv.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		`http_requests_total{method="GET",route="GET /v1/me",status_code="200",tenant_id="` + id + `"} 3`,
		`http_requests_total{method="POST",route="POST /v1/tenants",status_code="201",tenant_id="unknown"} 1`,
		`http_request_duration_seconds_bucket{method="GET",route="GET /v1/me",status_code="200",le="+Inf"} 3`,
		`http_request_duration_seconds_count{method="GET",route="GET /v1/me",status_code="200"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics lacks %s; body:\n%s", want, body)
		}
	}

	down := httpapi.New(httpapi.Options{
		DB: db, Redis: rdb, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Fleet: &telemetry.Fleet{Redis: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})},
	})
	if r := (bundle{srv: down}).do(t, "GET", "/metrics", "", nil); r.Status != 503 || dig(r.Body, "code") != "UNAVAILABLE" {
		t.Fatalf("GET /metrics with the store down = %d %s, want 503", r.Status, r.Raw)
	}
}

func TestRouteSpans(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingConfig{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func(o *httpapi.Options) { o.Tracing = tr })
	id, key := b.newTenant(t, map[string]any{"name": "Traced"})
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	for _, path := range []string{"/v1/me", "/health", "/metrics"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
		b.srv.ServeHTTP(httptest.NewRecorder(), req)
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var me []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID().String() == traceID {
			me = append(me, s)
		}
	}
	if len(me) != 1 {
		t.Fatalf("spans in the request's trace: %v, want only GET /v1/me (health and metrics untraced)", names(me))
	}
	s := me[0]
	attrs := map[string]string{}
	for _, kv := range s.Attributes {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	if s.Name != "GET /v1/me" || s.SpanKind != trace.SpanKindServer || attrs["http.route"] != "GET /v1/me" ||
		attrs["http.response.status_code"] != "200" || attrs["tenant.id"] != id {
		t.Fatalf("span = %s %v %v", s.Name, s.SpanKind, attrs)
	}
}

func names(spans []tracetest.SpanStub) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
