package local

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// recorder is a fake function: it records every batch and answers with
// answer.
type recorder struct {
	mu      sync.Mutex
	batches []events.SQSEvent
	answer  func(ev events.SQSEvent) ([]byte, error)
}

func (r *recorder) invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.batches = append(r.batches, ev)
	r.mu.Unlock()
	return r.answer(ev)
}

func (r *recorder) received(body string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.batches {
		for _, m := range b.Records {
			if m.Body == body {
				n++
			}
		}
	}
	return n
}

// failBodies answers with a batch item failure for each record whose body
// is in bodies.
func failBodies(bodies ...string) func(events.SQSEvent) ([]byte, error) {
	return func(ev events.SQSEvent) ([]byte, error) {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, m := range ev.Records {
			if slices.Contains(bodies, m.Body) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return json.Marshal(resp)
	}
}

func startPoller(t *testing.T, c AWSClients, q QueueResource, rec *recorder, partial bool, batch int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	p := &poller{
		sqs: c.SQS, queueURL: q.URL, queueARN: q.ARN, region: DefaultRegion, function: "TestFunction",
		batchSize: batch, partial: partial, wait: time.Second, visibility: time.Second,
		concurrency: 2, invoke: rec.invoke, log: testLogger(t),
	}
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func send(t *testing.T, c AWSClients, q QueueResource, body string, attrs map[string]sqstypes.MessageAttributeValue) {
	t.Helper()
	if _, err := c.SQS.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body), MessageAttributes: attrs}); err != nil {
		t.Fatalf("send %s: %v", body, err)
	}
}

func queueDepth(ctx context.Context, c AWSClients, q QueueResource) (int, error) {
	out, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.URL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"} {
		v, _ := strconv.Atoi(out.Attributes[k])
		n += v
	}
	return n, nil
}

func TestPollerPartialBatchFailure(t *testing.T) {
	c := newKumo(t)
	_, r := provisionTestStack(t, c)
	q, dlq := r.Queues["WorkQueue"], r.Queues["WorkDLQ"]
	rec := &recorder{answer: failBodies("bad")}
	send(t, c, q, "good", map[string]sqstypes.MessageAttributeValue{
		"traceparent": {DataType: aws.String("String"), StringValue: aws.String("00-abc-def-01")},
	})
	send(t, c, q, "bad", nil)
	startPoller(t, c, q, rec, true, 10)

	eventually(t, 30*time.Second, "the failing message in the DLQ", func(ctx context.Context) (bool, error) {
		n, err := queueDepth(ctx, c, dlq)
		return n == 1, err
	})
	if n := rec.received("good"); n != 1 {
		t.Errorf("good message delivered %d times, want 1 (a failed neighbour must not redeliver it)", n)
	}
	if n := rec.received("bad"); n != 3 {
		t.Errorf("bad message delivered %d times, want 3 (maxReceiveCount)", n)
	}

	rec.mu.Lock()
	first := rec.batches[0].Records[0]
	rec.mu.Unlock()
	checks := []struct {
		what      string
		got, want any
	}{
		{"eventSource", first.EventSource, "aws:sqs"},
		{"eventSourceARN", first.EventSourceARN, q.ARN},
		{"awsRegion", first.AWSRegion, DefaultRegion},
		{"receiptHandle set", first.ReceiptHandle != "", true},
		{"md5OfBody set", first.Md5OfBody != "", true},
		{"ApproximateReceiveCount", first.Attributes["ApproximateReceiveCount"], "1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	for _, m := range rec.batches[0].Records {
		if m.Body == "good" {
			a := m.MessageAttributes["traceparent"]
			if a.DataType != "String" || aws.ToString(a.StringValue) != "00-abc-def-01" {
				t.Errorf("traceparent attribute = %+v", a)
			}
		}
	}
}

func TestPollerBatchOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		partial  bool
		answer   func(events.SQSEvent) ([]byte, error)
		wantLeft int // messages left in the queue after one invocation
	}{
		{"success deletes the batch", true, func(events.SQSEvent) ([]byte, error) { return []byte(`{"batchItemFailures":[]}`), nil }, 0},
		{"null answer deletes the batch", true, func(events.SQSEvent) ([]byte, error) { return []byte(`null`), nil }, 0},
		{"function error keeps the batch", true, func(events.SQSEvent) ([]byte, error) { return nil, errors.New("boom") }, 2},
		{"unknown item id keeps the batch", true, func(events.SQSEvent) ([]byte, error) {
			return []byte(`{"batchItemFailures":[{"itemIdentifier":"nope"}]}`), nil
		}, 2},
		{"failures ignored without ReportBatchItemFailures", false, failBodies("a", "b"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newKumo(t)
			_, r := provisionTestStack(t, c)
			q := r.Queues["WorkQueue"]
			send(t, c, q, "a", nil)
			send(t, c, q, "b", nil)
			rec := &recorder{answer: tt.answer}
			ctx, cancel := context.WithCancel(t.Context())
			p := &poller{
				sqs: c.SQS, queueURL: q.URL, queueARN: q.ARN, region: DefaultRegion, function: "TestFunction",
				batchSize: 10, partial: tt.partial, wait: time.Second, visibility: 30 * time.Second,
				concurrency: 1, invoke: rec.invoke, log: testLogger(t),
			}
			msgs, err := p.receiveBatch(ctx)
			if err != nil || len(msgs) != 2 {
				t.Fatalf("receiveBatch = %d messages, %v; want 2", len(msgs), err)
			}
			p.handle(ctx, msgs)
			cancel()
			n, err := queueDepth(t.Context(), c, q)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.wantLeft {
				t.Errorf("%d messages left in the queue, want %d", n, tt.wantLeft)
			}
		})
	}
}

func TestPollerReceivesAllAttributes(t *testing.T) {
	// The emulator returns every attribute whatever is asked, so assert
	// what the poller asks for: Lambda's mapping asks for All.
	p := &poller{batchSize: 25, window: 2 * time.Second, wait: time.Second}
	in := p.receiveInput(10)
	if !slices.Equal(in.MessageAttributeNames, []string{"All"}) ||
		!slices.Equal(in.MessageSystemAttributeNames, []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}) {
		t.Errorf("receive asks for %v and %v, want All and All", in.MessageAttributeNames, in.MessageSystemAttributeNames)
	}
	if in.MaxNumberOfMessages != 10 || in.WaitTimeSeconds != 1 {
		t.Errorf("MaxNumberOfMessages %d WaitTimeSeconds %d, want 10 and 1", in.MaxNumberOfMessages, in.WaitTimeSeconds)
	}
}
