package app

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
)

// headerRecorder keeps the traceparent header of every request it sends.
type headerRecorder struct {
	mu     sync.Mutex
	parent []string
}

func (h *headerRecorder) Do(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.parent = append(h.parent, r.Header.Get("traceparent"))
	h.mu.Unlock()
	return http.DefaultClient.Do(r)
}

func TestAWSCallsAreClientSpans(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	q, bucket := env.Queue(t, 30*time.Second), env.Bucket(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cfg := env.Config.Copy()
	headers := &headerRecorder{}
	cfg.HTTPClient = headers
	appendAWSTracing(&cfg.APIOptions, tp, propagation.TraceContext{})
	sqsc := sqs.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })

	ctx, parent := tp.Tracer("test").Start(context.Background(), "invocation")
	if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("{}")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k.csv"), Body: strings.NewReader("a")}); err != nil {
		t.Fatal(err)
	}
	_, getErr := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")})
	parent.End()

	tests := []struct {
		name  string
		attrs []attribute.KeyValue
		err   bool
	}{
		{"SQS.SendMessage", []attribute.KeyValue{
			attribute.String("rpc.system.name", "aws-api"), attribute.String("rpc.method", "SQS/SendMessage"),
			attribute.String("aws.region", "us-east-1"), attribute.String("messaging.system", "aws_sqs"),
			attribute.String("server.address", q.URL), attribute.Int("http.response.status_code", 200),
		}, false},
		{"S3.PutObject", []attribute.KeyValue{
			attribute.String("rpc.method", "S3/PutObject"), attribute.String("aws.s3.bucket", bucket),
			attribute.String("aws.s3.key", "k.csv"), attribute.Int("http.response.status_code", 200),
		}, false},
		{"S3.GetObject", []attribute.KeyValue{
			attribute.String("aws.s3.key", "missing"), attribute.Int("http.response.status_code", 404),
		}, true},
	}
	if getErr == nil {
		t.Fatal("GetObject of a missing key: no error")
	}
	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		spans[s.Name()] = s
	}
	for _, tt := range tests {
		s, ok := spans[tt.name]
		if !ok {
			t.Errorf("no span %s among %v", tt.name, keys(spans))
			continue
		}
		if s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("%s: kind %v, parent %v; want client under the invocation's span", tt.name, s.SpanKind(), s.Parent().SpanID())
		}
		got := map[attribute.Key]attribute.Value{}
		for _, a := range s.Attributes() {
			got[a.Key] = a.Value
		}
		for _, want := range tt.attrs {
			if v, ok := got[want.Key]; !ok || v != want.Value {
				t.Errorf("%s: %s = %v, want %v", tt.name, want.Key, v.String(), want.Value.String())
			}
		}
		if failed := s.Status().Code == codes.Error; failed != tt.err {
			t.Errorf("%s: status %v, want error %v", tt.name, s.Status(), tt.err)
		}
	}
	for i, p := range headers.parent {
		if !strings.Contains(p, parent.SpanContext().TraceID().String()) {
			t.Errorf("request %d: traceparent %q, want the invocation's trace %s", i, p, parent.SpanContext().TraceID())
		}
	}
}

func keys(m map[string]sdktrace.ReadOnlySpan) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
