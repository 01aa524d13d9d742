package queue_test

import (
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
)

func TestEnqueueChunks(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	q := env.Queue(t, time.Minute)
	ctx := context.Background()
	chunks := make([]int, 25)
	for i := range chunks {
		chunks[i] = i
	}
	c := queue.Chunks{Client: &queue.Client{SQS: env.SQS}, URL: q.URL}
	if err := c.EnqueueChunks(ctx, "c-1", 7, chunks, 0); err != nil {
		t.Fatal(err)
	}
	var got []int
	for deadline := time.Now().Add(20 * time.Second); len(got) < 25 && time.Now().Before(deadline); {
		out, err := env.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var cm campaign.ChunkMessage
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &cm); err != nil || cm.V != 1 || cm.Type != "campaign.chunk" || cm.CampaignID != "c-1" || cm.Gen != 7 {
				t.Fatalf("message %q", aws.ToString(m.Body))
			}
			got = append(got, cm.Chunk)
		}
	}
	sort.Ints(got)
	if len(got) != 25 || got[0] != 0 || got[24] != 24 {
		t.Fatalf("received chunks %v", got)
	}
	// Delays above SQS's limit are capped, not refused.
	if err := c.EnqueueChunks(ctx, "c-1", 7, []int{0}, time.Hour); err != nil {
		t.Fatalf("long delay: %v", err)
	}
}
