// Command api is the HTTP API function behind API Gateway (HTTP API, payload 2.0).
package main

import (
	"context"
	"os"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
)

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		// Imports: without a bucket the import routes answer UNAVAILABLE.
		var uploads httpapi.Presigner
		if d.Config.BucketName != "" {
			uploads = blob.New(d.S3, d.Config.BucketName)
		}

		// --- limits ---
		limiter := limit.NewAPI(limit.APIOptions{
			Prefix:  d.Config.RedisKeyPrefix,
			Redis:   d.Redis,
			Plans:   d.DB.TenantPlan,
			Metrics: d.Metrics,
			Logger:  d.Logger,
			OnFailOpen: func(ctx context.Context, err error) {
				// The Redis-down alert is raised by the
				// scheduler's dependency check; this line is what an
				// operator greps for while it lasts.
				d.Logger.ErrorContext(ctx, "ALERT rate limiter failed open: Redis unavailable", "error", err.Error())
			},
		})
		srv := httpapi.New(httpapi.Options{
			DB:            d.DB,
			Redis:         d.Redis,
			Queues:        d.Queue,
			Logger:        d.Logger,
			Metrics:       d.Metrics,
			AdminAPIKey:   d.Config.AdminAPIKey,
			MetricsToken:  d.Config.MetricsToken,
			PublicBaseURL: d.Config.PublicBaseURL,

			// --- instances and campaigns ---
			AllowPrivateWuzapi: d.Config.AllowPrivateWuzapi,
			Chunks:             chunks(d),

			// --- limits ---
			Limiter:      limiter,
			AuthCacheTTL: 5 * time.Second,
			OnPlanChange: func(ctx context.Context, tenantID string) {
				if err := limiter.InvalidatePlan(ctx, tenantID); err != nil {
					// Other instances then keep the old plan until
					// tenant:plan:{id} expires (300 s).
					d.Logger.ErrorContext(ctx, "plan cache not invalidated", "tenant_id", tenantID, "error", err.Error())
				}
			},

			// --- imports and contacts ---
			Uploads: uploads,

			// --- telemetry ---
			Tracing: d.Tracing,
			Fleet:   d.Fleet,

			// --- reports, webhooks ---
			ReportsQueueURL:  d.Config.ReportsQueueURL,
			ReportSender:     d.Queue,
			ReportLinks:      blob.New(d.S3, d.Config.BucketName),
			WebhookHMACKey:   os.Getenv("WUZAPI_WEBHOOK_HMAC_KEY"),
			UndeliveredAfter: durationEnv("UNDELIVERED_AFTER"), // e.g. "6h"; 24 h when unset
		})
		return apigw.Handler(srv), nil
	})
}

// chunks is the campaigns queue, or nil when none is configured (campaigns
// are then enqueued by the scheduler's requeue job).
func chunks(d *app.Deps) campaign.Enqueuer {
	if d.Config.CampaignsQueueURL == "" {
		return nil
	}
	return queue.Chunks{Client: d.Queue, URL: d.Config.CampaignsQueueURL}
}

// durationEnv reads a Go duration ("90m") from the environment; 0 (the
// option's default) when unset or unreadable.
func durationEnv(name string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(name))
	return d
}
