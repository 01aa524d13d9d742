// Command api is the HTTP API function behind API Gateway (HTTP API, payload 2.0).
package main

import (
	"context"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
)

func main() {
	cfg, err := config.Load[config.API]()
	app.Must(err)
	deps, err := app.OpenAPI(context.Background(), cfg.Shared)
	app.Must(err)
	app.Start(deps, app.API(deps, cfg))
}
