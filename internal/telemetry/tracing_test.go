package telemetry_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sivchari/kumo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func memTracing(t *testing.T) (*telemetry.Tracing, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingConfig{
		Exporter: exp, ServiceVersion: "test", Environment: "test", Function: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, exp
}

// sqsQueue is a fresh queue on an in-process kumo.
func sqsQueue(t *testing.T) (*sqs.Client, string) {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	client := sqs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("campaigns-" + hex.EncodeToString(b))})
	if err != nil {
		t.Fatal(err)
	}
	return client, *out.QueueUrl
}

// receive reads the queue the way the event source mapping does and
// returns the batch as the worker's event.
func receive(t *testing.T, client *sqs.Client, url string) events.SQSEvent {
	t.Helper()
	out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	for _, m := range out.Messages {
		attrs := map[string]events.SQSMessageAttribute{}
		for k, v := range m.MessageAttributes {
			attrs[k] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue}
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), MessageAttributes: attrs,
			EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:campaigns",
		})
	}
	return ev
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOneTraceFromRequestToWuzAPI follows a request through the API
// invocation, a real SQS round trip and the worker's dispatch to a WuzAPI
// call: every span on the way carries the client's trace id, and the spans
// are exported before each invocation returns.
func TestOneTraceFromRequestToWuzAPI(t *testing.T) {
	t.Parallel()
	tr, exp := memTracing(t)
	sqsc, url := sqsQueue(t)
	producer := &queue.Client{SQS: sqsc, Attributes: tr.MessageAttributes}

	var seen atomic.Value // traceparent the fake WuzAPI received
	wuz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("traceparent"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"code":200,"data":{"Details":"Sent","Id":"3EB0X"},"success":true}`)
	}))
	t.Cleanup(wuz.Close)
	wuzClient := telemetry.HTTPClient(wuz.Client())

	api := telemetry.Wrap(apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := producer.Send(r.Context(), url, map[string]any{"v": 1, "type": "campaign.chunk"}, 0); err != nil {
			t.Errorf("send: %v", err)
		}
		w.WriteHeader(http.StatusAccepted)
	})), telemetry.Invocations{Function: "api", Tracing: tr, Logger: discard()})

	router := queue.NewRouter(discard())
	router.Handle("campaign.chunk", func(ctx context.Context, _ events.SQSMessage) error {
		req, err := http.NewRequestWithContext(ctx, "POST", wuz.URL+"/chat/send/text", bytes.NewReader([]byte(`{}`)))
		if err != nil {
			return err
		}
		resp, err := wuzClient.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	worker := telemetry.Wrap(router.Process, telemetry.Invocations{Function: "campaign-worker", Tracing: tr, Logger: discard()})

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: "/v1/campaigns",
		Headers: map[string]string{"traceparent": "00-" + clientTrace + "-00f067aa0ba902b7-01"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v1/campaigns"},
		},
	}
	if _, err := api.Invoke(context.Background(), mustJSON(t, ev)); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 1 {
		t.Fatalf("after the API invocation returned: %d spans exported, want 1 (flushed before returning)", n)
	}
	batch := receive(t, sqsc, url)
	if len(batch.Records) != 1 || batch.Records[0].MessageAttributes["traceparent"].StringValue == nil {
		t.Fatalf("queued message = %+v, want one with a traceparent attribute", batch.Records)
	}
	out, err := worker.Invoke(context.Background(), mustJSON(t, batch))
	if err != nil {
		t.Fatal(err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("worker answered %s (%v), want no failures", out, err)
	}

	spans := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		spans[s.Name] = s
	}
	apiSpan, process, call, inv := spans["api"], spans["process campaigns"], spans["POST /chat/send/text"], spans["campaign-worker"]
	for name, s := range map[string]tracetest.SpanStub{"api": apiSpan, "process": process, "wuzapi call": call} {
		if got := s.SpanContext.TraceID().String(); got != clientTrace {
			t.Errorf("%s span trace id = %s, want the client's %s (spans: %v)", name, got, clientTrace, names(exp.GetSpans()))
		}
	}
	if apiSpan.SpanKind != trace.SpanKindServer || process.Parent.SpanID() != apiSpan.SpanContext.SpanID() ||
		call.Parent.SpanID() != process.SpanContext.SpanID() {
		t.Errorf("span tree api(%s) → process(parent %s) → call(parent %s) is broken",
			apiSpan.SpanContext.SpanID(), process.Parent.SpanID(), call.Parent.SpanID())
	}
	if len(process.Links) != 1 || process.Links[0].SpanContext.SpanID() != inv.SpanContext.SpanID() {
		t.Errorf("process span links = %v, want the worker invocation %s", process.Links, inv.SpanContext.SpanID())
	}
	if got, _ := seen.Load().(string); len(got) < 35 || got[3:35] != clientTrace {
		t.Errorf("WuzAPI got traceparent %q, want trace %s", got, clientTrace)
	}
	res := apiSpan.Resource
	if v, _ := res.Set().Value("service.name"); v.AsString() != "wuzapi-manager" {
		t.Errorf("resource service.name = %q", v.AsString())
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func TestUntracedPathsAndTracingOff(t *testing.T) {
	t.Parallel()
	tr, exp := memTracing(t)
	var calls int
	h := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if trace.SpanContextFromContext(r.Context()).IsValid() {
			t.Errorf("%s has a span", r.URL.Path)
		}
	}))
	wrapped := telemetry.Wrap(h, telemetry.Invocations{Function: "api", Tracing: tr})
	for _, p := range []string{"/health", "/metrics"} {
		if _, err := wrapped.Invoke(context.Background(), mustJSON(t, events.APIGatewayV2HTTPRequest{RawPath: p})); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(exp.GetSpans()); n != 0 || calls != 2 {
		t.Fatalf("untraced paths: %d spans, %d calls; want 0 spans, 2 calls", n, calls)
	}

	off := telemetry.Off()
	var flushed int
	plain := telemetry.Wrap(func(ctx context.Context, _ events.EventBridgeEvent) error {
		if telemetry.TracingFrom(ctx) != nil || trace.SpanContextFromContext(ctx).IsValid() {
			t.Error("tracing off, yet the context carries tracing")
		}
		if attrs := off.MessageAttributes(ctx); attrs != nil {
			t.Errorf("tracing off: message attributes %v", attrs)
		}
		return nil
	}, telemetry.Invocations{Function: "scheduler", Tracing: off, Flush: func(context.Context) error { flushed++; return nil }})
	if _, err := plain.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if flushed != 1 {
		t.Fatalf("metrics flushed %d times, want 1 per invocation", flushed)
	}
}

// TestOTLPFlushedBeforeReturn points the real OTLP/HTTP exporter at a
// receiver: the spans of an invocation have arrived when Invoke returns,
// although the batch processor alone would hold them for a minute.
func TestOTLPFlushedBeforeReturn(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies [][]byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			bodies = append(bodies, b)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(collector.Close)
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingConfig{Endpoint: collector.URL + "/", Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	h := telemetry.Wrap(func(ctx context.Context, _ events.EventBridgeEvent) error {
		_, span := tr.Tracer().Start(ctx, "job")
		span.End()
		return nil
	}, telemetry.Invocations{Function: "scheduler", Tracing: tr})
	if _, err := h.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || !bytes.Contains(bodies[0], []byte("wuzapi-manager")) || !bytes.Contains(bodies[0], []byte("job")) {
		t.Fatalf("collector got %d exports before Invoke returned, want 1 holding the resource and the span", len(bodies))
	}
}

func TestResource(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "wm-api")
	t.Setenv("AWS_REGION", "sa-east-1")
	t.Setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
	res, err := telemetry.Resource(context.Background(), telemetry.TracingConfig{ServiceVersion: "1.2.3", Environment: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"service.name": "wuzapi-manager", "service.version": "1.2.3", "deployment.environment": "prod",
		"faas.name": "wm-api", "cloud.region": "sa-east-1", "cloud.provider": "aws",
	}
	for k, v := range want {
		if got, ok := res.Set().Value(attributeKey(k)); !ok || got.String() != v {
			t.Errorf("resource %s = %q, want %q", k, got.String(), v)
		}
	}
}

func attributeKey(k string) attribute.Key { return attribute.Key(k) }

func TestChildOnlyProviderStartsNoRootSpans(t *testing.T) {
	t.Parallel()
	tr, exp := memTracing(t)
	lib := tr.ChildOnly().Tracer("lib")
	_, orphan := lib.Start(context.Background(), "redis PING")
	orphan.End()
	ctx, parent := tr.Tracer().Start(context.Background(), "request")
	_, child := lib.Start(ctx, "redis GET")
	child.End()
	parent.End()
	_, late := lib.Start(ctx, "after the parent ended")
	late.End()
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := names(exp.GetSpans()); len(got) != 2 || got[0] != "redis GET" || got[1] != "request" {
		t.Fatalf("spans = %v, want [redis GET request]", got)
	}
}

func TestPanickingInvocationStillFlushes(t *testing.T) {
	t.Parallel()
	tr, exp := memTracing(t)
	var flushed int
	h := telemetry.Wrap(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) { panic("boom") },
		telemetry.Invocations{Function: "campaign-worker", Tracing: tr, Flush: func(context.Context) error { flushed++; return nil }})
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the handler's panic", v)
			}
		}()
		_, _ = h.Invoke(context.Background(), []byte(`{"Records":[]}`))
	}()
	spans := exp.GetSpans()
	if flushed != 1 || len(spans) != 1 || spans[0].Status.Description != "panic: boom" {
		t.Fatalf("after a panic: %d flushes, spans %v; want 1 flush and the invocation span with the panic", flushed, names(spans))
	}
}
