package app

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
)

// ImportWorker builds the import-worker function's handler: it imports
// contact CSVs uploaded to S3 and checks media uploads, from the imports
// queue (S3 ObjectCreated notifications under imports/ and media/).
func ImportWorker(d *Deps, cfg config.ImportWorker) any {
	objects := blob.New(d.S3, cfg.BucketName)
	w := &importer.Worker{
		Store:   postgres.ImportStore{DB: d.DB},
		Objects: objects,
		Log:     d.Logger,
		// Media uploads come on the same notifications: their check makes
		// them ready or rejected.
		Uploads: map[string]importer.UploadHandler{
			media.ObjectPrefix: &media.Checker{Store: d.DB, Objects: objects, Log: d.Logger},
		},
		Rows: importer.RowCounterFunc(func(result string, n int) {
			d.Metrics.ImportRows.WithLabelValues(result).Add(float64(n))
		}),
	}
	keeper := &queue.Keeper{SQS: d.SQS, QueueURL: cfg.ImportsQueueURL, Lease: cfg.VisibilityLease, Logger: d.Logger}
	// S3 notifications are not queue envelopes, so no queue.Router: each
	// message is handled alone and only the failed ones retried. A message
	// that found its import busy comes back when the holder's lease ends.
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		hold := keeper.Hold(ctx, ev.Records)
		msgs := make([]importer.Message, len(ev.Records))
		for i, r := range ev.Records {
			msgs[i] = importer.Message{ID: r.MessageId, Body: r.Body}
		}
		var resp events.SQSEventResponse
		delays := map[string]time.Duration{}
		retry := w.HandleBatch(ctx, msgs)
		for _, m := range msgs {
			err, failed := retry[m.ID]
			if !failed {
				continue
			}
			if d, ok := queue.RetryDelay(err); ok {
				delays[m.ID] = d
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.ID})
		}
		hold.Release(ctx, delays)
		return resp, nil
	}
}
