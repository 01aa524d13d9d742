package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// BenchmarkObservability measures what metrics and tracing add to an
// authenticated API request (GET /v1/me: key lookup in Postgres, JSON
// answer). The variants run interleaved in one loop, so the shared
// machine's noise hits them alike:
//
//	bare        the handler without observe (no metrics, no spans)
//	off         ServeHTTP: metrics recorded, no Tracing
//	noop        ServeHTTP: metrics recorded, Tracing off (app.Open without an endpoint)
//	on          ServeHTTP: metrics and a route span per request, the span
//	            buffer flushed after each request as an invocation does
//
// It reports each variant's median latency and the overheads: the median of
// the per-round differences, in percent of the bare median.
//
//	go test -run '^$' -bench Observability -benchtime 20000x ./internal/httpapi/
func BenchmarkObservability(b *testing.B) {
	db := pgtest.NewDB(b)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	b.Cleanup(func() { _ = rdb.Close() })
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingConfig{Exporter: tracetest.NewNoopExporter()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	opts := Options{DB: db, Redis: rdb, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AdminAPIKey: "bench-admin"}
	off := New(opts)
	opts.Tracing = telemetry.Off()
	noop := New(opts)
	opts.Tracing = tr
	on := New(opts)

	rec := httptest.NewRecorder()
	off.ServeHTTP(rec, authed(httptest.NewRequest("POST", "/v1/tenants", strings.NewReader(`{"name":"Bench"}`)), "bench-admin"))
	var created struct {
		Data struct{ APIKey string } `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || created.Data.APIKey == "" {
		b.Fatalf("create tenant: %d %s", rec.Code, rec.Body)
	}
	key := created.Data.APIKey

	variants := []struct {
		name  string
		serve http.HandlerFunc
		after func() // between requests, untimed: the invocation's flush
		times []time.Duration
	}{
		{name: "bare", serve: off.handler.ServeHTTP},
		{name: "off", serve: off.ServeHTTP},
		{name: "noop", serve: noop.ServeHTTP},
		{name: "on", serve: on.ServeHTTP, after: func() { _ = tr.Flush(context.Background()) }},
	}
	run := func(h http.HandlerFunc) time.Duration {
		req := authed(httptest.NewRequest("GET", "/v1/me", nil), key)
		w := httptest.NewRecorder()
		start := time.Now()
		h(w, req)
		d := time.Since(start)
		if w.Code != 200 {
			b.Fatalf("GET /v1/me = %d %s", w.Code, w.Body)
		}
		return d
	}
	for range 50 { // warm the pool and the caches
		for i := range variants {
			run(variants[i].serve)
		}
	}
	// Each round runs the variants in a fresh random order: in a fixed
	// cyclic order the same variant would always follow the traced one's
	// flush, and pay for it.
	order := []int{0, 1, 2, 3}
	shuffle := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for b.Loop() {
		shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			v := &variants[k]
			v.times = append(v.times, run(v.serve))
			if v.after != nil {
				v.after()
			}
		}
	}
	b.StopTimer()
	// Each round ran every variant once, back to back: the overhead of a
	// variant is the median of its per-round difference to its baseline,
	// which cancels the machine's slow drifts that separate medians keep.
	p50 := func(ds []time.Duration) float64 {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Nanoseconds()) / 1e3
	}
	overhead := func(v, base int) float64 {
		d := make([]time.Duration, len(variants[v].times))
		for i := range d {
			d[i] = variants[v].times[i] - variants[base].times[i]
		}
		return p50(d)
	}
	for _, v := range variants {
		b.ReportMetric(p50(v.times), v.name+"-p50-µs")
	}
	bare := p50(variants[0].times)
	b.ReportMetric(100*overhead(1, 0)/bare, "metrics-%")
	b.ReportMetric(100*overhead(2, 1)/bare, "tracing-off-%")
	b.ReportMetric(overhead(3, 0), "metrics+tracing-µs")
	b.ReportMetric(100*overhead(3, 0)/bare, "metrics+tracing-%")
	// The same overhead as the difference of the two medians: a noisier
	// estimate of the same shift, which needs ~20,000 rounds to settle.
	b.ReportMetric(100*(p50(variants[3].times)-bare)/bare, "metrics+tracing-medians-%")
}

func authed(r *http.Request, key string) *http.Request {
	r.Header.Set("Authorization", "Bearer "+key)
	return r
}

// BenchmarkObserveAlone is observe's own cost around a handler that does
// nothing, hot in cache, with its allocations: what BenchmarkObservability
// measures, without Postgres's noise.
//
//	go test -run '^$' -bench ObserveAlone ./internal/httpapi/
func BenchmarkObserveAlone(b *testing.B) {
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingConfig{Exporter: tracetest.NewNoopExporter()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	for _, v := range []struct {
		name    string
		tracing *telemetry.Tracing
	}{{"metrics", nil}, {"metrics+tracing", tr}} {
		b.Run(v.name, func(b *testing.B) {
			s := New(Options{Tracing: v.tracing})
			noop := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
			req := httptest.NewRequest("GET", "/v1/me", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.observe(w, req, noop)
				if i%16 == 15 { // an invocation's flush, counted in
					_ = tr.Flush(context.Background())
				}
			}
		})
	}
}
