package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SessionInstance is what the session check needs of an instance.
type SessionInstance struct {
	ID, TenantID, Name, BaseURL string
	Token                       string // the WuzAPI user token: never logged
}

// SessionInstances lists up to limit instances of every tenant whose id
// follows after ("" from the first), in id order, for the scheduler's
// round-robin session check.
func (db *DB) SessionInstances(ctx context.Context, after string, limit int) ([]SessionInstance, error) {
	rows, err := db.Pool.Query(ctx, db.q("session-instances"), nullable(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list instances for the session check: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SessionInstance, error) {
		var s SessionInstance
		err := r.Scan(&s.ID, &s.TenantID, &s.Name, &s.BaseURL, &s.Token)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("read instances for the session check: %w", err)
	}
	return out, nil
}

// ReadyInstances counts the instances whose last check found them
// connected and logged in.
func (db *DB) ReadyInstances(ctx context.Context) (int, error) {
	var n int
	if err := db.Pool.QueryRow(ctx, db.q("count-ready-instances")).Scan(&n); err != nil {
		return 0, fmt.Errorf("count ready instances: %w", err)
	}
	return n, nil
}

// RecordSessionStatus stores an instance's WuzAPI session state as checked
// at at.
func (db *DB) RecordSessionStatus(ctx context.Context, id string, connected, loggedIn bool, at time.Time) error {
	if _, err := db.execNudging(ctx, db.q("record-session-status"), id, connected, loggedIn, at); err != nil {
		return fmt.Errorf("record session status of instance %s: %w", id, err)
	}
	return nil
}

// StalledInstance is an instance that cannot send while campaigns wait.
type StalledInstance struct {
	ID, TenantID, Name string
	Campaigns          int // queued, running or paused campaigns on it
}

// StalledInstances lists the instances that are not connected and logged
// in (or were never checked) while one of their campaigns is queued,
// running or paused.
func (db *DB) StalledInstances(ctx context.Context) ([]StalledInstance, error) {
	rows, err := db.Pool.Query(ctx, db.q("stalled-instances"))
	if err != nil {
		return nil, fmt.Errorf("list stalled instances: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StalledInstance, error) {
		var s StalledInstance
		err := r.Scan(&s.ID, &s.TenantID, &s.Name, &s.Campaigns)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("read stalled instances: %w", err)
	}
	return out, nil
}

// InstanceBlockAlert is a ban or logout of an instance that needs its
// critical alert.
type InstanceBlockAlert struct {
	ID, TenantID, Name string
	Blocked            string // "temporary_ban" or "logged_out"
	BanCode            *int
	BlockedUntil       *time.Time // nil: until paired again
	BlockedAt          time.Time  // which block this is
}

// ClaimBlockAlerts returns up to limit blocks still in force at now that
// have had no alert, and marks each as alerted, so each block is returned
// once fleet-wide. Give back a block whose alert was not delivered with
// ReleaseBlockAlert.
func (db *DB) ClaimBlockAlerts(ctx context.Context, now time.Time, limit int) ([]InstanceBlockAlert, error) {
	rows, err := db.Pool.Query(ctx, db.q("claim-block-alerts"), now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim instance block alerts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InstanceBlockAlert, error) {
		var b InstanceBlockAlert
		err := r.Scan(&b.ID, &b.TenantID, &b.Name, &b.Blocked, &b.BanCode, &b.BlockedUntil, &b.BlockedAt)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("read instance block alerts: %w", err)
	}
	return out, nil
}

// ReleaseBlockAlert makes a claimed block due again (its alert was not
// delivered), unless the instance was blocked anew since.
func (db *DB) ReleaseBlockAlert(ctx context.Context, b InstanceBlockAlert) error {
	if _, err := db.Pool.Exec(ctx, db.q("release-block-alert"), b.ID, b.BlockedAt); err != nil {
		return fmt.Errorf("release block alert of instance %s: %w", b.ID, err)
	}
	return nil
}
