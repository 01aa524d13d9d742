// Command campaign-worker sends chunks of campaigns through WuzAPI, from the campaigns queue.
package main

import (
	"context"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
)

func main() {
	cfg, err := config.Load[config.CampaignWorker]()
	app.Must(err)
	deps, err := app.Open(context.Background(), cfg.Shared)
	app.Must(err)
	app.Start(deps, app.CampaignWorker(deps, cfg))
}
