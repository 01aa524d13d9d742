package app

import (
	"context"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
)

// API builds the api function's handler: every route, behind API Gateway
// (HTTP API, payload 2.0).
func API(d *Deps, cfg config.API) any {
	limiter := apiLimiter(d)
	srv := httpapi.New(httpapi.Options{
		DB:            d.DB,
		Redis:         d.Redis,
		Queues:        d.Queue,
		Logger:        d.Logger,
		PublicBaseURL: cfg.PublicBaseURL,

		AdminAPIKey:  cfg.AdminAPIKey,
		AuthCacheTTL: 5 * time.Second,
		Limiter:      limiter,
		OnPlanChange: func(ctx context.Context, tenantID string) {
			if err := limiter.InvalidatePlan(ctx, tenantID); err != nil {
				// Other instances then keep the old plan until
				// tenant:plan:{id} expires (300 s).
				d.Logger.ErrorContext(ctx, "plan cache not invalidated", "tenant_id", tenantID, "error", err.Error())
			}
		},

		AllowPrivateWuzapi: cfg.AllowPrivateWuzapi,
		Chunks:             chunks(d),
		// Reads only: the instances' health shows today's sends.
		Sends: limit.NewSender(limit.SenderOptions{Prefix: d.Config.RedisKeyPrefix, Redis: d.Redis, Logger: d.Logger}),

		WebhookHMACKey:   cfg.WebhookHMACKey,
		UndeliveredAfter: cfg.UndeliveredAfter,

		Uploads: uploads(d),

		ReportsQueueURL: cfg.ReportsQueueURL,
		ReportSender:    d.Queue,
		ReportLinks:     blob.New(d.S3, cfg.BucketName),

		Metrics:      d.Metrics,
		MetricsToken: cfg.MetricsToken,
		Tracing:      d.Tracing,
		Fleet:        d.Fleet,

		WebhooksQueueURL: cfg.WebhooksQueueURL,
		WebhookSender:    d.Queue,
	})
	return apigw.Handler(srv)
}

// apiLimiter is the per-tenant API rate limiter. It fails open: with Redis
// down requests go through, and each one logs the line an operator greps
// for while it lasts (the scheduler's dependency check raises the alert).
func apiLimiter(d *Deps) *limit.API {
	return limit.NewAPI(limit.APIOptions{
		Prefix:  d.Config.RedisKeyPrefix,
		Redis:   d.Redis,
		Plans:   d.DB.TenantPlan,
		Metrics: d.Metrics,
		Logger:  d.Logger,
		OnFailOpen: func(ctx context.Context, err error) {
			d.Logger.ErrorContext(ctx, "ALERT rate limiter failed open: Redis unavailable", "error", err.Error())
		},
	})
}

// uploads signs import uploads; nil without a bucket, and the import
// routes then answer UNAVAILABLE.
func uploads(d *Deps) httpapi.Presigner {
	if d.Config.BucketName == "" {
		return nil
	}
	return blob.New(d.S3, d.Config.BucketName)
}

// chunks is the campaigns queue, or nil when none is configured (campaigns
// are then enqueued by the scheduler's requeue job).
func chunks(d *Deps) campaign.Enqueuer {
	if d.Config.CampaignsQueueURL == "" {
		return nil
	}
	return queue.Chunks{Client: d.Queue, URL: d.Config.CampaignsQueueURL}
}
