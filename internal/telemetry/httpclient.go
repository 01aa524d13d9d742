package telemetry

import (
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
	ctx, span := tr.tracer.Start(req.Context(), req.Method+" "+req.URL.Path,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", req.Method),
			attribute.String("server.address", req.URL.Hostname()),
			attribute.String("url.path", req.URL.Path),
		))
	defer span.End()
	req = req.Clone(ctx)
	tr.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode))
	}
	return resp, nil
}
