package queue

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/webhook"
)

// WebhookRuns asks for tenant webhook delivery runs on the webhooks queue;
// it implements webhook.Nudger.
type WebhookRuns struct {
	Client *Client
	URL    string
}

var _ webhook.Nudger = WebhookRuns{}

// Nudge sends {"v":1,"type":"webhook.deliver","endpointId":...} delayed by
// delay (rounded up to whole seconds, at most 15 minutes).
func (w WebhookRuns) Nudge(ctx context.Context, endpointID string, delay time.Duration) error {
	if w.URL == "" {
		return errors.New("webhooks queue: WEBHOOKS_QUEUE_URL is not set")
	}
	secs := int32(max(0, min(math.Ceil(delay.Seconds()), 900)))
	return w.Client.Send(ctx, w.URL, webhook.NewMessage(endpointID), secs)
}
