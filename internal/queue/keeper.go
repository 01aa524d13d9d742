package queue

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Visibility is the part of SQS a Keeper calls.
type Visibility interface {
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// Keeper keeps the messages of an invocation invisible only while the
// invocation lives. A Lambda event source mapping needs the queue's
// visibility timeout to be at least the function's timeout (AWS advises six
// times it), so a message whose worker was killed would otherwise stay
// invisible that long. The keeper sets each message's visibility to Lease
// when the invocation starts and renews it every Lease/3 until the
// invocation ends: a dead worker's messages come back within Lease.
//
// Failed messages keep what is left of their lease when they carry no
// retry delay of their own (see RetryDelay).
type Keeper struct {
	SQS      Visibility
	QueueURL string
	// Lease is how long a message stays invisible without a renewal.
	Lease  time.Duration
	Logger *slog.Logger
}

// maxVisibility is the longest visibility timeout SQS accepts.
const maxVisibility = 12 * time.Hour

// Hold is one invocation's hold on its messages; Release ends it.
type Hold struct {
	k     *Keeper
	msgs  []events.SQSMessage
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	renew int // renewals done, for tests
}

// Hold sets the visibility of msgs to the lease and renews it until
// Release. A nil Keeper holds nothing (its Release does nothing).
func (k *Keeper) Hold(ctx context.Context, msgs []events.SQSMessage) *Hold {
	h := &Hold{k: k, msgs: msgs, stop: make(chan struct{}), done: make(chan struct{})}
	if k == nil || k.Lease <= 0 || len(msgs) == 0 {
		close(h.done)
		return h
	}
	ctx = context.WithoutCancel(ctx)
	k.set(ctx, msgs, k.Lease)
	go h.run(ctx)
	return h
}

func (h *Hold) run(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(max(h.k.Lease/3, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.k.set(ctx, h.msgs, h.k.Lease)
			h.renew++
		}
	}
}

// Release stops the renewals and sets the visibility of the messages in
// retry (by message id) to their delay. Other messages keep what is left of
// their lease: the event source mapping deletes the handled ones.
func (h *Hold) Release(ctx context.Context, retry map[string]time.Duration) {
	h.once.Do(func() { close(h.stop) })
	<-h.done
	if h.k == nil || h.k.Lease <= 0 {
		return
	}
	by := map[time.Duration][]events.SQSMessage{}
	for _, m := range h.msgs {
		if d, ok := retry[m.MessageId]; ok {
			by[d] = append(by[d], m)
		}
	}
	for d, msgs := range by {
		h.k.set(context.WithoutCancel(ctx), msgs, d)
	}
}

// set changes the visibility of msgs to d, ten per call. Failures are
// logged: the message then comes back when its current visibility ends.
func (k *Keeper) set(ctx context.Context, msgs []events.SQSMessage, d time.Duration) {
	secs := int32(min(max(d, 0), maxVisibility).Seconds())
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for i := 0; i < len(msgs); i += 10 {
		var entries []types.ChangeMessageVisibilityBatchRequestEntry
		for j, m := range msgs[i:min(i+10, len(msgs))] {
			entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i + j)), ReceiptHandle: aws.String(m.ReceiptHandle), VisibilityTimeout: secs,
			})
		}
		out, err := k.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(k.QueueURL), Entries: entries})
		if err != nil {
			k.Logger.WarnContext(ctx, "change message visibility", "queue", queueName(k.QueueURL), "error", err.Error())
			continue
		}
		for _, f := range out.Failed {
			k.Logger.WarnContext(ctx, "change message visibility", "queue", queueName(k.QueueURL),
				"code", aws.ToString(f.Code), "error", aws.ToString(f.Message))
		}
	}
}

// RetryDelay is how long a message whose handler failed with err should
// stay invisible, when err says (it or an error it wraps has a
// RetryAfter() time.Duration method).
func RetryDelay(err error) (time.Duration, bool) {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfter(), true
	}
	return 0, false
}
