package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// WebhookInstance is what authenticates a WuzAPI webhook post.
type WebhookInstance struct {
	ID         string
	TenantID   string
	SecretHash []byte // sha256 of the webhook secret
	HMACKey    string // "" when the instance's webhooks are not signed
}

// WebhookInstance returns the instance a webhook URL names, or NOT_FOUND.
func (db *DB) WebhookInstance(ctx context.Context, id string) (WebhookInstance, error) {
	var w WebhookInstance
	err := db.Pool.QueryRow(ctx, db.q("webhook-instance"), id).Scan(&w.ID, &w.TenantID, &w.SecretHash, &w.HMACKey)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return w, fmt.Errorf("look up webhook instance %s: %w", id, err)
	}
	return w, notFound(err, "instance")
}

// StoredEvent is a webhook event as recorded.
type StoredEvent struct {
	ID         string
	InstanceID string
	TenantID   string
	Payload    []byte
	// Duplicate: the same body was stored before; Processed: and applied.
	Duplicate, Processed bool
}

// RecordWuzapiEvent stores a webhook event durably (before it is answered).
// A body stored before is not stored again: the stored row comes back with
// Duplicate set.
func (db *DB) RecordWuzapiEvent(ctx context.Context, instanceID, tenantID, typ string, payload, bodySHA256 []byte) (StoredEvent, error) {
	ev := StoredEvent{InstanceID: instanceID, TenantID: tenantID, Payload: payload}
	err := db.Pool.QueryRow(ctx, db.q("record-wuzapi-event"), instanceID, tenantID, typ, payload, bodySHA256).
		Scan(&ev.ID, &ev.Duplicate, &ev.Processed)
	if err != nil {
		return ev, fmt.Errorf("store %s event of instance %s: %w", typ, instanceID, err)
	}
	return ev, nil
}

// RecordAndApplyWuzapiEvent stores a webhook event and applies it in one
// transaction (one commit, so one WAL flush, per webhook). apply runs
// inside a savepoint: if it fails (after retrying deadlocks), its changes
// are rolled back but the event is still committed, unprocessed, with the
// error, for the scheduler's sweep. A body stored before is not stored
// again; if it was applied, apply is not called. The returned error is a
// failure to store the event: the webhook must not answer 200 then. The
// tenant webhook events the change records (receipts, replies, opt-outs,
// pauses) are nudged once it committed.
func (db *DB) RecordAndApplyWuzapiEvent(ctx context.Context, instanceID, tenantID, typ string, payload, bodySHA256 []byte,
	apply func(ctx context.Context, s receipt.Store) error) (ev StoredEvent, applyErr error, err error) {
	ev = StoredEvent{InstanceID: instanceID, TenantID: tenantID, Payload: payload}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, db.q("record-wuzapi-event"), instanceID, tenantID, typ, payload, bodySHA256).
			Scan(&ev.ID, &ev.Duplicate, &ev.Processed); err != nil {
			return fmt.Errorf("store %s event of instance %s: %w", typ, instanceID, err)
		}
		if ev.Processed {
			return nil
		}
		for range 3 {
			applyErr = pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error { // a savepoint
				return apply(ctx, ReceiptStore{DB: db, tx: sp})
			})
			if !isDeadlock(applyErr) {
				break
			}
		}
		var msg *string
		if applyErr != nil {
			m := applyErr.Error()
			msg = &m
		}
		if _, err := tx.Exec(ctx, db.q("finish-wuzapi-event"), ev.ID, msg); err != nil {
			return fmt.Errorf("finish wuzapi event %s: %w", ev.ID, err)
		}
		ev.Processed = applyErr == nil
		return nil
	})
	return ev, applyErr, err
}

// FinishWuzapiEvent records the outcome of applying an event: applied when
// applyErr is nil, else kept unprocessed with the error for a retry.
func (db *DB) FinishWuzapiEvent(ctx context.Context, id string, applyErr error) error {
	var msg *string
	if applyErr != nil {
		s := applyErr.Error()
		msg = &s
	}
	if _, err := db.Pool.Exec(ctx, db.q("finish-wuzapi-event"), id, msg); err != nil {
		return fmt.Errorf("finish wuzapi event %s: %w", id, err)
	}
	return nil
}

// UnprocessedWuzapiEvents returns up to limit events received before
// `before` that are not applied yet and were tried fewer than maxAttempts times.
func (db *DB) UnprocessedWuzapiEvents(ctx context.Context, before time.Time, maxAttempts, limit int) ([]StoredEvent, error) {
	rows, err := db.Pool.Query(ctx, db.q("unprocessed-wuzapi-events"), before, maxAttempts, limit)
	if err != nil {
		return nil, fmt.Errorf("list unprocessed wuzapi events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StoredEvent, error) {
		var e StoredEvent
		var payload string
		err := row.Scan(&e.ID, &e.InstanceID, &e.TenantID, &payload)
		e.Payload = []byte(payload)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read unprocessed wuzapi events: %w", err)
	}
	return out, nil
}

// PurgeWuzapiEvents deletes events received before `before` that were
// applied (or given up on after maxAttempts) and returns how many.
func (db *DB) PurgeWuzapiEvents(ctx context.Context, before time.Time, maxAttempts int) (int64, error) {
	tag, err := db.Pool.Exec(ctx, db.q("purge-wuzapi-events"), before, maxAttempts)
	if err != nil {
		return 0, fmt.Errorf("purge wuzapi events: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ReceiptStore applies webhook events to the database; it implements
// receipt.Store.
type ReceiptStore struct {
	DB *DB
	tx pgx.Tx // when set, every statement runs in it
}

// querier is what both the pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s ReceiptStore) conn() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.DB.Pool
}

// retry runs fn again on a deadlock, outside a transaction only: inside
// one, the caller rolls back to its savepoint and retries.
func (s ReceiptStore) retry(fn func() error) error {
	if s.tx != nil {
		return fn()
	}
	return retryDeadlock(fn)
}

var _ receipt.Store = ReceiptStore{}

// ApplyReceipt calls the SQL function apply_receipt (migration 00080): a
// monotonic, idempotent update of the instance's recipients carrying these
// message ids; ids nobody carries yet are kept in pending_receipts.
func (s ReceiptStore) ApplyReceipt(ctx context.Context, instanceID string, ids []string, state receipt.State, at time.Time) (int, error) {
	var n int
	err := s.retry(func() error {
		return s.conn().QueryRow(ctx, s.DB.q("apply-receipt"), instanceID, ids, string(state), at).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("apply receipt: %w", err)
	}
	return n, nil
}

// OptOutContact marks the tenant's contact with phone opted out, creating
// the contact when the tenant has none with that phone.
func (s ReceiptStore) OptOutContact(ctx context.Context, tenantID, phone string, at time.Time) error {
	if _, err := s.conn().Exec(ctx, s.DB.q("opt-out-contact"), tenantID, phone, at); err != nil {
		return fmt.Errorf("opt out %s: %w", phone, err)
	}
	return nil
}

// BlockInstance sets instances.blocked_reason (the campaign worker stops
// sending through a blocked instance) and pauses the instance's queued and
// running campaigns with a reason the tenant can read.
func (s ReceiptStore) BlockInstance(ctx context.Context, instanceID, reason string, at, until time.Time) error {
	var untilArg *time.Time
	if !until.IsZero() {
		untilArg = &until
	}
	why := "instance logged out of WhatsApp: pair it again (QR code), set its webhook again, then resume"
	if reason == receipt.ReasonTemporaryBan {
		why = "instance temporarily banned by WhatsApp"
		if untilArg != nil {
			why += " until " + until.UTC().Format(time.RFC3339)
		}
	}
	if _, err := s.conn().Exec(ctx, s.DB.q("block-instance"), instanceID, reason, at, untilArg, why); err != nil {
		return fmt.Errorf("block instance %s: %w", instanceID, err)
	}
	return nil
}

// RememberContact records that phone wrote to the instance.
func (s ReceiptStore) RememberContact(ctx context.Context, instanceID, phone string, at time.Time) error {
	if _, err := s.conn().Exec(ctx, s.DB.q("remember-contact"), instanceID, phone, at); err != nil {
		return fmt.Errorf("remember contact of instance %s: %w", instanceID, err)
	}
	return nil
}

// RecordReply calls the record-reply query: the incoming message is stored
// as a reply of the latest campaign of the instance that messaged the phone
// in the 72 hours before at. It returns that campaign's id, "" when no
// campaign qualifies or the message id was recorded before.
func (s ReceiptStore) RecordReply(ctx context.Context, inst receipt.Instance, phone, text, messageID string, at time.Time) (string, error) {
	var id string
	err := s.conn().QueryRow(ctx, s.DB.q("record-reply"), inst.ID, inst.TenantID, phone, at, text, messageID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("record reply of %s to instance %s: %w", phone, inst.ID, err)
	}
	return id, nil
}

// SetBanCode records the TemporaryBan code of the instance's block and
// rewrites its paused campaigns' reason to say what the code means.
func (s ReceiptStore) SetBanCode(ctx context.Context, instanceID string, code int) error {
	if _, err := s.conn().Exec(ctx, s.DB.q("set-ban-code"), instanceID, code,
		"auto-paused: this number is temporarily banned by WhatsApp: "+wuzapi.BanReason(code)); err != nil {
		return fmt.Errorf("record ban code of instance %s: %w", instanceID, err)
	}
	return nil
}

// UnblockInstance clears the block once WuzAPI reports the instance connected.
func (s ReceiptStore) UnblockInstance(ctx context.Context, instanceID string) error {
	if _, err := s.conn().Exec(ctx, s.DB.q("unblock-instance"), instanceID); err != nil {
		return fmt.Errorf("unblock instance %s: %w", instanceID, err)
	}
	return nil
}

// InstanceBlock is why an instance must not send; Reason "" when it may.
type InstanceBlock struct {
	Reason string
	At     *time.Time
	Until  *time.Time
}

// InstanceBlock returns the instance's block, for the campaign worker and
// the instance view.
func (db *DB) InstanceBlock(ctx context.Context, instanceID string) (InstanceBlock, error) {
	var b InstanceBlock
	err := db.Pool.QueryRow(ctx, db.q("instance-block"), instanceID).Scan(&b.Reason, &b.At, &b.Until)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("read block of instance %s: %w", instanceID, err)
	}
	return b, notFound(err, "instance")
}

// ApplyPendingReceipts applies the receipts kept for these message ids (all
// kept receipts when ids is nil) to the recipients that now carry them, and
// returns how many it applied. The campaign worker calls it right after it
// records wuzapi_message_id (or calls SQL apply_pending_receipts($ids) in the
// same statement); the scheduler sweeps with nil every minute.
func (db *DB) ApplyPendingReceipts(ctx context.Context, ids []string) (int, error) {
	var n int
	err := retryDeadlock(func() error {
		return db.Pool.QueryRow(ctx, db.q("apply-pending-receipts"), ids).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("apply pending receipts: %w", err)
	}
	return n, nil
}

// PurgePendingReceipts drops kept receipts received before `before` (their
// message was never one of our sends) and returns how many.
func (db *DB) PurgePendingReceipts(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.Pool.Exec(ctx, db.q("purge-pending-receipts"), before)
	if err != nil {
		return 0, fmt.Errorf("purge pending receipts: %w", err)
	}
	return tag.RowsAffected(), nil
}

// CampaignUndelivered counts the tenant's campaign recipients sent before
// sentBefore without a delivery receipt. A
// campaign of another tenant counts 0; callers check the campaign first.
func (db *DB) CampaignUndelivered(ctx context.Context, tenantID, campaignID string, sentBefore time.Time) (int, error) {
	var n int
	if err := db.Pool.QueryRow(ctx, db.q("campaign-undelivered"), tenantID, campaignID, sentBefore).Scan(&n); err != nil {
		return 0, fmt.Errorf("count undelivered of campaign %s: %w", campaignID, err)
	}
	return n, nil
}

// retryDeadlock runs fn again when Postgres broke a deadlock by aborting it:
// two receipts naming the same messages in another order can lock rows
// crosswise, and both must still apply.
func retryDeadlock(fn func() error) error {
	var err error
	for range 3 {
		if err = fn(); !isDeadlock(err) {
			return err
		}
	}
	return err
}

func isDeadlock(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// Retention of the receipts' rows.
const (
	// eventMaxAttempts is how often an event is applied before it is left
	// for an operator (its error stays on the row).
	eventMaxAttempts = 5
	// eventRetention keeps applied events for audits and replays.
	eventRetention = 30 * 24 * time.Hour
	// pendingRetention: a receipt whose send was not recorded in a week
	// was for a message no campaign sent.
	pendingRetention = 7 * 24 * time.Hour
)

// WuzapiEventLog is the durable webhook event log; it implements
// receipt.EventLog for the scheduler's sweep.
type WuzapiEventLog struct{ DB *DB }

var _ receipt.EventLog = WuzapiEventLog{}

// Unapplied lists unapplied events received before `before`.
func (l WuzapiEventLog) Unapplied(ctx context.Context, before time.Time, limit int) ([]receipt.StoredEvent, error) {
	evs, err := l.DB.UnprocessedWuzapiEvents(ctx, before, eventMaxAttempts, limit)
	if err != nil {
		return nil, err
	}
	out := make([]receipt.StoredEvent, len(evs))
	for i, e := range evs {
		out[i] = receipt.StoredEvent{ID: e.ID, Instance: receipt.Instance{ID: e.InstanceID, TenantID: e.TenantID}, Payload: e.Payload}
	}
	return out, nil
}

// Finish records an event's outcome.
func (l WuzapiEventLog) Finish(ctx context.Context, id string, applyErr error) error {
	return l.DB.FinishWuzapiEvent(ctx, id, applyErr)
}

// ApplyPending applies every kept receipt that now has its recipient.
func (l WuzapiEventLog) ApplyPending(ctx context.Context) (int, error) {
	return l.DB.ApplyPendingReceipts(ctx, nil)
}

// Purge drops applied events and kept receipts past their retention.
func (l WuzapiEventLog) Purge(ctx context.Context, now time.Time) error {
	if _, err := l.DB.PurgeWuzapiEvents(ctx, now.Add(-eventRetention), eventMaxAttempts); err != nil {
		return err
	}
	_, err := l.DB.PurgePendingReceipts(ctx, now.Add(-pendingRetention))
	return err
}
