// Command import-worker imports contact CSVs and checks media uploaded to S3, from the imports queue.
package main

import (
	"context"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
)

func main() {
	cfg, err := config.Load[config.ImportWorker]()
	app.Must(err)
	deps, err := app.Open(context.Background(), cfg.Shared)
	app.Must(err)
	app.Start(deps, app.ImportWorker(deps, cfg))
}
