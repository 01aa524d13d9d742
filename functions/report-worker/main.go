// Command report-worker writes CSV reports to S3, from the reports queue.
package main

import (
	"context"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
)

func main() {
	cfg, err := config.Load[config.ReportWorker]()
	app.Must(err)
	deps, err := app.Open(context.Background(), cfg.Shared)
	app.Must(err)
	app.Start(deps, app.ReportWorker(deps, cfg))
}
