package local

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// maxReceive is the most messages one ReceiveMessage returns.
const maxReceive = 10

// poller is one SQS event source mapping: it receives batches from a queue,
// invokes the function with each, and deletes the messages the function
// handled. Failed messages stay in the queue and come back after the
// visibility timeout; the queue's redrive policy moves them to the DLQ.
type poller struct {
	sqs         *sqs.Client
	queueURL    string
	queueARN    string
	region      string
	function    string
	batchSize   int
	window      time.Duration
	partial     bool // ReportBatchItemFailures
	wait        time.Duration
	visibility  time.Duration // 0: the queue's
	concurrency int           // batches in flight at once
	invoke      invoker
	log         *slog.Logger
}

// run polls until ctx ends, then waits for the batches in flight.
func (p *poller) run(ctx context.Context) {
	inflight := make(chan struct{}, p.concurrency)
	defer func() {
		for range cap(inflight) {
			inflight <- struct{}{}
		}
	}()
	backoff := time.Duration(0)
	for {
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		msgs, err := p.receiveBatch(ctx)
		if err != nil {
			<-inflight
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, 500*time.Millisecond), 10*time.Second)
			p.log.Warn("receive from queue", "queue", p.queueURL, "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		if len(msgs) == 0 {
			<-inflight
			continue
		}
		go func() {
			defer func() { <-inflight }()
			p.handle(ctx, msgs)
		}()
	}
}

// receiveBatch receives up to batchSize messages, receiving again while the
// batching window is open and the batch is not full.
func (p *poller) receiveBatch(ctx context.Context) ([]sqstypes.Message, error) {
	var batch []sqstypes.Message
	var deadline time.Time
	wait := p.wait
	for len(batch) < p.batchSize {
		in := p.receiveInput(p.batchSize - len(batch))
		in.WaitTimeSeconds = int32(wait / time.Second)
		out, err := p.sqs.ReceiveMessage(ctx, in)
		if err != nil {
			if len(batch) > 0 && ctx.Err() == nil {
				return batch, nil
			}
			return nil, err
		}
		batch = append(batch, out.Messages...)
		if len(batch) == 0 || p.window == 0 {
			break
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(p.window)
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		wait = min(p.wait, left.Truncate(time.Second))
	}
	return batch, nil
}

// receiveInput asks for up to want messages with every attribute, as
// Lambda's event source mapping does.
func (p *poller) receiveInput(want int) *sqs.ReceiveMessageInput {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.queueURL),
		MaxNumberOfMessages:         int32(min(maxReceive, want)),
		WaitTimeSeconds:             int32(p.wait / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	}
	if p.visibility > 0 {
		in.VisibilityTimeout = int32(max(1, p.visibility/time.Second))
	}
	return in
}

// handle invokes the function with a batch and deletes what succeeded.
func (p *poller) handle(ctx context.Context, msgs []sqstypes.Message) {
	payload, err := json.Marshal(p.event(msgs))
	if err != nil {
		p.log.Error("encode SQS event", "err", err)
		return
	}
	out, err := p.invoke(ctx, payload)
	if err != nil {
		if !errors.Is(err, ErrClosed) && ctx.Err() == nil {
			p.log.Warn("batch failed: its messages return after the visibility timeout", "function", p.function, "messages", len(msgs), "err", err)
		}
		return
	}
	failed := p.failures(out, msgs)
	var done []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		if failed[aws.ToString(m.MessageId)] {
			continue
		}
		done = append(done, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if n := len(msgs) - len(done); n > 0 {
		p.log.Info("batch item failures: they return after the visibility timeout", "function", p.function, "failed", n, "of", len(msgs))
	}
	p.delete(context.WithoutCancel(ctx), done)
}

// failures returns the ids of the messages that stay in the queue. Without
// ReportBatchItemFailures a successful invocation handles the whole batch.
// As Lambda does, an unparseable answer or an id that is not in the batch
// fails the whole batch.
func (p *poller) failures(out []byte, msgs []sqstypes.Message) map[string]bool {
	failed := map[string]bool{}
	if !p.partial {
		return failed
	}
	all := func(reason string) map[string]bool {
		p.log.Warn("batch failed: "+reason, "function", p.function)
		for _, m := range msgs {
			failed[aws.ToString(m.MessageId)] = true
		}
		return failed
	}
	var resp events.SQSEventResponse
	if len(out) == 0 || string(out) == "null" {
		return failed
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return all("the response is not a batch item failures document")
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[aws.ToString(m.MessageId)] = true
	}
	for _, f := range resp.BatchItemFailures {
		if !ids[f.ItemIdentifier] {
			return all("a batch item failure names a message that is not in the batch: " + strconv.Quote(f.ItemIdentifier))
		}
		failed[f.ItemIdentifier] = true
	}
	return failed
}

func (p *poller) delete(ctx context.Context, entries []sqstypes.DeleteMessageBatchRequestEntry) {
	for len(entries) > 0 {
		n := min(maxReceive, len(entries))
		out, err := p.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: entries[:n]})
		if err != nil {
			p.log.Error("delete handled messages", "queue", p.queueURL, "err", err)
		} else {
			for _, f := range out.Failed {
				p.log.Error("delete handled message", "queue", p.queueURL, "code", aws.ToString(f.Code), "message", aws.ToString(f.Message))
			}
		}
		entries = entries[n:]
	}
}

// event builds the Lambda SQS event of a batch.
func (p *poller) event(msgs []sqstypes.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		rec := events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             m.Attributes,
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         p.queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              p.region,
		}
		if rec.Attributes == nil {
			rec.Attributes = map[string]string{}
		}
		for k, a := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{
				StringValue:      a.StringValue,
				BinaryValue:      a.BinaryValue,
				StringListValues: a.StringListValues,
				BinaryListValues: a.BinaryListValues,
				DataType:         aws.ToString(a.DataType),
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}
