// Command api is the HTTP API function behind API Gateway (HTTP API, payload 2.0).
package main

import (
	"context"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
)

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		srv := httpapi.New(httpapi.Options{
			DB:            d.DB,
			Redis:         d.Redis,
			Queues:        d.Queue,
			Logger:        d.Logger,
			Metrics:       d.Metrics,
			AdminAPIKey:   d.Config.AdminAPIKey,
			MetricsToken:  d.Config.MetricsToken,
			PublicBaseURL: d.Config.PublicBaseURL,

			// --- instances and campaigns (issue 4) ---
			AllowPrivateWuzapi: d.Config.AllowPrivateWuzapi,
			Chunks:             chunks(d),

			// --- limits (issue 5) ---

			// --- imports and contacts (issue 6) ---

			// --- telemetry (issue 7) ---

			// --- reports, webhooks (issue 8) ---
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
