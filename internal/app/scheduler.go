package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/webhook"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// job is one thing the scheduler does every tick.
type job struct {
	name string
	run  func(ctx context.Context) error
}

// Scheduler builds the scheduler function's handler. An EventBridge event
// is the once-a-minute tick: jobs that release due campaigns, settle stuck
// sends, check sessions, evaluate alerts, sweep receipts and relay tenant
// webhooks. Every job runs every tick, each in its own goroutine with its
// own time budget, so a slow one (WuzAPIs that do not answer the session
// check) never delays or starves the others; the tick fails if any did.
// An SQS batch (the webhooks queue) asks for tenant webhook delivery runs,
// one endpoint per message.
func Scheduler(d *Deps, cfg config.Scheduler) any {
	deliverer := newDeliverer(d, cfg)
	jobs := schedulerJobs(d, cfg, deliverer)
	router := queue.NewRouter(d.Logger)
	router.Handle(webhook.MessageType, func(ctx context.Context, msg events.SQSMessage) error {
		var m webhook.Message
		if err := json.Unmarshal([]byte(msg.Body), &m); err != nil || m.EndpointID == "" {
			return fmt.Errorf("%w: webhook.deliver without endpointId", queue.ErrUnknownMessage)
		}
		return deliverer.Run(ctx, m.EndpointID)
	})
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct{ Records []json.RawMessage }
		if err := json.Unmarshal(raw, &probe); err == nil && probe.Records != nil {
			var batch events.SQSEvent
			if err := json.Unmarshal(raw, &batch); err != nil {
				return nil, fmt.Errorf("decode SQS batch: %w", err)
			}
			return router.Process(ctx, batch)
		}
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decode scheduled event: %w", err)
		}
		return nil, tick(ctx, d, jobs, ev)
	}
}

func tick(ctx context.Context, d *Deps, jobs []job, ev events.EventBridgeEvent) error {
	errs := runJobs(ctx, d.Logger, jobs, jobBudget)
	d.Logger.InfoContext(ctx, "scheduler tick", "time", ev.Time, "jobs", len(jobs), "failed", len(errs))
	return errors.Join(errs...)
}

// jobBudget is how long one job may run in a tick; the scheduler's Timeout
// is 55 s, so every job ends before it and before the next tick.
const jobBudget = 45 * time.Second

// runJobs runs every job at once, each under a context that ends after
// budget (or when ctx does), and returns the errors of those that failed.
func runJobs(ctx context.Context, log *slog.Logger, jobs []job, budget time.Duration) []error {
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			jctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			if err := j.run(jctx); err != nil {
				log.ErrorContext(ctx, "scheduler job failed", "job", j.name, "error", err.Error())
				errs[i] = fmt.Errorf("%s: %w", j.name, err)
			}
		})
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// newDeliverer builds the tenant webhooks' deliverer: posts through the
// address guard of WuzAPI instances, runs asked for on the webhooks queue.
func newDeliverer(d *Deps, cfg config.Scheduler) *webhook.Deliverer {
	return &webhook.Deliverer{
		Store:  postgres.WebhookOutbox{DB: d.DB},
		HTTP:   telemetry.HTTPClient(wuzapi.Guard{AllowPrivate: cfg.AllowPrivateWuzapi}.HTTPClient(webhook.Timeout)),
		Nudger: queue.WebhookRuns{Client: d.Queue, URL: cfg.WebhooksQueueURL},
		Now:    time.Now,
		Logger: d.Logger,
	}
}

func schedulerJobs(d *Deps, cfg config.Scheduler, deliverer *webhook.Deliverer) []job {
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
		{name: "alerts: instance blocks", run: monitor.AlertBlocks},
		{name: "receipts", run: receipt.Sweeper{
			Log: postgres.WuzapiEventLog{DB: d.DB}, Store: postgres.ReceiptStore{DB: d.DB}, Now: time.Now,
		}.Run},
		{name: "webhooks: relay", run: deliverer.Relay},
		{name: "media: expire idle", run: mediaExpirer(d, cfg)},
	}
}

// mediaExpirer deletes the files of media no campaign needs any more
// (media.Idle) from the uploads bucket; without BUCKET_NAME it does nothing
// and the bucket's lifecycle rule alone deletes media.
func mediaExpirer(d *Deps, cfg config.Scheduler) func(context.Context) error {
	if cfg.BucketName == "" {
		d.Logger.Warn("BUCKET_NAME is empty: idle media are left to the bucket's lifecycle rule")
		return func(context.Context) error { return nil }
	}
	e := &media.Expirer{Store: d.DB, Objects: blob.New(d.S3, cfg.BucketName), Now: time.Now, Log: d.Logger}
	return func(ctx context.Context) error {
		_, err := e.Run(ctx)
		return err
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
			{Name: "webhooks", URL: c.WebhooksQueueURL, DLQ: c.WebhooksDLQURL},
		},
		HTTP:      telemetry.HTTPClient(wuzapi.Guard{AllowPrivate: c.AllowPrivateWuzapi}.HTTPClient(10 * time.Second)),
		CursorKey: c.RedisKeyPrefix + "wm:sessions:cursor:" + c.Environment,
		Notifier: &alert.Notifier{
			WebhookURL: c.AlertWebhookURL, Redis: d.Redis, Logger: d.Logger,
			Service: telemetry.ServiceName, Environment: c.Environment, Prefix: "wm:alert:" + c.Environment + ":",
		},
	}
}
