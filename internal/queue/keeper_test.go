package queue

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
)

// received sends one message to a new queue whose visibility timeout is
// visibility, receives it and returns it as the Lambda event record.
func received(t *testing.T, env *awstest.Env, visibility time.Duration) (awstest.Queue, events.SQSMessage) {
	t.Helper()
	q := env.Queue(t, visibility)
	if _, err := env.SQS.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(`{"v":1}`)}); err != nil {
		t.Fatal(err)
	}
	m := env.Receive(t, q, 5*time.Second)[0]
	return q, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body)}
}

// visibleWithin reports whether a message of q can be received within wait
// (whole seconds of long polling, no sleeping).
func visibleWithin(t *testing.T, env *awstest.Env, q awstest.Queue, wait time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		out, err := env.SQS.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			return true
		}
	}
	return false
}

func newKeeper(env *awstest.Env, q awstest.Queue, lease time.Duration) *Keeper {
	return &Keeper{SQS: env.SQS, QueueURL: q.URL, Lease: lease, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// A message held by a live invocation stays invisible past both the
// queue's visibility timeout and the lease, because the hold renews it.
func TestKeeperRenewsWhileHeld(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	q, m := received(t, env, time.Second)
	h := newKeeper(env, q, 2*time.Second).Hold(t.Context(), []events.SQSMessage{m})
	if visibleWithin(t, env, q, 4*time.Second) {
		t.Fatal("a held message was received again while its invocation lived")
	}
	h.Release(t.Context(), map[string]time.Duration{m.MessageId: 0})
	if h.renew == 0 {
		t.Fatal("the hold never renewed the lease")
	}
	if !visibleWithin(t, env, q, 3*time.Second) {
		t.Fatal("a released message with retry delay 0 did not come back at once")
	}
}

// A message whose invocation died (the hold stops renewing without a
// release) comes back within the lease, not after the queue's visibility
// timeout of 5 minutes.
func TestKeeperFreesAbandonedMessageWithinLease(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	q, m := received(t, env, 5*time.Minute)
	h := newKeeper(env, q, 2*time.Second).Hold(t.Context(), []events.SQSMessage{m})
	h.once.Do(func() { close(h.stop) }) // the process dies: no more renewals
	<-h.done
	if !visibleWithin(t, env, q, 5*time.Second) {
		t.Fatal("an abandoned message did not come back within its lease")
	}
}

type retryErr time.Duration

func (e retryErr) Error() string             { return fmt.Sprintf("busy for %s", time.Duration(e)) }
func (e retryErr) RetryAfter() time.Duration { return time.Duration(e) }

// Process holds the batch and gives a failed message with a retry delay
// that delay; the others keep their lease.
func TestProcessRetryDelay(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	q, m := received(t, env, 5*time.Minute)
	r := NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.Keeper = newKeeper(env, q, time.Minute)
	r.Handle("test.busy", func(context.Context, events.SQSMessage) error { return fmt.Errorf("claim: %w", retryErr(0)) })
	m.Body = `{"v":1,"type":"test.busy"}`
	resp, err := r.Process(t.Context(), events.SQSEvent{Records: []events.SQSMessage{m}})
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("Process = %+v, %v; want one failure", resp, err)
	}
	if !visibleWithin(t, env, q, 3*time.Second) {
		t.Fatal("a message failed with retry delay 0 did not come back at once")
	}
}
