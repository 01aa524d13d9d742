// Package queue is the SQS side of the workers and their producers: the
// versioned message envelope, sending, and batch processing with
// partial batch failures.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// Version is the envelope version this code writes and reads.
const Version = 1

// Envelope is the head of every message body: {"v":1,"type":"campaign.chunk",...}.
type Envelope struct {
	V    int    `json:"v"`
	Type string `json:"type"`
}

// HandlerFunc handles the body of one message of a known type.
type HandlerFunc func(ctx context.Context, msg events.SQSMessage) error

// Router dispatches messages by envelope type.
type Router struct {
	handlers map[string]HandlerFunc
	log      *slog.Logger
	// Keeper, when set, holds each batch's messages invisible while the
	// batch is processed (see Keeper).
	Keeper *Keeper
}

// NewRouter returns a Router that logs to logger.
func NewRouter(logger *slog.Logger) *Router {
	return &Router{handlers: map[string]HandlerFunc{}, log: logger}
}

// Handle registers fn for messages of type typ.
func (r *Router) Handle(typ string, fn HandlerFunc) { r.handlers[typ] = fn }

// ErrUnknownMessage marks a message this worker cannot read: it is reported
// as failed on every receive, so the queue's redrive moves it to the DLQ.
var ErrUnknownMessage = errors.New("unknown message")

// Dispatch handles one message, in a span that continues the producer's
// trace carried by the message's traceparent/tracestate attributes.
func (r *Router) Dispatch(ctx context.Context, msg events.SQSMessage) (err error) {
	ctx, end := telemetry.StartMessage(ctx, msg)
	defer func() { end(err) }()
	var env Envelope
	if err := json.Unmarshal([]byte(msg.Body), &env); err != nil {
		return fmt.Errorf("%w: body is not a JSON envelope: %v", ErrUnknownMessage, err)
	}
	if env.V != Version {
		return fmt.Errorf("%w: version %d, this worker reads %d", ErrUnknownMessage, env.V, Version)
	}
	fn, ok := r.handlers[env.Type]
	if !ok {
		return fmt.Errorf("%w: type %q", ErrUnknownMessage, env.Type)
	}
	return fn(ctx, msg)
}

// Process handles every message of a batch and reports the failed ones, so
// one bad message never makes the others run twice. A failed message whose
// error carries a retry delay (RetryDelay) comes back after it.
func (r *Router) Process(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	hold := r.Keeper.Hold(ctx, ev.Records)
	retry := map[string]time.Duration{}
	defer func() { hold.Release(ctx, retry) }()
	for _, msg := range ev.Records {
		if err := r.Dispatch(ctx, msg); err != nil {
			if d, ok := RetryDelay(err); ok {
				retry[msg.MessageId] = d
			}
			r.log.ErrorContext(ctx, "message failed",
				"message_id", msg.MessageId, "receive_count", msg.Attributes["ApproximateReceiveCount"],
				"queue", queueName(msg.EventSourceARN), "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}
	return resp, nil
}

func queueName(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// Client sends messages and probes queues.
type Client struct {
	SQS *sqs.Client
	// Probed are the queue URLs /health checks.
	Probed []string
	// Attributes, when set, returns message attributes to carry from the
	// sender's context (telemetry sets it to inject the trace context).
	Attributes func(ctx context.Context) map[string]types.MessageAttributeValue
}

// Send writes msg (a struct embedding Envelope, or any JSON value) to
// queueURL, delayed by delaySeconds (0–900).
func (c *Client) Send(ctx context.Context, queueURL string, msg any, delaySeconds int32) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode message for %s: %w", queueName(queueURL), err)
	}
	_, err = c.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(queueURL),
		MessageBody:       aws.String(string(body)),
		DelaySeconds:      delaySeconds,
		MessageAttributes: c.attributes(ctx),
	})
	if err != nil {
		return fmt.Errorf("send to %s: %w", queueURL, err)
	}
	return nil
}

func (c *Client) attributes(ctx context.Context) map[string]types.MessageAttributeValue {
	if c.Attributes == nil {
		return nil
	}
	return c.Attributes(ctx)
}

// Probe checks that every probed queue answers.
func (c *Client) Probe(ctx context.Context) error {
	for _, u := range c.Probed {
		_, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(u),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
		})
		if err != nil {
			return fmt.Errorf("queue %s: %w", queueName(u), err)
		}
	}
	return nil
}
