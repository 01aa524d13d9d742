package telemetry

import (
	"context"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// MessageAttributes returns the trace context of ctx as SQS message
// attributes (traceparent, tracestate), for queue.Client.Attributes. Nil
// when tracing is off or ctx has no span, so untraced sends carry nothing.
// SQS allows 10 attributes per message; this uses at most three.
func (t *Tracing) MessageAttributes(ctx context.Context) map[string]types.MessageAttributeValue {
	if !t.Enabled() || !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	carrier := propagation.MapCarrier{}
	t.Propagator.Inject(ctx, carrier)
	if len(carrier) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(carrier))
	for k, v := range carrier {
		out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}

// messageCarrier reads the string attributes of a received SQS message.
type messageCarrier map[string]events.SQSMessageAttribute

func (m messageCarrier) Get(key string) string {
	if a, ok := m[key]; ok && a.StringValue != nil {
		return *a.StringValue
	}
	return ""
}
func (m messageCarrier) Set(string, string) {}
func (m messageCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// StartMessage opens the span of one received message: a consumer span
// that continues the producer's trace from the message's traceparent (so
// one trace runs API → queue → worker → WuzAPI) and links to the batch's
// invocation span. Without a traceparent it is a child of the invocation.
// end closes the span, recording err. With tracing off it returns ctx and a
// no-op end.
func StartMessage(ctx context.Context, msg events.SQSMessage) (context.Context, func(err error)) {
	t := TracingFrom(ctx)
	if t == nil {
		return ctx, func(error) {}
	}
	queue := msg.EventSourceARN
	if i := strings.LastIndexByte(queue, ':'); i >= 0 {
		queue = queue[i+1:]
	}
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "aws_sqs"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", queue),
			attribute.String("messaging.message.id", msg.MessageId),
		),
	}
	parent := ctx
	if producer := t.Propagator.Extract(ctx, messageCarrier(msg.MessageAttributes)); trace.SpanContextFromContext(producer).IsValid() &&
		!trace.SpanContextFromContext(producer).Equal(trace.SpanContextFromContext(ctx)) {
		if inv := trace.SpanContextFromContext(ctx); inv.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: inv}))
		}
		parent = producer
	}
	ctx, span := t.tracer.Start(parent, "process "+queue, opts...)
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}
