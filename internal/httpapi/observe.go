package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// Labels of requests that have no route or no tenant. route is always a
// registered pattern or unroutedRoute, never a raw path, so a scan of random
// URLs cannot blow up the series count.
const (
	unroutedRoute = "unrouted"
	noTenant      = "unknown" // the tenant_id of requests without a tenant
)

// observedWriter is the response writer observe hands down the chain: it
// remembers the status the handler answered and the tenant the tenant
// wrapper authenticated, which the metrics and the span only learn once the
// handler has returned. Carrying both here, rather than in a context value,
// keeps an untraced request from copying its *http.Request.
type observedWriter struct {
	http.ResponseWriter
	status   int
	tenantID string
}

func (w *observedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *observedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *observedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observeTenant records the authenticated tenant for the request's metrics
// and span. w is the writer the handler got: observe's own, or one that
// wraps it (compression), found through Unwrap.
func observeTenant(w http.ResponseWriter, tenantID string) {
	for w != nil {
		if o, ok := w.(*observedWriter); ok {
			o.tenantID = tenantID
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// requestSeries caches the series of http_requests_total and
// http_request_duration_seconds by label values: a map lookup on a struct
// key instead of the client library's hashing and locking on every request.
// The label sets are bounded (route patterns, status codes, tenants), and
// nothing deletes a series, so a cached series stays the one exported.
type requestSeries struct {
	metrics   *telemetry.Metrics
	counters  sync.Map // requestLabels → prometheus.Counter
	durations sync.Map // requestLabels without tenantID → prometheus.Observer
}

type requestLabels struct{ method, route, status, tenantID string }

func (c *requestSeries) record(l requestLabels, seconds float64) {
	counter, ok := c.counters.Load(l)
	if !ok {
		counter, _ = c.counters.LoadOrStore(l, c.metrics.HTTPRequests.WithLabelValues(l.method, l.route, l.status, l.tenantID))
	}
	counter.(prometheus.Counter).Inc()
	l.tenantID = ""
	duration, ok := c.durations.Load(l)
	if !ok {
		duration, _ = c.durations.LoadOrStore(l, c.metrics.HTTPDuration.WithLabelValues(l.method, l.route, l.status))
	}
	duration.(prometheus.Observer).Observe(seconds)
}

// Span start options, built once: each request would otherwise allocate
// them.
var (
	serverSpan   = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
)

// observe serves r with serve and records it: http_requests_total and
// http_request_duration_seconds by route pattern and, when
// tracing is on, a span named by the pattern — a child of the invocation
// span, or a server span continuing the caller's traceparent when there is
// none. The Untraced paths (/health, /metrics) are counted but never traced.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, serve http.HandlerFunc) {
	start := time.Now()
	ow := &observedWriter{ResponseWriter: w}
	req := r
	var span trace.Span
	if tr := s.opts.Tracing; tr.Enabled() && !telemetry.Untraced[r.URL.Path] {
		ctx := r.Context()
		opts := internalSpan
		if !trace.SpanContextFromContext(ctx).IsValid() {
			// The propagator is W3C trace context only (telemetry.NewTracing):
			// without a traceparent header there is nothing to extract.
			if r.Header.Get("Traceparent") != "" {
				ctx = tr.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
			}
			opts = serverSpan
		}
		ctx, span = tr.Tracer().Start(ctx, r.Method, opts...)
		req = r.WithContext(ctx)
	}
	serve(ow, req)

	route := req.Pattern // set by the mux on the request it routed
	if route == "" {
		if _, p := s.mux.Handler(r); p != "" {
			route = p // answered before routing, e.g. 413 on Content-Length
		} else {
			route = unroutedRoute
		}
	}
	if ow.status == 0 {
		ow.status = http.StatusOK
	}
	status := statusLabel(ow.status)
	tenantID := ow.tenantID
	if tenantID == "" {
		tenantID = noTenant
	}
	s.series.record(requestLabels{r.Method, route, status, tenantID}, time.Since(start).Seconds())
	if span != nil {
		span.SetName(route)
		telemetry.SetHTTPServerAttributes(span, r.Method, r.URL.Path, route, ow.status, tenantID)
		if ow.status >= 500 {
			span.SetStatus(codes.Error, status)
		}
		span.End()
	}
}

// statusLabels are the status_code label values of the statuses this API
// answers, so recording one does not format a number.
var statusLabels = func() map[int]string {
	m := map[int]string{}
	for code := 100; code < 600; code++ {
		if http.StatusText(code) != "" {
			m[code] = strconv.Itoa(code)
		}
	}
	return m
}()

func statusLabel(code int) string {
	if l, ok := statusLabels[code]; ok {
		return l
	}
	return strconv.Itoa(code)
}
