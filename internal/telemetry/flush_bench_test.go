package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkInvocationFlush is what every invocation pays at its end, on
// top of its handler: the fleet metrics pipeline to Redis (one request's
// counter and histogram deltas) and, with tracing on, the export of its
// spans to an OTLP/HTTP collector (here in-process, on loopback).
//
//	go test -run '^$' -bench InvocationFlush -benchtime 2000x ./internal/telemetry/
func BenchmarkInvocationFlush(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(collector.Close)
	fleet, _ := testFleet(b)
	for _, tc := range []struct {
		name    string
		tracing func() *Tracing
	}{
		{"metrics", Off},
		{"metrics+spans", func() *Tracing {
			tr, err := NewTracing(context.Background(), TracingConfig{Endpoint: collector.URL})
			if err != nil {
				b.Fatal(err)
			}
			return tr
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := NewMetrics()
			tr := tc.tracing()
			fl := fleet.NewFlusher(m, "api", MemoryRatio(0))
			h := Wrap(func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				if t := TracingFrom(ctx); t != nil {
					_, s := t.Tracer().Start(ctx, "GET /v1/me")
					s.End()
				}
				m.HTTPRequests.WithLabelValues("GET", "GET /v1/me", "200", "t1").Inc()
				m.HTTPDuration.WithLabelValues("GET", "GET /v1/me", "200").Observe(0.03)
				return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
			}, Invocations{Function: "api", Tracing: tr, Flush: fl.Flush})
			payload := []byte(`{"rawPath":"/v1/me","headers":{}}`)
			b.ResetTimer()
			for b.Loop() {
				if _, err := h.Invoke(context.Background(), payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
