// Command campaign-worker sends chunks of campaigns through WuzAPI, from the campaigns queue.
package main

import (
	"context"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
)

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		router := queue.NewRouter(d.Logger)
		return router.Process, nil
	})
}
