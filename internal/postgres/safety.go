package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

// NumberCheckTTL is how long a WuzAPI number check answer is trusted.
const NumberCheckTTL = 30 * 24 * time.Hour

// RememberContact records that phone wrote to the instance: sends to it
// are to a known contact from then on.
func (db *DB) RememberContact(ctx context.Context, instanceID, phone string, at time.Time) error {
	if _, err := db.Pool.Exec(ctx, db.q("remember-contact"), instanceID, phone, at); err != nil {
		return fmt.Errorf("remember contact of instance %s: %w", instanceID, err)
	}
	return nil
}

// IsKnownContact reports whether phone (in either Brazilian form) wrote to
// the instance.
func (db *DB) IsKnownContact(ctx context.Context, instanceID, phone string) (bool, error) {
	var ok bool
	if err := db.Pool.QueryRow(ctx, db.q("is-known-contact"), instanceID, phone).Scan(&ok); err != nil {
		return false, fmt.Errorf("look up known contact of instance %s: %w", instanceID, err)
	}
	return ok, nil
}

// LockNewLane locks the instance's new-contact lane after a reach-out lock
// (WhatsApp error 463) at now: 24 h, doubled for each lock within 7 days of
// the last, at most 7 days. It returns the lane as it is now and whether
// this call started the lock (false when a lock was already running).
func (db *DB) LockNewLane(ctx context.Context, instanceID string, now time.Time) (campaign.Lane, bool, error) {
	l := campaign.Lane{State: campaign.LaneLocked}
	var fresh bool
	b := &pgx.Batch{}
	b.Queue(db.q("lock-new-lane"), instanceID, now).QueryRow(func(r pgx.Row) error { return r.Scan(&l.Until, &l.Reason, &fresh) })
	if err := db.sendBatch(ctx, b); err != nil {
		return l, false, fmt.Errorf("lock the new-contact lane of instance %s: %w", instanceID, err)
	}
	return l, fresh, nil
}

// PauseNewLane pauses the instance's open new-contact lane (the delivery
// guard) with reason until probeAt, when one probe send may try again;
// false when the lane was already closed.
func (db *DB) PauseNewLane(ctx context.Context, instanceID, reason string, now, probeAt time.Time) (bool, error) {
	var found bool
	b := &pgx.Batch{}
	b.Queue(db.q("pause-new-lane"), instanceID, now, probeAt, reason).QueryRow(func(r pgx.Row) error {
		var id string
		return scanOptional(r, &found, &id)
	})
	if err := db.sendBatch(ctx, b); err != nil {
		return false, fmt.Errorf("pause the new-contact lane of instance %s: %w", instanceID, err)
	}
	return found, nil
}

// ResumeNewLane reopens the tenant's instance's new-contact lane that the
// delivery guard paused. It is what POST /v1/instances/{id}/resume does:
// NOT_FOUND for an instance the tenant does not have, INVALID_STATE when
// the lane is not paused (open, or locked by WhatsApp: a reach-out lock
// cannot be lifted). now starts the delivery guard's window afresh.
func (db *DB) ResumeNewLane(ctx context.Context, tenantID, instanceID string, now time.Time) error {
	var found bool
	b := &pgx.Batch{}
	b.Queue(db.q("resume-new-lane"), tenantID, instanceID, now).QueryRow(func(r pgx.Row) error {
		var id string
		return scanOptional(r, &found, &id)
	})
	if err := db.sendBatch(ctx, b); err != nil {
		return fmt.Errorf("resume the new-contact lane of instance %s: %w", instanceID, err)
	}
	if found {
		return nil
	}
	if _, err := db.Instance(ctx, tenantID, instanceID); err != nil {
		return err
	}
	return errcode.New(errcode.InvalidState, "the instance's new-contact sending is not paused")
}

// NewLane returns the instance's new-contact lane.
func (db *DB) NewLane(ctx context.Context, instanceID string) (campaign.Lane, error) {
	var l campaign.Lane
	err := db.Pool.QueryRow(ctx, db.q("new-lane"), instanceID).Scan(&l.State, &l.Until, &l.Reason)
	return l, notFound(err, "instance")
}

// TakeLaneProbe takes the single probe send of a closed lane whose wait
// has ended; false when the lane is open, still waiting, or another worker
// probes.
func (db *DB) TakeLaneProbe(ctx context.Context, instanceID string, now time.Time) (bool, error) {
	var id string
	err := db.Pool.QueryRow(ctx, db.q("take-lane-probe"), instanceID, now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take the lane probe of instance %s: %w", instanceID, err)
	}
	return true, nil
}

// ReleaseLaneProbe gives a probe back unused (no new contact was due).
func (db *DB) ReleaseLaneProbe(ctx context.Context, instanceID string) error {
	if _, err := db.Pool.Exec(ctx, db.q("release-lane-probe"), instanceID); err != nil {
		return fmt.Errorf("release the lane probe of instance %s: %w", instanceID, err)
	}
	return nil
}

// OpenNewLane reopens the lane after a successful probe at now (the
// delivery guard's window starts afresh).
func (db *DB) OpenNewLane(ctx context.Context, instanceID string, now time.Time) error {
	if _, err := db.execNudging(ctx, db.q("open-new-lane"), instanceID, now); err != nil {
		return fmt.Errorf("open the new-contact lane of instance %s: %w", instanceID, err)
	}
	return nil
}

// RecentNewDeliveries returns how many of the instance's last n first
// messages sent before `before` were delivered, how many there were, and
// the earliest first message sent since (nil: none).
func (db *DB) RecentNewDeliveries(ctx context.Context, instanceID string, before time.Time, n int) (delivered, total int, next *time.Time, err error) {
	err = db.Pool.QueryRow(ctx, db.q("recent-new-deliveries"), instanceID, before, n).Scan(&delivered, &total, &next)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("recent first messages of instance %s: %w", instanceID, err)
	}
	return delivered, total, next, nil
}

// UncheckedNew returns up to limit pending new contacts of the chunk [lo,
// hi) whose number has no cached check answer newer than since.
func (db *DB) UncheckedNew(ctx context.Context, campaignID string, lo, hi int, instanceID string, limit int, since time.Time) ([]string, error) {
	rows, err := db.Pool.Query(ctx, db.q("unchecked-new"), campaignID, lo, hi, instanceID, limit, since)
	if err != nil {
		return nil, fmt.Errorf("unchecked recipients of campaign %s: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("unchecked recipients of campaign %s: %w", campaignID, err)
	}
	return out, nil
}

// SaveNumberChecks caches WuzAPI's answers for the tenant and skips the
// chunk's pending recipients whose number is not on WhatsApp; it returns
// how many it skipped.
func (db *DB) SaveNumberChecks(ctx context.Context, tenantID, campaignID string, lo, hi int, checks []campaign.NumberCheck, at time.Time) (int, error) {
	batch := &pgx.Batch{}
	for _, c := range checks {
		batch.Queue(db.q("save-number-check"), tenantID, c.Phone, c.OnWhatsApp, nullable(c.SendPhone), at)
	}
	if err := db.Pool.SendBatch(ctx, batch).Close(); err != nil {
		return 0, fmt.Errorf("cache number checks of tenant %s: %w", tenantID, err)
	}
	tag, err := db.Pool.Exec(ctx, db.q("skip-not-on-whatsapp"), campaignID, lo, hi, at.Add(-NumberCheckTTL))
	if err != nil {
		return 0, fmt.Errorf("skip recipients not on WhatsApp of campaign %s: %w", campaignID, err)
	}
	return int(tag.RowsAffected()), nil
}
