// Package webhook delivers tenant webhooks as the Standard Webhooks
// specification has them: a POST of {"type","timestamp","data"} with the
// headers webhook-id, webhook-timestamp and webhook-signature
// ("v1,<base64 HMAC-SHA256 of id.timestamp.body>" keyed by the endpoint's
// whsec_ secret).
//
// Events are recorded by the database in the transaction of the change
// that causes them (an outbox of events and one delivery per subscribed
// endpoint); this package only delivers them. A delivery is tried, then
// retried 5 s, 5 min, 30 min, 2 h, 5 h and 10 h after each failure, then
// failed. Every attempt of one event carries the event's id, so a receiver
// can drop duplicates (delivery is at least once).
//
// Limits: one delivery run serves one endpoint and stops at its first
// failure, so a down or slow endpoint costs at most one attempt (10 s) per
// run and never delays another endpoint's deliveries; while it fails, its
// other deliveries wait their turn. Redirects are not followed and every
// address dialled passes the same guard as WuzAPI instances. It imports no
// database or AWS package.
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The event types an endpoint may subscribe to.
const (
	CampaignCompleted     = "campaign.completed"
	CampaignPaused        = "campaign.paused"
	MessageSent           = "message.sent"
	MessageDelivered      = "message.delivered"
	MessageRead           = "message.read"
	MessageFailed         = "message.failed"
	MessageReplied        = "message.replied"
	ContactOptedOut       = "contact.opted_out"
	ImportCompleted       = "import.completed"
	ImportFailed          = "import.failed"
	InstanceHealthChanged = "instance.health_changed"
)

// Events lists every event type, in the order the API documents them.
var Events = []string{
	CampaignCompleted, CampaignPaused, MessageSent, MessageDelivered, MessageRead, MessageFailed,
	MessageReplied, ContactOptedOut, ImportCompleted, ImportFailed, InstanceHealthChanged,
}

// ValidEvent reports whether name is an event type.
func ValidEvent(name string) bool { return slices.Contains(Events, name) }

// SecretPrefix starts every endpoint secret.
const SecretPrefix = "whsec_"

// NewSecret returns a new endpoint secret: whsec_ and the base64 of 32
// random bytes.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("draw webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// Sign returns the webhook-signature value of one attempt: "v1," and the
// base64 HMAC-SHA256 of "<id>.<unix seconds>.<body>" keyed by the secret's
// base64-decoded part.
func Sign(secret, id string, at time.Time, body []byte) (string, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return "", fmt.Errorf("read webhook secret: %w", err)
	}
	return wh.Sign(id, at, body)
}

// Retries are the waits before each retry of a failed delivery: about 5 s,
// 5 min, 30 min, 2 h, 5 h and 10 h. A delivery whose last retry fails is
// failed.
var Retries = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

// NextAttempt returns when a delivery that has failed attempts times is
// tried again, or false when it is failed for good.
func NextAttempt(attempts int, failedAt time.Time) (time.Time, bool) {
	if attempts < 1 || attempts > len(Retries) {
		return time.Time{}, false
	}
	return failedAt.Add(Retries[attempts-1]), true
}

// Endpoint is a tenant's webhook endpoint as the API shows it; its secret
// is shown once, at creation.
type Endpoint struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// LogEntry is a delivery as the endpoint's delivery log shows it.
type LogEntry struct {
	ID            string     `json:"id"`
	Event         string     `json:"event"`
	EventID       string     `json:"eventId"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastStatus    *int       `json:"lastStatus"`
	LastError     *string    `json:"lastError"`
	CreatedAt     time.Time  `json:"createdAt"`
	DeliveredAt   *time.Time `json:"deliveredAt"`
	NextAttemptAt *time.Time `json:"nextAttemptAt"`
}

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)
