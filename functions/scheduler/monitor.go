package main

import (
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert"
	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// newMonitor builds the operator alert monitor from the function's
// dependencies: the session check and the alert evaluation jobs use it.
func newMonitor(d *app.Deps) *alert.Monitor {
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
