// Command api is the HTTP API function behind API Gateway (HTTP API, payload 2.0).
package main

import (
	"context"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
)

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		srv := httpapi.New(httpapi.Options{
			DB:            d.DB,
			Redis:         d.Redis,
			Queues:        d.Queue,
			Logger:        d.Logger,
			AdminAPIKey:   d.Config.AdminAPIKey,
			MetricsToken:  d.Config.MetricsToken,
			PublicBaseURL: d.Config.PublicBaseURL,
		})
		return apigw.Handler(srv), nil
	})
}
