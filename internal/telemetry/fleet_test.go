package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testFleet is a Fleet on the local Redis under a prefix of its own, so
// tests (and other packages') never see each other's keys.
func testFleet(t testing.TB) (*Fleet, *clock) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "wm:test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		_ = rdb.Close()
	})
	c := &clock{t: time.Date(2026, 12, 2, 10, 0, 30, 0, time.UTC)}
	return &Fleet{Redis: rdb, Prefix: prefix, Now: c.Now}, c
}

func TestFamiliesMatchMetrics(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	collectors := map[string]prometheus.Collector{
		"http_requests_total": m.HTTPRequests, "http_request_duration_seconds": m.HTTPDuration,
		"redis_cache_hits_total": m.CacheHits, "redis_cache_misses_total": m.CacheMisses,
		"active_sessions_total": m.ActiveSessions, "queue_jobs_total": m.QueueJobs,
		"campaign_messages_total": m.CampaignMessages, "import_rows_total": m.ImportRows,
		"rate_limit_rejections_total": m.RateLimitRejections,
	}
	if len(families) != len(collectors) {
		t.Fatalf("%d fleet families, %d metrics", len(families), len(collectors))
	}
	for _, f := range families {
		c, ok := collectors[f.name]
		if !ok {
			t.Fatalf("fleet family %s is not in Metrics", f.name)
		}
		ch := make(chan *prometheus.Desc, 1)
		c.Describe(ch)
		if got, want := (<-ch).String(), prometheus.NewDesc(f.name, f.help, f.labels, nil).String(); got != want {
			t.Errorf("fleet family differs from metrics.go:\n got %s\nwant %s", want, got)
		}
	}
}

// TestFleetTotalsAcrossInstances drives three instances of two functions,
// each with its own registry and flusher, and scrapes the fleet once: the
// scrape shows everyone's counts, exactly once each.
func TestFleetTotalsAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fleet, clk := testFleet(t)
	api1, api2, worker := NewMetrics(), NewMetrics(), NewMetrics()
	f1 := fleet.NewFlusher(api1, "api", func() (float64, bool) { return 0.5, true })
	f2 := fleet.NewFlusher(api2, "api", func() (float64, bool) { return 0.85, true })
	fw := fleet.NewFlusher(worker, "campaign-worker", nil)

	api1.HTTPRequests.WithLabelValues("GET", "GET /v1/me", "200", "t1").Add(2)
	api1.HTTPDuration.WithLabelValues("GET", "GET /v1/me", "200").Observe(0.02)
	api1.HTTPDuration.WithLabelValues("GET", "GET /v1/me", "200").Observe(0.3)
	api2.HTTPRequests.WithLabelValues("GET", "GET /v1/me", "200", "t1").Inc()
	api2.HTTPDuration.WithLabelValues("GET", "GET /v1/me", "200").Observe(0.04)
	api2.HTTPRequests.WithLabelValues("POST", "POST /v1/campaigns", "500", "t2").Inc()
	api2.HTTPDuration.WithLabelValues("POST", "POST /v1/campaigns", "500").Observe(7)
	worker.CampaignMessages.WithLabelValues("sent").Add(3)
	worker.CampaignMessages.WithLabelValues("failed").Inc()
	for _, f := range []*Flusher{f1, f2, fw} {
		if err := f.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A second invocation of the first instance: only its new counts move.
	api1.HTTPRequests.WithLabelValues("GET", "GET /v1/me", "200", "t1").Inc()
	api1.HTTPDuration.WithLabelValues("GET", "GET /v1/me", "200").Observe(1.5)
	worker.CampaignMessages.WithLabelValues("sent").Inc()
	for _, f := range []*Flusher{f1, f1, fw} { // a flush with nothing new adds nothing
		if err := f.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := fleet.SetGauges(ctx, Gauge{Name: "active_sessions_total", Value: 2},
		Gauge{Name: "queue_jobs_total", Labels: []string{"campaigns", "visible"}, Value: 5}); err != nil {
		t.Fatal(err)
	}

	reg, err := fleet.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP active_sessions_total WhatsApp instances connected and logged in at the last check.
# TYPE active_sessions_total gauge
active_sessions_total 2
# HELP campaign_messages_total Campaign messages by outcome.
# TYPE campaign_messages_total counter
campaign_messages_total{status="failed"} 1
campaign_messages_total{status="sent"} 4
# HELP http_request_duration_seconds HTTP request latency, by route pattern.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{method="GET",route="GET /v1/me",status_code="200",le="0.01"} 0
http_request_duration_seconds_bucket{method="GET",route="GET /v1/me",status_code="200",le="0.05"} 2
http_request_duration_seconds_bucket{method="GET",route="GET /v1/me",status_code="200",le="0.1"} 2
http_request_duration_seconds_bucket{method="GET",route="GET /v1/me",status_code="200",le="0.5"} 3
http_request_duration_seconds_bucket{method="GET",route="GET /v1/me",status_code="200",le="1"} 3
http_request_duration_seconds_bucket{method="GET",route="GET /v1/me",status_code="200",le="2"} 4
http_request_duration_seconds_bucket{method="GET",route="GET /v1/me",status_code="200",le="5"} 4
http_request_duration_seconds_bucket{method="GET",route="GET /v1/me",status_code="200",le="+Inf"} 4
http_request_duration_seconds_sum{method="GET",route="GET /v1/me",status_code="200"} 1.86
http_request_duration_seconds_count{method="GET",route="GET /v1/me",status_code="200"} 4
http_request_duration_seconds_bucket{method="POST",route="POST /v1/campaigns",status_code="500",le="0.01"} 0
http_request_duration_seconds_bucket{method="POST",route="POST /v1/campaigns",status_code="500",le="0.05"} 0
http_request_duration_seconds_bucket{method="POST",route="POST /v1/campaigns",status_code="500",le="0.1"} 0
http_request_duration_seconds_bucket{method="POST",route="POST /v1/campaigns",status_code="500",le="0.5"} 0
http_request_duration_seconds_bucket{method="POST",route="POST /v1/campaigns",status_code="500",le="1"} 0
http_request_duration_seconds_bucket{method="POST",route="POST /v1/campaigns",status_code="500",le="2"} 0
http_request_duration_seconds_bucket{method="POST",route="POST /v1/campaigns",status_code="500",le="5"} 0
http_request_duration_seconds_bucket{method="POST",route="POST /v1/campaigns",status_code="500",le="+Inf"} 1
http_request_duration_seconds_sum{method="POST",route="POST /v1/campaigns",status_code="500"} 7
http_request_duration_seconds_count{method="POST",route="POST /v1/campaigns",status_code="500"} 1
# HELP http_requests_total HTTP requests answered, by route pattern.
# TYPE http_requests_total counter
http_requests_total{method="GET",route="GET /v1/me",status_code="200",tenant_id="t1"} 4
http_requests_total{method="POST",route="POST /v1/campaigns",status_code="500",tenant_id="t2"} 1
# HELP queue_jobs_total Messages in each queue, by state (visible, in_flight, delayed, dead).
# TYPE queue_jobs_total gauge
queue_jobs_total{queue_name="campaigns",status="visible"} 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}

	w, err := fleet.Window(ctx, clk.Now(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if w.Requests != 5 || w.Errors != 1 || w.Count != 5 || w.Memory["api"] != 0.85 {
		t.Fatalf("window = %+v, want 5 requests, 1 error, 5 observations, api memory 0.85", w)
	}

	// Gauges fade when their writer stops; counters stay; the window moves on.
	clk.Add(GaugeTTL + time.Minute)
	reg, err = fleet.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "active_sessions_total", "queue_jobs_total", "http_requests_total"); err != nil || n != 2 {
		t.Fatalf("after GaugeTTL: %d series (err %v), want only the 2 counter series", n, err)
	}
	if w, _ := fleet.Window(ctx, clk.Now(), 5*time.Minute); w.Requests != 0 || len(w.Memory) != 0 {
		t.Fatalf("window 11 minutes later = %+v, want empty", w)
	}
}

func TestFlushKeepsDeltasWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fleet, _ := testFleet(t)
	up := fleet.Redis
	down := &Fleet{Redis: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), Prefix: fleet.Prefix, Now: fleet.Now}
	m := NewMetrics()
	fl := down.NewFlusher(m, "import-worker", nil)
	m.ImportRows.WithLabelValues("imported").Add(7)
	if err := fl.Flush(ctx); err == nil {
		t.Fatal("flush to a dead Redis succeeded")
	}
	fl.fleet = &Fleet{Redis: up, Prefix: fleet.Prefix, Now: fleet.Now}
	m.ImportRows.WithLabelValues("imported").Add(1)
	if err := fl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := fleet.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP import_rows_total Imported CSV rows by result.
# TYPE import_rows_total counter
import_rows_total{result="imported"} 8
`), "import_rows_total"); err != nil {
		t.Fatal(err)
	}
}

func TestSetGaugesRejectsWrongSeries(t *testing.T) {
	t.Parallel()
	fleet, _ := testFleet(t)
	for _, g := range []Gauge{
		{Name: "http_requests_total", Labels: []string{"GET", "x", "200", "t"}},
		{Name: "queue_jobs_total", Labels: []string{"campaigns"}},
		{Name: "nope"},
	} {
		if err := fleet.SetGauges(context.Background(), g); err == nil {
			t.Errorf("SetGauges(%+v) succeeded", g)
		}
	}
}

func TestWindowQuantile(t *testing.T) {
	t.Parallel()
	// Buckets: 0.01 0.05 0.1 0.5 1 2 5
	tests := []struct {
		name    string
		buckets []float64
		count   float64
		want    float64
	}{
		{"all fast", []float64{100, 100, 100, 100, 100, 100, 100}, 100, 0.0095},
		{"p95 inside 1-2 s", []float64{0, 0, 0, 50, 90, 100, 100}, 100, 1.5},
		{"p95 at a bound", []float64{0, 0, 0, 0, 95, 100, 100}, 100, 1},
		{"slowest beyond 5 s", []float64{0, 0, 0, 0, 0, 0, 90}, 100, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Window{Buckets: tt.buckets, Count: tt.count}.Quantile(0.95)
			if !ok || math.Abs(got-tt.want) > 1e-9 && !math.IsInf(tt.want, 1) || math.IsInf(tt.want, 1) != math.IsInf(got, 1) {
				t.Fatalf("p95 = %v (ok %v), want %v", got, ok, tt.want)
			}
		})
	}
	if _, ok := (Window{Buckets: make([]float64, 7)}).Quantile(0.95); ok {
		t.Fatal("p95 of no requests is ok")
	}
	if r := (Window{Requests: 200, Errors: 3}).ErrorRate(); r != 0.015 {
		t.Fatalf("error rate = %v, want 0.015", r)
	}
}

// TestFlushDueWaitsOutTheInterval: with an interval, the end-of-invocation
// flush sends at most once per interval and the counts wait, not vanish.
func TestFlushDueWaitsOutTheInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fleet, clk := testFleet(t)
	m := NewMetrics()
	fl := fleet.NewFlusher(m, "api", nil)
	fl.Interval = 10 * time.Second
	total := func() string {
		t.Helper()
		v, err := fleet.Redis.HGet(ctx, fleet.key("total", "import_rows_total"), `["imported"]`).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		return v
	}
	steps := []struct {
		name    string
		advance time.Duration
		add     float64
		want    string
	}{
		{"first invocation flushes", 0, 1, "1"},
		{"within the interval: held", 5 * time.Second, 2, "1"},
		{"still within: held", 4 * time.Second, 3, "1"},
		{"interval over: everything since", 2 * time.Second, 4, "10"},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		m.ImportRows.WithLabelValues("imported").Add(s.add)
		if err := fl.Due(ctx); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := total(); got != s.want {
			t.Fatalf("%s: fleet total = %q, want %q", s.name, got, s.want)
		}
	}
	m.ImportRows.WithLabelValues("imported").Add(5)
	if err := fl.Flush(ctx); err != nil { // shutdown: whatever is left
		t.Fatal(err)
	}
	if got := total(); got != "15" {
		t.Fatalf("after Flush: fleet total = %q, want 15", got)
	}
}

// TestInvocationSkipsTheFlushNotPending: with Pending set and tracing off,
// an invocation within the flush interval does not call Flush at all (no
// bounded context, no timer); the first invocation and the first after the
// interval do.
func TestInvocationSkipsTheFlushNotPending(t *testing.T) {
	t.Parallel()
	fleet, clk := testFleet(t)
	m := NewMetrics()
	fl := fleet.NewFlusher(m, "api", nil)
	fl.Interval = 10 * time.Second
	calls := 0
	h := Wrap(func(context.Context, events.EventBridgeEvent) error {
		m.ImportRows.WithLabelValues("imported").Inc() // something to flush
		return nil
	}, Invocations{
		Function: "scheduler", Tracing: Off(), Pending: fl.Pending,
		Flush: func(ctx context.Context) error { calls++; return fl.Due(ctx) },
	})
	for _, s := range []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{"first invocation", 0, 1},
		{"within the interval", 5 * time.Second, 1},
		{"still within", 4 * time.Second, 1},
		{"interval over", 2 * time.Second, 2},
		{"within the next", time.Second, 2},
	} {
		clk.Add(s.advance)
		if _, err := h.Invoke(context.Background(), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if calls != s.want {
			t.Fatalf("%s: Flush called %d times, want %d", s.name, calls, s.want)
		}
	}
}
