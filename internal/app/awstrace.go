package app

import (
	"context"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// awsTracerName is the instrumentation scope of the AWS SDK calls' spans.
const awsTracerName = "github.com/wuzapi-manager/wuzapi-manager/internal/app/aws"

// appendAWSTracing adds a client span to every AWS SDK call made with
// apiOptions, named "<service>.<operation>" ("SQS.SendMessage") with the
// attributes otelaws gave it (rpc.system.name aws-api, rpc.method, the
// region, the status code, the request id, the queue URL or the S3 bucket and
// key), and injects the trace context into the request's headers.
//
// It stands in for otelaws: that package imports the SDK's DynamoDB and SNS
// clients for their attributes, and their package initialisation (tables of
// operation schemas and endpoints) cost every function's cold start several
// milliseconds although no function calls either service.
func appendAWSTracing(apiOptions *[]func(*middleware.Stack) error, tp trace.TracerProvider, prop propagation.TextMapPropagator) {
	t := awsTracer{tracer: tp.Tracer(awsTracerName), prop: prop}
	*apiOptions = append(*apiOptions, t.install)
}

type awsTracer struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// install adds the span (after the SDK has named the service and operation),
// the status code and request id (as the response is read) and the trace
// context (on the signed request) to one call's stack.
func (t awsTracer) install(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("WuzapiAWSSpan", t.span), middleware.After); err != nil {
		return err
	}
	if err := stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("WuzapiAWSPropagate", t.inject), middleware.After); err != nil {
		return err
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("WuzapiAWSResponse", responseAttributes), middleware.Before)
}

func (t awsTracer) span(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	middleware.InitializeOutput, middleware.Metadata, error,
) {
	service, operation := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	attrs := append([]attribute.KeyValue{
		semconv.RPCSystemNameKey.String("aws-api"),
		semconv.RPCMethod(service + "/" + operation),
		attribute.String("aws.region", awsmiddleware.GetRegion(ctx)),
	}, inputAttributes(in.Parameters)...)
	ctx, span := t.tracer.Start(ctx, service+"."+operation,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	out, md, err := next.HandleInitialize(ctx, in)
	if err != nil {
		span.SetAttributes(semconv.ErrorType(err))
		span.SetStatus(codes.Error, err.Error())
	}
	return out, md, err
}

func (t awsTracer) inject(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		t.prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	return next.HandleFinalize(ctx, in)
}

func responseAttributes(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
		span := trace.SpanFromContext(ctx)
		span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
		if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok {
			span.SetAttributes(attribute.String("aws.request_id", id))
		}
	}
	return out, md, err
}

// inputAttributes are the queue or the object a call names, for the calls
// the functions make.
func inputAttributes(params any) []attribute.KeyValue {
	queue := func(url *string) []attribute.KeyValue {
		if url == nil {
			return []attribute.KeyValue{semconv.MessagingSystemAWSSQS}
		}
		return []attribute.KeyValue{semconv.MessagingSystemAWSSQS, semconv.ServerAddress(*url)}
	}
	object := func(bucket, key *string) []attribute.KeyValue {
		var a []attribute.KeyValue
		if bucket != nil {
			a = append(a, semconv.AWSS3Bucket(*bucket))
		}
		if key != nil {
			a = append(a, semconv.AWSS3Key(*key))
		}
		return a
	}
	switch p := params.(type) {
	case *sqs.SendMessageInput:
		return queue(p.QueueUrl)
	case *sqs.SendMessageBatchInput:
		return queue(p.QueueUrl)
	case *sqs.ReceiveMessageInput:
		return queue(p.QueueUrl)
	case *sqs.DeleteMessageInput:
		return queue(p.QueueUrl)
	case *sqs.DeleteMessageBatchInput:
		return queue(p.QueueUrl)
	case *sqs.ChangeMessageVisibilityInput:
		return queue(p.QueueUrl)
	case *sqs.GetQueueAttributesInput:
		return queue(p.QueueUrl)
	case *s3.GetObjectInput:
		return object(p.Bucket, p.Key)
	case *s3.PutObjectInput:
		return object(p.Bucket, p.Key)
	case *s3.HeadObjectInput:
		return object(p.Bucket, p.Key)
	case *s3.DeleteObjectInput:
		return object(p.Bucket, p.Key)
	case *s3.CreateMultipartUploadInput:
		return object(p.Bucket, p.Key)
	case *s3.UploadPartInput:
		return object(p.Bucket, p.Key)
	case *s3.CompleteMultipartUploadInput:
		return object(p.Bucket, p.Key)
	}
	return nil
}
