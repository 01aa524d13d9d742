// Command scheduler runs the once-a-minute jobs: release due campaigns,
// settle stuck sends, evaluate alerts.
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
)

// job is one thing the scheduler does every tick.
type job struct {
	name string
	run  func(ctx context.Context) error
}

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		jobs := []job{
			// --- campaigns (issue 4) ---

			// --- alerts and sessions (issue 7) ---
			{name: "sessions", run: newMonitor(d).CheckSessions},
			{name: "alerts", run: newMonitor(d).Evaluate},

			// --- receipts (issue 8) ---
		}
		return func(ctx context.Context, ev events.EventBridgeEvent) error {
			// Every job runs even when one fails; the tick fails if any did.
			var errs []error
			for _, j := range jobs {
				if err := j.run(ctx); err != nil {
					d.Logger.ErrorContext(ctx, "scheduler job failed", "job", j.name, "error", err.Error())
					errs = append(errs, fmt.Errorf("%s: %w", j.name, err))
				}
			}
			d.Logger.InfoContext(ctx, "scheduler tick", "time", ev.Time, "jobs", len(jobs), "failed", len(errs))
			return errors.Join(errs...)
		}, nil
	})
}
