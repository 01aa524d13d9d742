// Command campaign-worker sends chunks of campaigns through WuzAPI, from the campaigns queue.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		if d.Config.CampaignsQueueURL == "" {
			return nil, fmt.Errorf("CAMPAIGNS_QUEUE_URL is required: chunks are handed back to it")
		}
		guard := wuzapi.Guard{AllowPrivate: d.Config.AllowPrivateWuzapi}
		w := &campaign.Worker{
			Store:     d.DB,
			Messenger: campaign.WuzapiMessenger{HTTP: guard.HTTPClient(30 * time.Second)},
			// Until issue 5's Redis send limiter (internal/limit) is merged, the
			// worker sends without limits. The lead replaces this line with the
			// fleet-wide limiter when merging issue 5.
			Limiter: campaign.Unlimited{},
			Queue:   queue.Chunks{Client: d.Queue, URL: d.Config.CampaignsQueueURL},
			Logger:  d.Logger,
			Record:  func(status string) { d.Metrics.CampaignMessages.WithLabelValues(status).Inc() },
		}
		router := queue.NewRouter(d.Logger)
		router.Handle(campaign.ChunkType, func(ctx context.Context, msg events.SQSMessage) error {
			var m campaign.ChunkMessage
			if err := json.Unmarshal([]byte(msg.Body), &m); err != nil || m.CampaignID == "" || m.Chunk < 0 {
				return fmt.Errorf("%w: chunk message without campaignId/chunk: %s", queue.ErrUnknownMessage, msg.Body)
			}
			return w.HandleChunk(ctx, m.CampaignID, m.Chunk)
		})
		return router.Process, nil
	})
}
