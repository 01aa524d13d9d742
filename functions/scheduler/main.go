// Command scheduler runs the once-a-minute jobs: release due campaigns, settle stuck sends, evaluate alerts.
package main

import (
	"context"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
)

func main() {
	cfg, err := config.Load[config.Scheduler]()
	app.Must(err)
	deps, err := app.Open(context.Background(), cfg.Shared)
	app.Must(err)
	app.Start(deps, app.Scheduler(deps, cfg))
}
