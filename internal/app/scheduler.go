package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// job is one thing the scheduler does every tick.
type job struct {
	name string
	run  func(ctx context.Context) error
}

// Scheduler builds the scheduler function's handler: the once-a-minute
// jobs that release due campaigns, settle stuck sends, check sessions,
// evaluate alerts and sweep receipts. Every job runs even when one fails;
// the tick fails if any did.
func Scheduler(d *Deps, cfg config.Scheduler) any {
	jobs := schedulerJobs(d, cfg)
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		var errs []error
		for _, j := range jobs {
			if err := j.run(ctx); err != nil {
				d.Logger.ErrorContext(ctx, "scheduler job failed", "job", j.name, "error", err.Error())
				errs = append(errs, fmt.Errorf("%s: %w", j.name, err))
			}
		}
		d.Logger.InfoContext(ctx, "scheduler tick", "time", ev.Time, "jobs", len(jobs), "failed", len(errs))
		return errors.Join(errs...)
	}
}

func schedulerJobs(d *Deps, cfg config.Scheduler) []job {
	sched := &campaign.Scheduler{
		Store:      d.DB,
		Queue:      queue.Chunks{Client: d.Queue, URL: cfg.CampaignsQueueURL},
		Logger:     d.Logger,
		Record:     func(status string, n int) { d.Metrics.CampaignMessages.WithLabelValues(status).Add(float64(n)) },
		StuckAfter: cfg.StuckAfter,
	}
	monitor := newMonitor(d)
	return []job{
		{name: "campaigns: settle stuck sends", run: func(ctx context.Context) error { return sched.SettleStuck(ctx, time.Now()) }},
		{name: "campaigns: finish settled", run: func(ctx context.Context) error { return sched.FinishSettled(ctx, time.Now()) }},
		{name: "campaigns: release due", run: func(ctx context.Context) error { return sched.ReleaseDue(ctx, time.Now()) }},
		{name: "campaigns: requeue stalled", run: func(ctx context.Context) error { return sched.RequeueStalled(ctx, time.Now()) }},
		{name: "imports: fail abandoned", run: func(ctx context.Context) error {
			return failAbandoned(ctx, d, "imports", d.DB.FailAbandonedImports, time.Now().Add(-cfg.AbandonedAfter), importer.AbandonedReason)
		}},
		{name: "reports: fail abandoned", run: func(ctx context.Context) error {
			return failAbandoned(ctx, d, "reports", d.DB.FailAbandonedReports, time.Now().Add(-cfg.AbandonedAfter), report.AbandonedReason)
		}},
		{name: "sessions", run: monitor.CheckSessions},
		{name: "alerts", run: monitor.Evaluate},
		{name: "receipts", run: receipt.Sweeper{
			Log: postgres.WuzapiEventLog{DB: d.DB}, Store: postgres.ReceiptStore{DB: d.DB}, Now: time.Now,
		}.Run},
	}
}

// failAbandoned fails the running imports or reports whose lease ended
// before `before`: their worker died and no retry took them up again.
func failAbandoned(ctx context.Context, d *Deps, what string, fail func(context.Context, time.Time, string) (int, error), before time.Time, reason string) error {
	n, err := fail(ctx, before, reason)
	if n > 0 {
		d.Logger.WarnContext(ctx, "abandoned "+what+" failed", "count", n)
	}
	return err
}

// newMonitor builds the alert monitor that the session check and the alert
// evaluation jobs use.
func newMonitor(d *Deps) *alert.Monitor {
	c := d.Config
	return &alert.Monitor{
		DB: d.DB, Redis: d.Redis, SQS: d.SQS, Fleet: d.Fleet, Metrics: d.Metrics, Logger: d.Logger,
		Queues: []alert.Queue{
			{Name: "campaigns", URL: c.CampaignsQueueURL, DLQ: c.CampaignsDLQURL},
			{Name: "imports", URL: c.ImportsQueueURL, DLQ: c.ImportsDLQURL},
			{Name: "reports", URL: c.ReportsQueueURL, DLQ: c.ReportsDLQURL},
		},
		HTTP: telemetry.HTTPClient(wuzapi.Guard{AllowPrivate: c.AllowPrivateWuzapi}.HTTPClient(10 * time.Second)),
		Notifier: &alert.Notifier{
			WebhookURL: c.AlertWebhookURL, Redis: d.Redis, Logger: d.Logger,
			Service: telemetry.ServiceName, Environment: c.Environment, Prefix: "wm:alert:" + c.Environment + ":",
		},
	}
}
