package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
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
	noTenant      = "unknown" // the origin design's value for requests without a tenant
)

// observation is the per-request holder that handlers deeper in the chain
// fill: the tenant wrapper sets the tenant id once it has authenticated the
// key, which the metrics only learn after the handler returned.
type observation struct{ tenantID string }

type observationKey struct{}

// observeTenant records the authenticated tenant for the request's metrics
// and span.
func observeTenant(ctx context.Context, tenantID string) {
	if o, ok := ctx.Value(observationKey{}).(*observation); ok {
		o.tenantID = tenantID
	}
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe serves r with serve and records it: http_requests_total and
// http_request_duration_seconds by route pattern (design §8.2) and, when
// tracing is on, a span named by the pattern — a child of the invocation
// span, or a server span continuing the caller's traceparent when there is
// none. The Untraced paths (/health, /metrics) are counted but never traced.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, serve http.HandlerFunc) {
	start := time.Now()
	obs := &observation{}
	ctx := context.WithValue(r.Context(), observationKey{}, obs)
	var span trace.Span
	if tr := s.opts.Tracing; tr.Enabled() && !telemetry.Untraced[r.URL.Path] {
		kind := trace.SpanKindInternal
		if !trace.SpanContextFromContext(ctx).IsValid() {
			ctx = tr.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
			kind = trace.SpanKindServer
		}
		ctx, span = tr.Tracer().Start(ctx, r.Method, trace.WithSpanKind(kind))
	}
	rw := &statusWriter{ResponseWriter: w}
	req := r.WithContext(ctx)
	serve(rw, req)

	route := req.Pattern // set by the mux on the request it routed
	if route == "" {
		if _, p := s.mux.Handler(r); p != "" {
			route = p // answered before routing, e.g. 413 on Content-Length
		} else {
			route = unroutedRoute
		}
	}
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	status := strconv.Itoa(rw.status)
	tenantID := obs.tenantID
	if tenantID == "" {
		tenantID = noTenant
	}
	s.opts.Metrics.HTTPRequests.WithLabelValues(r.Method, route, status, tenantID).Inc()
	s.opts.Metrics.HTTPDuration.WithLabelValues(r.Method, route, status).Observe(time.Since(start).Seconds())
	if span != nil {
		span.SetName(route)
		attrs := [5]attribute.KeyValue{ // one call: every SetAttributes takes the span's lock
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
			attribute.String("http.route", route), attribute.Int("http.response.status_code", rw.status),
			attribute.String("tenant.id", tenantID),
		}
		span.SetAttributes(attrs[:]...)
		if rw.status >= 500 {
			span.SetStatus(codes.Error, status)
		}
		span.End()
	}
}
