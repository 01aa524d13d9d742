// Command campaign-worker sends chunks of campaigns through WuzAPI, from the campaigns queue.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		if d.Config.CampaignsQueueURL == "" {
			return nil, fmt.Errorf("CAMPAIGNS_QUEUE_URL is required: chunks are handed back to it")
		}
		// SEND_LEASE_TTL (a Go duration; the limiter's default when unset):
		// how long the in-flight slot of a worker that died mid-send stays
		// taken.
		var leaseTTL time.Duration
		if v := os.Getenv("SEND_LEASE_TTL"); v != "" {
			var err error
			if leaseTTL, err = time.ParseDuration(v); err != nil || leaseTTL <= 0 {
				return nil, fmt.Errorf("SEND_LEASE_TTL=%q is not a positive duration", v)
			}
		}
		// CAMPAIGN_FAILURE_WINDOW / CAMPAIGN_FAILURE_SHARE: auto-pause a
		// campaign when more than SHARE of its last WINDOW settled sends
		// failed (defaults 20 and 0.5).
		window, share := 0, 0.0
		if v := os.Getenv("CAMPAIGN_FAILURE_WINDOW"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("CAMPAIGN_FAILURE_WINDOW=%q is not a positive integer", v)
			}
			window = n
		}
		if v := os.Getenv("CAMPAIGN_FAILURE_SHARE"); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f >= 1 {
				return nil, fmt.Errorf("CAMPAIGN_FAILURE_SHARE=%q is not a fraction between 0 and 1", v)
			}
			share = f
		}
		guard := wuzapi.Guard{AllowPrivate: d.Config.AllowPrivateWuzapi}
		w := &campaign.Worker{
			Store:     d.DB,
			Messenger: campaign.WuzapiMessenger{HTTP: telemetry.HTTPClient(guard.HTTPClient(30 * time.Second))},
			// The fleet-wide send limiter; it fails
			// closed: with Redis down nothing is sent.
			Limiter: limit.NewSender(limit.SenderOptions{
				Prefix: d.Config.RedisKeyPrefix, Redis: d.Redis, Logger: d.Logger, LeaseTTL: leaseTTL,
			}),
			Queue:  queue.Chunks{Client: d.Queue, URL: d.Config.CampaignsQueueURL},
			Logger: d.Logger,
			Record: func(status string) { d.Metrics.CampaignMessages.WithLabelValues(status).Inc() },

			FailureWindow: window,
			FailureShare:  share,
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
