package telemetry

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// HTTPClient returns a copy of base (http.DefaultClient when nil) whose
// calls are client spans of the caller's trace, with the traceparent sent
// along. The Tracing is taken from each request's context (TracingFrom), so
// a client built at start-up, before any invocation, still joins the
// invocation's trace; with tracing off a call costs one context lookup.
// The span names the method and path only: query strings may carry tokens.
func HTTPClient(base *http.Client) *http.Client {
	if base == nil {
		base = http.DefaultClient
	}
	c := *base
	inner := c.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	c.Transport = &transport{inner: inner}
	return &c
}

type transport struct{ inner http.RoundTripper }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr := TracingFrom(req.Context())
	if tr == nil {
		return t.inner.RoundTrip(req)
	}
	ctx, span := tr.startClientSpan(req.Context(), req.Method, req.URL.Hostname(), req.URL.Path)
	defer span.End()
	req = req.Clone(ctx)
	tr.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		endClientSpan(span, 0, err)
		return nil, err
	}
	endClientSpan(span, resp.StatusCode, nil)
	return resp, nil
}

// StartClientCall opens the client span of an HTTP call made without
// net/http's client (wuzapi.Pool.Trace), as HTTPClient's transport does:
// the call's context, the header fields that carry the trace (traceparent,
// tracestate) and the span's end, given the answer's status (0: none) and
// the call's error. With tracing off it costs one context lookup and
// returns ctx, no header and a nil end.
func StartClientCall(ctx context.Context, method, host, path string) (context.Context, http.Header, func(status int, err error)) {
	tr := TracingFrom(ctx)
	if tr == nil {
		return ctx, nil, nil
	}
	ctx, span := tr.startClientSpan(ctx, method, host, path)
	h := http.Header{}
	tr.Propagator.Inject(ctx, propagation.HeaderCarrier(h))
	return ctx, h, func(status int, err error) {
		endClientSpan(span, status, err)
		span.End()
	}
}

// startClientSpan opens a client span named for the method and path only
// (query strings may carry tokens).
func (t *Tracing) startClientSpan(ctx context.Context, method, host, path string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, method+" "+path,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", method),
			attribute.String("server.address", host),
			attribute.String("url.path", path),
		))
}

// endClientSpan records a call's outcome on its span: the error, or the
// answer's status (a 5xx is an error).
func endClientSpan(span trace.Span, status int, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		if status == 0 {
			return
		}
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
}
