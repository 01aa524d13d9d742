// Command scheduler runs the once-a-minute jobs: release due campaigns,
// settle stuck sends, evaluate alerts.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
)

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		return func(ctx context.Context, ev events.EventBridgeEvent) error {
			d.Logger.InfoContext(ctx, "scheduler tick", "time", ev.Time)
			return nil
		}, nil
	})
}
