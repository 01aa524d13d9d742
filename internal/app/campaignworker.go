package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// CampaignWorker builds the campaign-worker function's handler: it sends
// chunks of campaigns through WuzAPI, from the campaigns queue.
func CampaignWorker(d *Deps, cfg config.CampaignWorker) any {
	guard := wuzapi.Guard{AllowPrivate: cfg.AllowPrivateWuzapi}
	// Reach-out locks, bans and the delivery guard alert the operator, with
	// the scheduler's cooldown shared through Redis.
	notifier := &alert.Notifier{
		WebhookURL: cfg.AlertWebhookURL, Redis: d.Redis, Logger: d.Logger,
		Service: telemetry.ServiceName, Environment: cfg.Environment, Prefix: "wm:alert:" + cfg.Environment + ":",
	}
	w := &campaign.Worker{
		Store:     d.DB,
		Messenger: campaign.WuzapiMessenger{HTTP: telemetry.HTTPClient(guard.HTTPClient(30 * time.Second))},
		// The fleet-wide send limiter fails closed: with Redis down nothing
		// is sent.
		Limiter: limit.NewSender(limit.SenderOptions{
			Prefix: cfg.RedisKeyPrefix, Redis: d.Redis, Logger: d.Logger, LeaseTTL: cfg.SendLeaseTTL,
		}),
		Queue:  queue.Chunks{Client: d.Queue, URL: cfg.CampaignsQueueURL},
		Logger: d.Logger,
		Record: func(status string) { d.Metrics.CampaignMessages.WithLabelValues(status).Inc() },

		FailureWindow: cfg.FailureWindow,
		FailureShare:  cfg.FailureShare,
		Alert: func(ctx context.Context, severity, typ, subject, message string) {
			a := alert.Alert{Type: typ, Severity: alert.Severity(severity), Subject: subject, Message: message}
			if _, err := notifier.Send(ctx, a); err != nil {
				d.Logger.WarnContext(ctx, "alert not delivered", "type", typ, "error", err.Error())
			}
		},
	}
	router := queue.NewRouter(d.Logger)
	router.Keeper = &queue.Keeper{SQS: d.SQS, QueueURL: cfg.CampaignsQueueURL, Lease: cfg.VisibilityLease, Logger: d.Logger}
	router.Handle(campaign.ChunkType, func(ctx context.Context, msg events.SQSMessage) error {
		var m campaign.ChunkMessage
		if err := json.Unmarshal([]byte(msg.Body), &m); err != nil || m.CampaignID == "" || m.Chunk < 0 {
			return fmt.Errorf("%w: chunk message without campaignId/chunk: %s", queue.ErrUnknownMessage, msg.Body)
		}
		return w.HandleChunk(ctx, m.CampaignID, m.Chunk, m.Gen)
	})
	return router.Process
}
