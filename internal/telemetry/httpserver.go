package telemetry

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// SetHTTPServerAttributes records an HTTP server span's attributes
// (semantic conventions, plus tenant.id) in one step.
func SetHTTPServerAttributes(s trace.Span, method, path, route string, status int, tenantID string) {
	s.SetAttributes(
		attribute.String("http.request.method", method), attribute.String("url.path", path),
		attribute.String("http.route", route), attribute.Int("http.response.status_code", status),
		attribute.String("tenant.id", tenantID),
	)
}
