package app

import (
	"context"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
)

// reportMaxReceives is the reports queue's redrive limit (template.yaml
// maxReceiveCount): the delivery that reaches it is the last one.
const reportMaxReceives = 3

// ReportWorker builds the report-worker function's handler: it writes CSV
// reports to S3, from the reports queue.
func ReportWorker(d *Deps, cfg config.ReportWorker) any {
	gen := &report.Generator{
		Store:  postgres.ReportStore{DB: d.DB},
		Sink:   blob.New(d.S3, cfg.BucketName),
		Logger: d.Logger,
	}
	router := queue.NewRouter(d.Logger)
	router.Keeper = &queue.Keeper{SQS: d.SQS, QueueURL: cfg.ReportsQueueURL, Lease: cfg.VisibilityLease, Logger: d.Logger}
	router.Handle(report.MessageType, func(ctx context.Context, msg events.SQSMessage) error {
		n, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
		return gen.HandleMessage(ctx, msg.Body, n >= reportMaxReceives)
	})
	return router.Process
}
