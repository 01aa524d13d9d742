// Command scheduler runs the once-a-minute jobs: release due campaigns,
// settle stuck sends, evaluate alerts.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
)

// job is one thing the scheduler does every tick.
type job struct {
	name string
	run  func(ctx context.Context) error
}

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		sched, err := campaignScheduler(d)
		if err != nil {
			return nil, err
		}
		jobs := []job{
			// --- campaigns ---
			{name: "campaigns: settle stuck sends", run: func(ctx context.Context) error { return sched.SettleStuck(ctx, time.Now()) }},
			{name: "campaigns: finish settled", run: func(ctx context.Context) error { return sched.FinishSettled(ctx, time.Now()) }},
			{name: "campaigns: release due", run: func(ctx context.Context) error { return sched.ReleaseDue(ctx, time.Now()) }},
			{name: "campaigns: requeue stalled", run: func(ctx context.Context) error { return sched.RequeueStalled(ctx, time.Now()) }},

			// --- alerts and sessions ---
			{name: "sessions", run: newMonitor(d).CheckSessions},
			{name: "alerts", run: newMonitor(d).Evaluate},

			// --- receipts ---
			{name: "receipts", run: receipt.Sweeper{
				Log: postgres.WuzapiEventLog{DB: d.DB}, Store: postgres.ReceiptStore{DB: d.DB}, Now: time.Now,
			}.Run},
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
