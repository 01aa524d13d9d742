package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
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
	wuzapiHTTP := telemetry.HTTPClient(guard.HTTPClient(30 * time.Second))
	// Texts, number checks and typing go through kept-alive connections
	// written by hand; media (a file's upload) through net/http.
	wuzapiPool := guard.Pool(30 * time.Second)
	wuzapiPool.Trace = telemetry.StartClientCall
	w := &campaign.Worker{
		Store:     d.DB,
		Messenger: campaign.WuzapiMessenger{Pool: wuzapiPool},
		Media:     &campaign.MediaMessenger{HTTP: wuzapiHTTP, Files: mediaFiles{blob.New(d.S3, cfg.BucketName)}},
		// The fleet-wide send limiter fails closed: with Redis down nothing
		// is sent.
		Limiter: limit.NewSender(limit.SenderOptions{
			Prefix: cfg.RedisKeyPrefix, Redis: d.Redis, Logger: d.Logger, LeaseTTL: cfg.SendLeaseTTL,
		}),
		Queue:  queue.Chunks{Client: d.Queue, URL: cfg.CampaignsQueueURL},
		Logger: d.Logger,
		Record: messageRecorder(d.Metrics.CampaignMessages),

		FailureWindow: cfg.FailureWindow,
		FailureShare:  cfg.FailureShare,
		Alert: func(ctx context.Context, severity, typ, subject, message string) {
			a := alert.Alert{Type: typ, Severity: alert.Severity(severity), Subject: subject, Message: message}
			if _, err := notifier.Send(ctx, a); err != nil {
				d.Logger.WarnContext(ctx, "alert not delivered", "type", typ, "error", err.Error())
			}
		},
	}
	// A crashed worker's slot frees after the send lease, which outlives
	// the function's timeout.
	w.Share = limit.NewShare(limit.ShareOptions{
		Redis: d.Redis, Prefix: cfg.RedisKeyPrefix, Concurrency: cfg.Concurrency, Lease: cfg.SendLeaseTTL, Logger: d.Logger,
	})
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

// mediaURLTTL is how long the URL WuzAPI fetches an image or video from
// works: WuzAPI fetches it during the send.
const mediaURLTTL = time.Hour

// mediaFiles serves campaign media from the bucket (campaign.MediaFiles).
type mediaFiles struct{ store *blob.Store }

func (f mediaFiles) URL(ctx context.Context, key string) (string, error) {
	p, err := f.store.PresignGet(ctx, key, mediaURLTTL)
	return p.URL, err
}

func (f mediaFiles) Read(ctx context.Context, key, etag string, maxBytes int64) ([]byte, error) {
	obj, err := f.store.Open(ctx, key, etag)
	if errors.Is(err, importer.ErrObjectNotFound) || errors.Is(err, importer.ErrObjectChanged) {
		return nil, campaign.ErrMediaGone
	}
	if err != nil {
		return nil, err
	}
	defer obj.Body.Close()
	if obj.Size > maxBytes {
		return nil, campaign.ErrMediaGone
	}
	b, err := io.ReadAll(io.LimitReader(obj.Body, maxBytes))
	if err != nil {
		return nil, fmt.Errorf("read media %s: %w", key, err)
	}
	return b, nil
}

// messageRecorder counts a message outcome in campaign_messages_total, with
// the worker's three outcomes' series looked up once rather than a label
// lookup a send.
func messageRecorder(vec *prometheus.CounterVec) func(status string) {
	sent, failed, retried := vec.WithLabelValues("sent"), vec.WithLabelValues("failed"), vec.WithLabelValues("retried")
	return func(status string) {
		switch status {
		case "sent":
			sent.Inc()
		case "failed":
			failed.Inc()
		case "retried":
			retried.Inc()
		default:
			vec.WithLabelValues(status).Inc()
		}
	}
}
