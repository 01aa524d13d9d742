package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Tenant webhook events are written by triggers (emit_webhook_event) in the
// transaction of the change that causes them, and the trigger notes every
// endpoint it gave a delivery in the transaction-local setting
// wm.webhook_endpoints (rolled back with the transaction or its savepoint).
// A writer below reads that setting as the last statement of its
// transaction and, once the transaction committed, asks for a delivery run
// of each of those endpoints (Options.Webhooks), so an event's first
// attempt follows within seconds instead of at the scheduler's next relay.
// A nudge that fails or is never sent loses nothing: the delivery is
// pending in the outbox, and the relay asks for its run. The setting holds
// at most about 100 endpoints; a transaction that touches more leaves the
// rest to the relay.

// notedEndpoints reads the endpoints noted by the transaction's events.
const notedEndpoints = "SELECT coalesce(current_setting('wm.webhook_endpoints', true), '')"

// nudgeTimeout bounds the nudges after one commit, so a slow queue delays
// its writer by at most this.
const nudgeTimeout = 2 * time.Second

// inTx runs fn in a transaction and, once it committed, nudges the
// endpoints its events gave a delivery.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var noted string
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if db.webhooks == nil {
			return nil
		}
		return tx.QueryRow(ctx, notedEndpoints).Scan(&noted)
	})
	if err != nil {
		return err
	}
	db.nudge(ctx, noted)
	return nil
}

// sendBatch sends b's statements and the read of the noted endpoints in one
// round trip; without an explicit BEGIN the batch is one implicit
// transaction, committed when it returns. Then it nudges.
func (db *DB) sendBatch(ctx context.Context, b *pgx.Batch) error {
	return db.sendBatchNudging(ctx, b, true)
}

// sendBatchNudging is sendBatch that reads the noted endpoints only when
// read: a writer that knows its tenant has no webhook endpoint (so its
// events give no delivery) skips the read, a statement of its own.
func (db *DB) sendBatchNudging(ctx context.Context, b *pgx.Batch, read bool) error {
	var noted string
	if read && db.webhooks != nil {
		b.Queue(notedEndpoints).QueryRow(func(r pgx.Row) error { return r.Scan(&noted) })
	}
	if err := db.Pool.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	db.nudge(ctx, noted)
	return nil
}

// execNudging is Pool.Exec for a statement whose change may record tenant
// webhook events.
func (db *DB) execNudging(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	b := &pgx.Batch{}
	b.Queue(sql, args...).Exec(func(t pgconn.CommandTag) error { tag = t; return nil })
	return tag, db.sendBatch(ctx, b)
}

// nudge asks for a delivery run of every endpoint in noted (ids, each
// followed by a comma). It outlives the caller's cancellation, as the
// change it follows has committed; a failure is logged, not returned.
func (db *DB) nudge(ctx context.Context, noted string) {
	if noted == "" || db.webhooks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), nudgeTimeout)
	defer cancel()
	for id := range strings.SplitSeq(strings.TrimSuffix(noted, ","), ",") {
		if err := db.webhooks.Nudge(ctx, id, 0); err != nil {
			db.logger.WarnContext(ctx, "webhook nudge failed: the scheduler's relay asks for the run", "endpoint_id", id, "error", err.Error())
		}
	}
}
