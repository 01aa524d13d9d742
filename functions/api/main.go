// Command api is the HTTP API function behind API Gateway (HTTP API, payload 2.0).
package main

import (
	"context"
	"os"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
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

			// --- limits (issue 5) ---

			// --- imports and contacts (issue 6) ---

			// --- telemetry (issue 7) ---

			// --- reports, webhooks (issue 8) ---
			ReportsQueueURL: d.Config.ReportsQueueURL,
			ReportSender:    d.Queue,
			ReportLinks:     blob.NewLinks(d.S3, d.Config.BucketName),
			WebhookHMACKey:  os.Getenv("WUZAPI_WEBHOOK_HMAC_KEY"),
		})
		return apigw.Handler(srv), nil
	})
}
