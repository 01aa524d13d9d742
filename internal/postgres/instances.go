package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

func scanInstance(row pgx.Row) (campaign.Instance, error) {
	var i campaign.Instance
	err := row.Scan(&i.ID, &i.TenantID, &i.Name, &i.BaseURL, &i.Token, &i.MessagesPerMinute, &i.MinDelayMs, &i.MaxDelayMs,
		&i.HourlyCap, &i.DailyCap, &i.WarmupDays, &i.MaxInFlight, &i.NewContactsPerDay, &i.NewContactsPerHour,
		&i.CheckNumbers, &i.Typing, &i.IdenticalPerHour, &i.CreatedAt)
	return i, err
}

// CreateInstance stores an instance whose id the caller chose (the webhook
// URL carrying it may already be registered on WuzAPI) with the hash of its
// webhook secret.
// Sending-safety counts left at zero take their defaults.
func (db *DB) CreateInstance(ctx context.Context, in campaign.Instance, secretHash []byte) (campaign.Instance, error) {
	return db.CreateInstanceWithin(ctx, in, secretHash, 0)
}

// CreateInstanceWithin is CreateInstance for a tenant that may hold at most
// max instances (0: no cap); over it, PLAN_LIMIT naming "instances".
func (db *DB) CreateInstanceWithin(ctx context.Context, in campaign.Instance, secretHash []byte, max int) (campaign.Instance, error) {
	in = in.WithSafetyDefaults()
	var out campaign.Instance
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := db.withinPlan(ctx, tx, in.TenantID, "instances", "count-instances", max); err != nil {
			return err
		}
		var err error
		out, err = scanInstance(tx.QueryRow(ctx, db.q("create-instance"), in.ID, in.TenantID, in.Name, in.BaseURL, in.Token, secretHash,
			in.MessagesPerMinute, in.MinDelayMs, in.MaxDelayMs, in.HourlyCap, in.DailyCap, in.WarmupDays, in.MaxInFlight,
			in.NewContactsPerDay, in.NewContactsPerHour, in.CheckNumbers, in.Typing, in.IdenticalPerHour))
		return err
	})
	if err != nil {
		return out, fmt.Errorf("insert instance of tenant %s: %w", in.TenantID, err)
	}
	return out, nil
}

// Instance returns the tenant's instance id, or NOT_FOUND.
func (db *DB) Instance(ctx context.Context, tenantID, id string) (campaign.Instance, error) {
	i, err := scanInstance(db.Pool.QueryRow(ctx, db.q("get-instance"), tenantID, id))
	return i, notFound(err, "instance")
}

// Instances returns a page of the tenant's instances, newest first, after
// the instance with id after ("" for the first page).
func (db *DB) Instances(ctx context.Context, tenantID, after string, limit int) ([]campaign.Instance, error) {
	rows, err := db.Pool.Query(ctx, db.q("list-instances"), tenantID, nullable(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list instances of tenant %s: %w", tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (campaign.Instance, error) { return scanInstance(r) })
	if err != nil {
		return nil, fmt.Errorf("list instances of tenant %s: %w", tenantID, err)
	}
	return out, nil
}

// UpdateInstance writes the instance's name and limits (sending-safety
// counts left at zero take their defaults).
func (db *DB) UpdateInstance(ctx context.Context, in campaign.Instance) (campaign.Instance, error) {
	in = in.WithSafetyDefaults()
	out, err := scanInstance(db.Pool.QueryRow(ctx, db.q("update-instance"), in.TenantID, in.ID, in.Name,
		in.MessagesPerMinute, in.MinDelayMs, in.MaxDelayMs, in.HourlyCap, in.DailyCap, in.WarmupDays, in.MaxInFlight,
		in.NewContactsPerDay, in.NewContactsPerHour, in.CheckNumbers, in.Typing, in.IdenticalPerHour))
	return out, notFound(err, "instance")
}

// SetInstanceSession records the last known WuzAPI session state.
func (db *DB) SetInstanceSession(ctx context.Context, tenantID, id string, connected, loggedIn bool) error {
	if _, err := db.execNudging(ctx, db.q("set-instance-session"), tenantID, id, connected, loggedIn); err != nil {
		return fmt.Errorf("record session of instance %s: %w", id, err)
	}
	return nil
}

// nullable is nil for "", so optional uuid parameters are NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InstanceStatuses returns what stops each of the tenant's instances ids
// sending, and its delivery rate's counts (its last
// campaign.DeliveryRateWindow sends before `before`), by id; an id the
// tenant does not have is absent.
func (db *DB) InstanceStatuses(ctx context.Context, tenantID string, ids []string, before time.Time) (map[string]campaign.InstanceStatus, error) {
	rows, err := db.Pool.Query(ctx, db.q("instance-statuses"), tenantID, ids, before, campaign.DeliveryRateWindow)
	if err != nil {
		return nil, fmt.Errorf("statuses of instances of tenant %s: %w", tenantID, err)
	}
	out := make(map[string]campaign.InstanceStatus, len(ids))
	var id string
	var s campaign.InstanceStatus
	_, err = pgx.ForEachRow(rows, []any{&id, &s.Blocked, &s.BanCode, &s.BlockedUntil, &s.Connected, &s.LoggedIn,
		&s.Lane.State, &s.Lane.Until, &s.Lane.Reason, &s.Delivered, &s.Settled}, func() error {
		out[id] = s
		s = campaign.InstanceStatus{} // the next row's pointers are its own
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("statuses of instances of tenant %s: %w", tenantID, err)
	}
	return out, nil
}
