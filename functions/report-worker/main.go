// Command report-worker writes CSV reports to S3, from the reports queue.
package main

import (
	"context"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/app"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
)

// maxReceives is the reports queue's redrive limit (template.yaml
// maxReceiveCount): the delivery that reaches it is the last one.
const maxReceives = 3

func main() {
	app.Run(func(_ context.Context, d *app.Deps) (any, error) {
		gen := &report.Generator{
			Store:  postgres.ReportStore{DB: d.DB},
			Sink:   blob.New(d.S3, d.Config.BucketName),
			Logger: d.Logger,
		}
		router := queue.NewRouter(d.Logger)
		router.Handle(report.MessageType, func(ctx context.Context, msg events.SQSMessage) error {
			n, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
			return gen.HandleMessage(ctx, msg.Body, n >= maxReceives)
		})
		return router.Process, nil
	})
}
