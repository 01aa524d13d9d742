package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/webhook"
)

// MaxWebhookEndpoints is how many webhook endpoints one tenant may hold.
const MaxWebhookEndpoints = 20

func scanEndpoint(row pgx.Row) (webhook.Endpoint, error) {
	var e webhook.Endpoint
	err := row.Scan(&e.ID, &e.URL, &e.Events, &e.Description, &e.CreatedAt, &e.UpdatedAt)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, err
}

// CreateWebhookEndpoint stores a tenant's endpoint with its secret.
// PLAN_LIMIT when the tenant holds MaxWebhookEndpoints already.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, tenantID, url string, events []string, description, secret string) (webhook.Endpoint, error) {
	e, err := scanEndpoint(db.Pool.QueryRow(ctx, db.q("create-webhook-endpoint"), tenantID, url, events, description, secret, MaxWebhookEndpoints))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, &errcode.Error{Code: errcode.PlanLimit, Message: fmt.Sprintf("a tenant holds at most %d webhook endpoints", MaxWebhookEndpoints),
			Details: []errcode.Detail{{Field: "webhookEndpoints", Code: "limit", Message: fmt.Sprintf("at most %d", MaxWebhookEndpoints)}}}
	}
	if err != nil {
		return e, fmt.Errorf("create webhook endpoint of tenant %s: %w", tenantID, err)
	}
	return e, nil
}

// WebhookEndpoints returns a page of the tenant's endpoints, newest first.
func (db *DB) WebhookEndpoints(ctx context.Context, tenantID, after string, limit int) ([]webhook.Endpoint, error) {
	rows, err := db.Pool.Query(ctx, db.q("list-webhook-endpoints"), tenantID, nullable(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints of tenant %s: %w", tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints of tenant %s: %w", tenantID, err)
	}
	return out, nil
}

// WebhookEndpoint returns the tenant's endpoint, or NOT_FOUND.
func (db *DB) WebhookEndpoint(ctx context.Context, tenantID, id string) (webhook.Endpoint, error) {
	e, err := scanEndpoint(db.Pool.QueryRow(ctx, db.q("get-webhook-endpoint"), tenantID, id))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("get webhook endpoint %s: %w", id, err)
	}
	return e, notFound(err, "webhook endpoint")
}

// EndpointPatch is a change of an endpoint; nil fields stay as they are.
type EndpointPatch struct {
	URL         *string
	Events      []string
	Description *string
}

// UpdateWebhookEndpoint applies p to the tenant's endpoint, or NOT_FOUND.
// Deliveries already recorded keep going to the endpoint's new URL.
func (db *DB) UpdateWebhookEndpoint(ctx context.Context, tenantID, id string, p EndpointPatch) (webhook.Endpoint, error) {
	var events any
	if p.Events != nil {
		events = p.Events
	}
	e, err := scanEndpoint(db.Pool.QueryRow(ctx, db.q("update-webhook-endpoint"), tenantID, id, p.URL, events, p.Description))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("update webhook endpoint %s: %w", id, err)
	}
	return e, notFound(err, "webhook endpoint")
}

// DeleteWebhookEndpoint deletes the tenant's endpoint and its deliveries,
// or NOT_FOUND.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, tenantID, id string) error {
	tag, err := db.Pool.Exec(ctx, db.q("delete-webhook-endpoint"), tenantID, id)
	if err != nil {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return errcode.New(errcode.NotFound, "webhook endpoint not found")
	}
	return nil
}

// WebhookDeliveries returns a page of the endpoint's delivery log, newest
// first, optionally of one status. The caller checks the endpoint first.
func (db *DB) WebhookDeliveries(ctx context.Context, tenantID, endpointID, status, after string, limit int) ([]webhook.LogEntry, error) {
	rows, err := db.Pool.Query(ctx, db.q("list-webhook-deliveries"), tenantID, endpointID, nullable(after), limit, nullable(status))
	if err != nil {
		return nil, fmt.Errorf("list deliveries of webhook endpoint %s: %w", endpointID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.LogEntry, error) {
		var l webhook.LogEntry
		err := r.Scan(&l.ID, &l.Event, &l.EventID, &l.Status, &l.Attempts, &l.LastStatus, &l.LastError, &l.CreatedAt,
			&l.DeliveredAt, &l.NextAttemptAt)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("list deliveries of webhook endpoint %s: %w", endpointID, err)
	}
	return out, nil
}

// RetryWebhookDelivery makes the tenant's delivery due at `at`, or NOT_FOUND.
func (db *DB) RetryWebhookDelivery(ctx context.Context, tenantID, endpointID, deliveryID string, at time.Time) error {
	var id string
	err := db.Pool.QueryRow(ctx, db.q("retry-webhook-delivery"), tenantID, endpointID, deliveryID, at).Scan(&id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("retry webhook delivery %s: %w", deliveryID, err)
	}
	return notFound(err, "delivery")
}

// WebhookOutbox is the outbox as the deliverer uses it; it implements
// webhook.Store.
type WebhookOutbox struct{ DB *DB }

var _ webhook.Store = WebhookOutbox{}

// Claim leases the endpoint's longest-waiting due delivery.
func (o WebhookOutbox) Claim(ctx context.Context, endpointID string, now time.Time, lease time.Duration) (webhook.Delivery, bool, error) {
	var d webhook.Delivery
	var payload string
	err := o.DB.Pool.QueryRow(ctx, o.DB.q("claim-webhook-delivery"), endpointID, now, now.Add(lease)).
		Scan(&d.ID, &d.EventID, &d.EndpointID, &d.URL, &d.Secret, &payload, &d.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("claim a delivery of webhook endpoint %s: %w", endpointID, err)
	}
	d.Payload = []byte(payload)
	return d, true, nil
}

// Record stores an attempt's outcome.
func (o WebhookOutbox) Record(ctx context.Context, d webhook.Delivery, out webhook.Outcome) error {
	var status, errText, next any
	if out.Status != 0 {
		status = out.Status
	}
	if out.Error != "" {
		errText = out.Error
	}
	if !out.Next.IsZero() {
		next = out.Next
	}
	if _, err := o.DB.Pool.Exec(ctx, o.DB.q("record-webhook-attempt"), d.ID, status, errText, out.Delivered, next, out.At); err != nil {
		return fmt.Errorf("record attempt of webhook delivery %s: %w", d.ID, err)
	}
	return nil
}

// NextDue returns when the endpoint's next pending delivery is due.
func (o WebhookOutbox) NextDue(ctx context.Context, endpointID string) (time.Time, bool, error) {
	var due *time.Time
	if err := o.DB.Pool.QueryRow(ctx, o.DB.q("next-webhook-due"), endpointID).Scan(&due); err != nil {
		return time.Time{}, false, fmt.Errorf("next delivery of webhook endpoint %s: %w", endpointID, err)
	}
	if due == nil {
		return time.Time{}, false, nil
	}
	return *due, true, nil
}

// DueEndpoints lists endpoints with a delivery due by `by`.
func (o WebhookOutbox) DueEndpoints(ctx context.Context, by time.Time, limit int) ([]webhook.DueEndpoint, error) {
	rows, err := o.DB.Pool.Query(ctx, o.DB.q("due-webhook-endpoints"), by, limit)
	if err != nil {
		return nil, fmt.Errorf("list due webhook endpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (webhook.DueEndpoint, error) {
		var e webhook.DueEndpoint
		err := r.Scan(&e.ID, &e.Due)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list due webhook endpoints: %w", err)
	}
	return out, nil
}

// Purge forgets finished events older than before.
func (o WebhookOutbox) Purge(ctx context.Context, before time.Time) (int64, error) {
	tag, err := o.DB.Pool.Exec(ctx, o.DB.q("purge-webhook-events"), before)
	if err != nil {
		return 0, fmt.Errorf("purge webhook events: %w", err)
	}
	return tag.RowsAffected(), nil
}
