package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
)

// Untraced are the paths that never get a span: probes and
// scrapes would drown the traces that matter.
var Untraced = map[string]bool{"/health": true, "/metrics": true}

// FlushTimeout bounds the end-of-invocation flush of spans and metrics, so a
// dead collector or Redis costs an invocation at most this much.
const FlushTimeout = 2 * time.Second

// Invocations describes how Wrap observes a function's invocations.
type Invocations struct {
	// Function is the function's short name: the invocation span's name.
	Function string
	// Tracing records the invocation span; nil or off: no span.
	Tracing *Tracing
	// Flush runs after every invocation, before it returns (the fleet
	// metrics flush); nil: nothing.
	Flush func(ctx context.Context) error
	// Pending, when set, reports whether Flush has anything to do now
	// (Flusher.Pending). When it reports false and tracing is off, the
	// invocation ends without calling Flush or building the flush's
	// bounded context and its timer; nil: Flush runs after every
	// invocation.
	Pending func() bool
	// Logger reports flush failures, which never fail an invocation.
	Logger *slog.Logger
}

// trigger is what kind of event a handler takes, found once by reflection.
type trigger int

const (
	triggerOther trigger = iota
	triggerHTTP
	triggerSQS
	triggerTimer
)

func (t trigger) String() string {
	switch t {
	case triggerHTTP:
		return "http"
	case triggerSQS:
		return "pubsub"
	case triggerTimer:
		return "timer"
	}
	return "other"
}

// Wrap returns a Lambda handler around handler, any function lambda.Start
// accepts (or a lambda.Handler). Every invocation gets one server span,
// carries the Tracing in its context (TracingFrom), and flushes spans and
// metrics before returning, because Lambda freezes the process as soon as
// the handler returns.
//
// An API Gateway handler of apigw.Handler's type gets its span once the
// runtime has decoded the event, the one decode: the span continues the
// caller's traceparent header, and the Untraced paths get none. Any other
// handler's span opens before the event is decoded.
//
// An API Gateway handler's event and response are decoded and encoded by
// apigw without reflection; any other handler's by aws-lambda-go's
// encoding/json reflection.
func Wrap(handler any, inv Invocations) lambda.Handler {
	w := &wrapped{inv: inv, trigger: triggerOf(handler)}
	w.cold.Store(true)
	switch h, ok := handler.(HTTPHandler); {
	case ok && inv.Tracing.Enabled():
		w.inner, w.spanAfterDecode = httpInvoker(w.traceHTTP(h)), true
	case ok:
		w.inner = httpInvoker(h)
	default:
		w.inner = lambda.NewHandler(handler)
	}
	return w
}

// httpInvoker serves an API Gateway handler's invocations.
type httpInvoker HTTPHandler

func (h httpInvoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return h.InvokeAppend(ctx, payload, nil)
}

// InvokeAppend is Invoke with the response document appended to dst.
func (h httpInvoker) InvokeAppend(ctx context.Context, payload, dst []byte) ([]byte, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := apigw.DecodeRequest(payload, &ev); err != nil {
		return nil, err
	}
	resp, err := h(ctx, ev)
	if err != nil {
		return nil, err
	}
	// Room for the usual headers and the body's escapes (a JSON body's
	// quotes double), so the document is written without growing its
	// buffer.
	if n := 768 + len(resp.Body) + len(resp.Body)/4; cap(dst)-len(dst) < n {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	return apigw.AppendResponse(dst, resp), nil
}

// appender is a handler that appends its response to a buffer
// (lambdaruntime.AppendHandler).
type appender interface {
	InvokeAppend(ctx context.Context, payload, dst []byte) ([]byte, error)
}

// HTTPHandler serves API Gateway HTTP API (payload 2.0) events.
type HTTPHandler = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

type wrapped struct {
	inner           lambda.Handler
	inv             Invocations
	trigger         trigger
	spanAfterDecode bool // inner opens the span itself (traceHTTP)
	cold            atomic.Bool
}

func triggerOf(handler any) trigger {
	t := reflect.TypeOf(handler)
	if t == nil || t.Kind() != reflect.Func || t.NumIn() == 0 {
		return triggerOther
	}
	switch t.In(t.NumIn() - 1) {
	case reflect.TypeFor[events.APIGatewayV2HTTPRequest]():
		return triggerHTTP
	case reflect.TypeFor[events.SQSEvent]():
		return triggerSQS
	case reflect.TypeFor[events.EventBridgeEvent]():
		return triggerTimer
	}
	return triggerOther
}

// spanAttrsKey carries an invocation's span attributes to traceHTTP.
type spanAttrsKey struct{}

// Invoke serves one invocation.
func (w *wrapped) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return w.InvokeAppend(ctx, payload, nil)
}

// InvokeAppend is Invoke with the response appended to dst when the
// handler is an HTTP one; any other's response is returned as it is.
func (w *wrapped) InvokeAppend(ctx context.Context, payload, dst []byte) ([]byte, error) {
	cold := w.cold.Swap(false)
	var span trace.Span
	if t := w.inv.Tracing; t.Enabled() {
		ctx = WithTracing(ctx, t)
		attrs := w.spanAttributes(ctx, cold)
		if w.spanAfterDecode {
			ctx = context.WithValue(ctx, spanAttrsKey{}, attrs)
		} else {
			ctx, span = w.startSpan(ctx, t, attrs)
		}
	}
	defer func() {
		// The runtime library turns a panic into an invocation error; the
		// span and the counts of the invocation still go out first.
		if v := recover(); v != nil {
			endPanicked(span, v)
			w.flush(ctx)
			panic(v)
		}
	}()
	var out []byte
	var err error
	if a, ok := w.inner.(appender); ok {
		out, err = a.InvokeAppend(ctx, payload, dst)
	} else {
		out, err = w.inner.Invoke(ctx, payload)
	}
	endSpan(span, err)
	w.flush(ctx)
	return out, err
}

// traceHTTP wraps h so that the invocation span opens after the runtime has
// decoded the event, from its rawPath and headers.
func (w *wrapped) traceHTTP(h HTTPHandler) HTTPHandler {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		t := TracingFrom(ctx)
		if t == nil || Untraced[ev.RawPath] {
			return h(ctx, ev)
		}
		attrs, _ := ctx.Value(spanAttrsKey{}).([]attribute.KeyValue)
		ctx = t.Propagator.Extract(ctx, headerCarrier(ev.Headers))
		ctx, span := w.startSpan(ctx, t, attrs)
		defer func() {
			if v := recover(); v != nil {
				endPanicked(span, v)
				panic(v)
			}
		}()
		resp, err := h(ctx, ev)
		endSpan(span, err)
		return resp, err
	}
}

// spanAttributes are the invocation span's attributes.
func (w *wrapped) spanAttributes(ctx context.Context, cold bool) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String("faas.trigger", w.trigger.String()),
		attribute.Bool("faas.coldstart", cold),
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, attribute.String("faas.invocation_id", lc.AwsRequestID),
			attribute.String("cloud.resource_id", lc.InvokedFunctionArn))
	}
	return attrs
}

// startSpan opens the invocation span, named by the function.
func (w *wrapped) startSpan(ctx context.Context, t *Tracing, attrs []attribute.KeyValue) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, w.inv.Function, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
}

// endSpan ends an invocation span (nil: none), recording err.
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// endPanicked ends an invocation span (nil: none) whose handler panicked.
func endPanicked(span trace.Span, v any) {
	if span == nil {
		return
	}
	span.SetStatus(codes.Error, fmt.Sprintf("panic: %v", v))
	span.End()
}

func (w *wrapped) flush(ctx context.Context) {
	tracing := w.inv.Tracing.Enabled()
	if !tracing && (w.inv.Flush == nil || w.inv.Pending != nil && !w.inv.Pending()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FlushTimeout)
	defer cancel()
	var metricsErr, spansErr error
	switch {
	case w.inv.Flush != nil && tracing:
		// Redis and the collector are two round trips: wait for the
		// slower, not for both in turn.
		var wg sync.WaitGroup
		wg.Go(func() { metricsErr = w.inv.Flush(ctx) })
		spansErr = w.inv.Tracing.Flush(ctx)
		wg.Wait()
	case w.inv.Flush != nil:
		// No goroutine to start and wait for: most invocations flush
		// nothing (the metrics at most every 10 s).
		metricsErr = w.inv.Flush(ctx)
	default:
		spansErr = w.inv.Tracing.Flush(ctx)
	}
	if err := errors.Join(metricsErr, spansErr); err != nil && w.inv.Logger != nil {
		w.inv.Logger.WarnContext(ctx, "telemetry flush failed", "error", err.Error())
	}
}

// headerCarrier reads API Gateway's header map, whose names are lower-case.
type headerCarrier map[string]string

var _ propagation.TextMapCarrier = headerCarrier(nil)

func (h headerCarrier) Get(key string) string { return h[key] }
func (h headerCarrier) Set(key, value string) { h[key] = value }
func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}
