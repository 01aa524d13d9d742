// Command api is the HTTP API function behind API Gateway (HTTP API, payload 2.0).
package main

import (
	"context"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
)

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		// Imports (issue 6): without a bucket the import routes answer UNAVAILABLE.
		var uploads httpapi.Presigner
		if d.Config.BucketName != "" {
			uploads = blob.New(d.S3, d.Config.BucketName)
		}

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
			Uploads: uploads,

			// --- telemetry (issue 7) ---

			// --- reports, webhooks (issue 8) ---
		})
		return apigw.Handler(srv), nil
	})
}
