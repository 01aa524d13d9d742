package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// Chunks puts campaign chunk messages on the campaigns queue; it is the
// campaign.Enqueuer of the api, worker and scheduler functions.
type Chunks struct {
	Client *Client
	URL    string
}

var _ campaign.Enqueuer = Chunks{}

// EnqueueChunks sends one {"v":1,"type":"campaign.chunk",...} message per
// chunk, ten per SendMessageBatch call and a few calls at a time, delayed
// by delay (rounded up to whole seconds, at most 15 minutes).
func (c Chunks) EnqueueChunks(ctx context.Context, campaignID string, gen int64, chunks []int, delay time.Duration) error {
	secs := int32(math.Ceil(delay.Seconds()))
	secs = max(0, min(secs, 900))
	attrs := c.Client.attributes(ctx)
	var batches [][]types.SendMessageBatchRequestEntry
	for i := 0; i < len(chunks); i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for _, n := range chunks[i:min(i+10, len(chunks))] {
			body, err := json.Marshal(campaign.ChunkMessage{V: Version, Type: campaign.ChunkType, CampaignID: campaignID, Chunk: n, Gen: gen})
			if err != nil {
				return fmt.Errorf("encode chunk %d of campaign %s: %w", n, campaignID, err)
			}
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(n)), MessageBody: aws.String(string(body)),
				DelaySeconds: secs, MessageAttributes: attrs,
			})
		}
		batches = append(batches, entries)
	}
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, b := range batches {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := c.sendBatch(ctx, b); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("enqueue chunks of campaign %s: %w", campaignID, err)
	}
	return nil
}

// sendBatch sends entries, retrying once the entries SQS reports failed.
func (c Chunks) sendBatch(ctx context.Context, entries []types.SendMessageBatchRequestEntry) error {
	for attempt := 0; ; attempt++ {
		out, err := c.Client.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(c.URL), Entries: entries})
		if err != nil {
			return fmt.Errorf("send batch to %s: %w", queueName(c.URL), err)
		}
		if len(out.Failed) == 0 {
			return nil
		}
		if attempt == 1 {
			f := out.Failed[0]
			return fmt.Errorf("send batch to %s: %d entries failed, first %s: %s", queueName(c.URL), len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
		failed := map[string]bool{}
		for _, f := range out.Failed {
			failed[aws.ToString(f.Id)] = true
		}
		var again []types.SendMessageBatchRequestEntry
		for _, e := range entries {
			if failed[aws.ToString(e.Id)] {
				again = append(again, e)
			}
		}
		entries = again
	}
}
