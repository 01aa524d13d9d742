package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// TestClientCallOfTheWuzAPIPool: a call through the WuzAPI pool is a
// client span of the caller's trace, as HTTPClient's calls are, and
// carries the traceparent; with tracing off nothing is sent along.
func TestClientCallOfTheWuzAPIPool(t *testing.T) {
	t.Parallel()
	var seen atomic.Value
	var status atomic.Int32
	status.Store(200)
	wuz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("traceparent"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		_, _ = io.WriteString(w, `{"code":200,"data":{"Details":"Sent","Id":"3EB0X","Timestamp":1716400000},"success":true}`)
	}))
	t.Cleanup(wuz.Close)
	pool := wuzapi.Guard{AllowPrivate: true}.Pool(5 * time.Second)
	pool.Trace = telemetry.StartClientCall
	c := pool.Client(wuz.URL, "tok")

	if _, err := c.SendText(context.Background(), "5511999998888", "hi", "3EB0X"); err != nil {
		t.Fatal(err)
	}
	if got, _ := seen.Load().(string); got != "" {
		t.Fatalf("tracing off: WuzAPI got traceparent %q", got)
	}

	tr, exp := memTracing(t)
	ctx, parent := tr.Tracer().Start(telemetry.WithTracing(context.Background(), tr), "process campaigns")
	if _, err := c.SendText(ctx, "5511999998888", "hi", "3EB0X"); err != nil {
		t.Fatal(err)
	}
	status.Store(502)
	if _, err := c.SendText(ctx, "5511999998888", "hi", "3EB0X"); err == nil {
		t.Fatal("a 502 was no error")
	}
	parent.End()
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := seen.Load().(string); len(got) < 35 || got[3:35] != parent.SpanContext().TraceID().String() {
		t.Errorf("WuzAPI got traceparent %q, want trace %s", got, parent.SpanContext().TraceID())
	}
	var calls int
	for _, s := range exp.GetSpans() {
		if s.Name != "POST /chat/send/text" {
			continue
		}
		calls++
		attrs := attribute.NewSet(s.Attributes...)
		method, _ := attrs.Value("http.request.method")
		host, _ := attrs.Value("server.address")
		path, _ := attrs.Value("url.path")
		code, _ := attrs.Value("http.response.status_code")
		if s.SpanKind != trace.SpanKindClient || s.Parent.SpanID() != parent.SpanContext().SpanID() ||
			method.AsString() != "POST" || host.AsString() != "127.0.0.1" || path.AsString() != "/chat/send/text" {
			t.Errorf("call span %+v", s)
		}
		if wantErr := code.AsInt64() == 502; (s.Status.Code == codes.Error) != wantErr || (code.AsInt64() != 200 && !wantErr) {
			t.Errorf("call span status %v with code %d", s.Status, code.AsInt64())
		}
	}
	if calls != 2 {
		t.Fatalf("%d call spans, want 2 (spans: %v)", calls, names(exp.GetSpans()))
	}
}
