package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// *DB is the campaign worker's and scheduler's store.
var (
	_ campaign.Store          = (*DB)(nil)
	_ campaign.SchedulerStore = (*DB)(nil)
)

// ChunkJob implements campaign.Store: the job and the chunk's start are
// one statement.
func (db *DB) ChunkJob(ctx context.Context, campaignID string, gen int64, now time.Time) (campaign.Job, error) {
	var j campaign.Job
	var tz string
	var tquiet, rollout []byte
	var pool []string
	var started *campaign.Status
	i := &j.Instance
	var m mediaCols
	var guard campaign.GuardWindowState
	var hooks bool
	c, err := scanCampaign(db.Pool.QueryRow(ctx, db.q("chunk-job"), campaignID, now, gen,
		now.Add(-campaign.GuardAge), campaign.GuardWindow), append(append([]any{
		&i.ID, &i.TenantID, &i.Name, &i.BaseURL, &i.Token, &i.MessagesPerMinute, &i.MinDelayMs, &i.MaxDelayMs,
		&i.HourlyCap, &i.DailyCap, &i.WarmupDays, &i.MaxInFlight, &i.NewContactsPerDay, &i.NewContactsPerHour,
		&i.CheckNumbers, &i.Typing, &i.IdenticalPerHour, &i.CreatedAt, &tz, &tquiet, &j.InstanceBlocked,
		&j.BanCode, &j.BlockedUntil, &j.Lane.State, &j.Lane.Until, &j.Lane.Reason, &pool, &rollout, &j.ChunkGen,
		&j.RolloutHoldFrom, &j.RolloutReleasedAt}, m.dst()...), &started, &guard.Delivered, &guard.Total, &guard.Next, &hooks)...)
	if err != nil {
		return j, notFound(err, "campaign")
	}
	j.Started = started != nil && *started == campaign.Running
	j.NoWebhooks = !hooks
	guard.InstanceID, guard.At = i.ID, now
	j.Guard = &guard
	m.set(&c)
	if err := setPool(&c, pool, rollout); err != nil {
		return j, err
	}
	j.Campaign = c
	j.Location = tenant.Tenant{Timezone: tz}.Location()
	if len(tquiet) > 0 {
		j.TenantQuietHours = new(tenant.QuietHours)
		if err := json.Unmarshal(tquiet, j.TenantQuietHours); err != nil {
			return j, fmt.Errorf("decode tenant quiet hours of campaign %s: %w", campaignID, err)
		}
	}
	return j, nil
}

// StartChunk moves a queued campaign to running and stamps its progress,
// returning its state: the start ChunkJob makes, alone.
func (db *DB) StartChunk(ctx context.Context, campaignID string, now time.Time) (campaign.Status, error) {
	var st campaign.Status
	err := db.Pool.QueryRow(ctx, db.q("start-chunk"), campaignID, now).Scan(&st)
	return st, notFound(err, "campaign")
}

// HasClaimable implements campaign.Store.
func (db *DB) HasClaimable(ctx context.Context, campaignID string, lo, hi int, now time.Time) (bool, error) {
	var ok bool
	if err := db.Pool.QueryRow(ctx, db.q("has-claimable"), campaignID, lo, hi, now).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for due recipients of campaign %s: %w", campaignID, err)
	}
	return ok, nil
}

// Claim implements campaign.Store.
func (db *DB) Claim(ctx context.Context, campaignID string, lo, hi int, now time.Time, f campaign.ClaimFilter) (campaign.Claimed, bool, error) {
	return db.claim(ctx, campaignID, lo, hi, now, f, nil, nil)
}

// MarkSentClaim implements campaign.Store.
func (db *DB) MarkSentClaim(ctx context.Context, campaignID, sent string, sentAt time.Time, lo, hi int, now time.Time, f campaign.ClaimFilter) (campaign.Claimed, bool, error) {
	return db.claim(ctx, campaignID, lo, hi, now, f, &sent, &sentAt)
}

func (db *DB) claim(ctx context.Context, campaignID string, lo, hi int, now time.Time, f campaign.ClaimFilter, sent *string, sentAt *time.Time) (campaign.Claimed, bool, error) {
	var c campaign.Claimed
	lane := f.Lane
	if lane == "" {
		lane = campaign.ClaimAny
	}
	args := []any{campaignID, lo, hi, now, nullable(f.InstanceID), lane, f.NeedCheck, now.Add(-NumberCheckTTL), f.Gen, f.Assigned, sent, sentAt}
	dest := claimScan{&c}
	found := true
	var err error
	if sent == nil || f.NoWebhooks {
		err = db.Pool.QueryRow(ctx, db.q("claim-recipient"), args...).Scan(dest)
		found = !errors.Is(err, pgx.ErrNoRows)
		if !found {
			err = nil
		}
	} else {
		// It records a send: its message.sent event is nudged.
		found = false
		b := &pgx.Batch{}
		b.Queue(db.q("claim-recipient"), args...).QueryRow(func(r pgx.Row) error { return scanOptional(r, &found, dest) })
		err = db.sendBatch(ctx, b)
	}
	if err != nil {
		return c, false, fmt.Errorf("claim a recipient of campaign %s seq %d..%d: %w", campaignID, lo, hi, err)
	}
	if !found {
		return c, false, nil
	}
	return c, true, nil
}

var _ campaign.ClaimBatcher = (*DB)(nil)

// ClaimSeveral implements campaign.ClaimBatcher: claim-recipients, whose
// rows are read by claimScan. Its marks' message.sent events are nudged,
// unless f.NoWebhooks.
func (db *DB) ClaimSeveral(ctx context.Context, campaignID string, marks []campaign.SentMark, lo, hi, k int, now time.Time, f campaign.ClaimFilter, batch, prev int64) ([]campaign.Claimed, error) {
	lane := f.Lane
	if lane == "" {
		lane = campaign.ClaimAny
	}
	phones, at := markArrays(marks)
	args := []any{campaignID, lo, hi, now, nullable(f.InstanceID), lane, f.NeedCheck, now.Add(-NumberCheckTTL), f.Gen, f.Assigned,
		phones, at, int64(k), batch, prev}
	out := make([]campaign.Claimed, 0, k)
	read := func(rows pgx.Rows) error {
		for rows.Next() {
			out = append(out, campaign.Claimed{})
			if err := (claimScan{&out[len(out)-1]}).ScanRow(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	var err error
	if len(marks) == 0 || f.NoWebhooks {
		var rows pgx.Rows
		if rows, err = db.Pool.Query(ctx, db.q("claim-recipients"), args...); err == nil {
			err = read(rows)
			rows.Close()
		}
	} else {
		b := &pgx.Batch{}
		b.Queue(db.q("claim-recipients"), args...).Query(read)
		err = db.sendBatch(ctx, b)
	}
	if err != nil {
		return nil, fmt.Errorf("claim recipients of campaign %s seq %d..%d: %w", campaignID, lo, hi, err)
	}
	slices.SortFunc(out, func(a, b campaign.Claimed) int { return a.Seq - b.Seq })
	return out, nil
}

// ClaimProgress implements campaign.ClaimBatcher: claim-progress.
func (db *DB) ClaimProgress(ctx context.Context, campaignID string, batch int64, seq int, now time.Time, f campaign.ClaimFilter) (bool, error) {
	var ok bool
	if err := db.Pool.QueryRow(ctx, db.q("claim-progress"), campaignID, batch, int32(seq), f.Gen, nullable(f.InstanceID), now).Scan(&ok); err != nil {
		return false, fmt.Errorf("progress of a claim of campaign %s: %w", campaignID, err)
	}
	return ok, nil
}

// SettleClaims implements campaign.ClaimBatcher. Its marks' message.sent
// events are nudged, unless noWebhooks.
func (db *DB) SettleClaims(ctx context.Context, campaignID string, marks []campaign.SentMark, unsent []string, batch int64, noWebhooks bool) error {
	phones, at := markArrays(marks)
	var err error
	if len(marks) == 0 || noWebhooks {
		_, err = db.Pool.Exec(ctx, db.q("settle-claims"), campaignID, phones, at, unsent, batch)
	} else {
		_, err = db.execNudging(ctx, db.q("settle-claims"), campaignID, phones, at, unsent, batch)
	}
	if err != nil {
		return fmt.Errorf("settle %d sent and %d unsent recipients of campaign %s: %w", len(marks), len(unsent), campaignID, err)
	}
	return nil
}

// SettleClaimsState implements campaign.ClaimBatcher. Its marks'
// message.sent events are nudged, unless noWebhooks.
func (db *DB) SettleClaimsState(ctx context.Context, campaignID string, marks []campaign.SentMark, unsent []string, batch int64, lo, hi int, noWebhooks bool) (int, *time.Time, error) {
	phones, at := markArrays(marks)
	var n int
	var next *time.Time
	b := &pgx.Batch{}
	b.Queue(db.q("settle-claims-state"), campaignID, phones, at, unsent, lo, hi, batch).QueryRow(func(r pgx.Row) error { return r.Scan(&n, &next) })
	if err := db.sendBatchNudging(ctx, b, len(marks) > 0 && !noWebhooks); err != nil {
		return 0, nil, fmt.Errorf("settle %d sent and %d unsent recipients of campaign %s: %w", len(marks), len(unsent), campaignID, err)
	}
	return n, next, nil
}

// markArrays is marks as the statements' two arrays (never NULL).
func markArrays(marks []campaign.SentMark) ([]string, []time.Time) {
	phones, at := make([]string, len(marks)), make([]time.Time, len(marks))
	for i, m := range marks {
		phones[i], at[i] = m.Phone, m.At
	}
	return phones, at
}

// claimScan reads a claimed recipient's row (phone, name, vars, attempts,
// generation, message id, new, send phone, seq) from its raw values,
// without pgx's scan plans: text and bool as they come, integers and
// jsonb in binary or text format, vars decoded only when not {}. Any
// other row (a NULL, another type) is scanned by pgx, as before.
type claimScan struct{ c *campaign.Claimed }

// claimOIDs are the claim's column types as it returns them.
var claimOIDs = [...]uint32{pgtype.TextOID, pgtype.TextOID, pgtype.JSONBOID, pgtype.Int4OID, pgtype.Int4OID,
	pgtype.TextOID, pgtype.BoolOID, pgtype.TextOID, pgtype.Int4OID}

func (s claimScan) ScanRow(rows pgx.Rows) error {
	c := s.c
	fds, vals := rows.FieldDescriptions(), rows.RawValues()
	ok := len(fds) == len(claimOIDs) && len(vals) == len(claimOIDs)
	for i := 0; ok && i < len(claimOIDs); i++ {
		ok = fds[i].DataTypeOID == claimOIDs[i] && vals[i] != nil
	}
	var vars []byte
	if ok {
		c.Phone, c.Name, c.MessageID, c.SendPhone = string(vals[0]), string(vals[1]), string(vals[5]), string(vals[7])
		vars, ok = jsonbText(vals[2], fds[2].Format)
		ok = ok && rawInt4(vals[3], fds[3].Format, &c.Attempts) && rawInt4(vals[4], fds[4].Format, &c.Generation) &&
			rawBool(vals[6], fds[6].Format, &c.New) && rawInt4(vals[8], fds[8].Format, &c.Seq)
	}
	if !ok {
		var m map[string]any
		if err := rows.Scan(&c.Phone, &c.Name, &m, &c.Attempts, &c.Generation, &c.MessageID, &c.New, &c.SendPhone, &c.Seq); err != nil {
			return err
		}
		c.Vars = varsToStrings(m)
		return nil
	}
	if string(vars) == "{}" {
		c.Vars = map[string]string{}
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(vars, &m); err != nil {
		return fmt.Errorf("scan vars: %w", err)
	}
	c.Vars = varsToStrings(m)
	return nil
}

// jsonbText is a jsonb value's JSON text: in binary format after its
// version byte (1).
func jsonbText(v []byte, format int16) ([]byte, bool) {
	if format == pgtype.TextFormatCode {
		return v, true
	}
	if len(v) == 0 || v[0] != 1 {
		return nil, false
	}
	return v[1:], true
}

// rawInt4 reads an int4: four big-endian bytes in binary format, decimal
// digits (with a sign) in text.
func rawInt4(v []byte, format int16, dst *int) bool {
	if format == pgtype.BinaryFormatCode {
		if len(v) != 4 {
			return false
		}
		*dst = int(int32(binary.BigEndian.Uint32(v)))
		return true
	}
	n, err := strconv.ParseInt(string(v), 10, 32)
	*dst = int(n)
	return err == nil
}

// rawBool reads a bool: one byte 0 or 1 in binary format, t or f in text.
func rawBool(v []byte, format int16, dst *bool) bool {
	if len(v) != 1 {
		return false
	}
	switch {
	case format == pgtype.BinaryFormatCode && v[0] <= 1:
		*dst = v[0] == 1
	case format == pgtype.TextFormatCode && (v[0] == 't' || v[0] == 'f'):
		*dst = v[0] == 't'
	default:
		return false
	}
	return true
}

func (db *DB) execRecipient(ctx context.Context, what, query string, args ...any) error {
	if _, err := db.Pool.Exec(ctx, db.q(query), args...); err != nil {
		return fmt.Errorf("%s recipient %v of campaign %v: %w", what, args[1], args[0], err)
	}
	return nil
}

// MarkSent implements campaign.Store. Its message.sent event is nudged.
func (db *DB) MarkSent(ctx context.Context, campaignID, phone string, now time.Time) error {
	if _, err := db.execNudging(ctx, db.q("mark-sent"), campaignID, phone, now); err != nil {
		return fmt.Errorf("mark sent recipient %s of campaign %s: %w", phone, campaignID, err)
	}
	return nil
}

// MarkSentState implements campaign.Store. Its message.sent event is
// nudged, unless noWebhooks.
func (db *DB) MarkSentState(ctx context.Context, campaignID, phone string, now time.Time, lo, hi int, noWebhooks bool) (int, *time.Time, error) {
	var n int
	var next *time.Time
	b := &pgx.Batch{}
	b.Queue(db.q("mark-sent-state"), campaignID, phone, now, lo, hi).QueryRow(func(r pgx.Row) error { return r.Scan(&n, &next) })
	if err := db.sendBatchNudging(ctx, b, !noWebhooks); err != nil {
		return 0, nil, fmt.Errorf("mark sent recipient %s of campaign %s: %w", phone, campaignID, err)
	}
	return n, next, nil
}

// RetryLater implements campaign.Store.
func (db *DB) RetryLater(ctx context.Context, campaignID, phone, reason string, at time.Time) error {
	return db.execRecipient(ctx, "schedule retry of", "retry-later", campaignID, phone, reason, at)
}

// MarkFailed implements campaign.Store. Its message.failed event is nudged.
func (db *DB) MarkFailed(ctx context.Context, campaignID, phone, reason string, now time.Time) error {
	if _, err := db.execNudging(ctx, db.q("mark-failed"), campaignID, phone, reason, now); err != nil {
		return fmt.Errorf("fail recipient %s of campaign %s: %w", phone, campaignID, err)
	}
	return nil
}

// Unclaim implements campaign.Store.
func (db *DB) Unclaim(ctx context.Context, campaignID, phone string) error {
	return db.execRecipient(ctx, "unclaim", "unclaim", campaignID, phone)
}

// Defer implements campaign.Store.
func (db *DB) Defer(ctx context.Context, campaignID, phone string, at *time.Time) error {
	return db.execRecipient(ctx, "defer", "defer-recipient", campaignID, phone, at)
}

// ChunkState implements campaign.Store.
func (db *DB) ChunkState(ctx context.Context, campaignID string, lo, hi int) (int, *time.Time, error) {
	var n int
	var next *time.Time
	if err := db.Pool.QueryRow(ctx, db.q("chunk-state"), campaignID, lo, hi).Scan(&n, &next); err != nil {
		return 0, nil, fmt.Errorf("state of campaign %s seq %d..%d: %w", campaignID, lo, hi, err)
	}
	return n, next, nil
}

// RecentOutcomes implements campaign.Store.
func (db *DB) RecentOutcomes(ctx context.Context, campaignID string, n int) (int, int, error) {
	var failed, total int
	if err := db.Pool.QueryRow(ctx, db.q("recent-outcomes"), campaignID, n).Scan(&failed, &total); err != nil {
		return 0, 0, fmt.Errorf("recent outcomes of campaign %s: %w", campaignID, err)
	}
	return failed, total, nil
}

// SetReason implements campaign.Store.
func (db *DB) SetReason(ctx context.Context, campaignID, reason string) error {
	if _, err := db.Pool.Exec(ctx, db.q("set-campaign-reason"), campaignID, reason); err != nil {
		return fmt.Errorf("set reason of campaign %s: %w", campaignID, err)
	}
	return nil
}

// ClearWaiting implements campaign.Store.
func (db *DB) ClearWaiting(ctx context.Context, campaignID string) error {
	if _, err := db.Pool.Exec(ctx, db.q("clear-waiting-reason"), campaignID); err != nil {
		return fmt.Errorf("clear the wait of campaign %s: %w", campaignID, err)
	}
	return nil
}

// AutoPause implements campaign.Store. Its campaign.paused event is nudged.
func (db *DB) AutoPause(ctx context.Context, campaignID, event, reason string) (bool, error) {
	var found bool
	b := &pgx.Batch{}
	b.Queue(db.q("auto-pause"), campaignID, event, reason).QueryRow(func(r pgx.Row) error {
		var id string
		return scanOptional(r, &found, &id)
	})
	if err := db.sendBatch(ctx, b); err != nil {
		return false, fmt.Errorf("auto-pause campaign %s: %w", campaignID, err)
	}
	return found, nil
}

// FinishIfSettled implements campaign.Store. Its campaign.completed event
// is nudged, unless noWebhooks.
func (db *DB) FinishIfSettled(ctx context.Context, campaignID string, now time.Time, noWebhooks bool) (campaign.Status, bool, error) {
	var found bool
	var st campaign.Status
	b := &pgx.Batch{}
	b.Queue(db.q("finish-settled"), campaignID, now).QueryRow(func(r pgx.Row) error {
		var id string
		return scanOptional(r, &found, &id, &st)
	})
	if err := db.sendBatchNudging(ctx, b, !noWebhooks); err != nil {
		return "", false, fmt.Errorf("finish campaign %s: %w", campaignID, err)
	}
	return st, found, nil
}

// scanOptional scans a row that may be missing: found says whether it was
// there.
func scanOptional(r pgx.Row, found *bool, dest ...any) error {
	err := r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	*found = err == nil
	return err
}

// FinishSettled completes every campaign whose recipients are all settled
// and returns how many. Their campaign.completed events are nudged.
func (db *DB) FinishSettled(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.execNudging(ctx, db.q("finish-settled"), nil, now)
	if err != nil {
		return 0, fmt.Errorf("finish settled campaigns: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// ReleaseDue moves up to limit scheduled campaigns due by `by` to queued
// and returns them (id and scheduled time).
func (db *DB) ReleaseDue(ctx context.Context, by time.Time, limit int) ([]campaign.Due, error) {
	rows, err := db.Pool.Query(ctx, db.q("release-due"), by, limit)
	if err != nil {
		return nil, fmt.Errorf("release due campaigns: %w", err)
	}
	return collectDue(rows)
}

// StalledCampaigns lists campaigns that should be moving but are not.
func (db *DB) StalledCampaigns(ctx context.Context, neverEnqueuedBefore, idleBefore time.Time, limit int) ([]campaign.Due, error) {
	rows, err := db.Pool.Query(ctx, db.q("stalled-campaigns"), neverEnqueuedBefore, idleBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("find stalled campaigns: %w", err)
	}
	return collectDue(rows)
}

func collectDue(rows pgx.Rows) ([]campaign.Due, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (campaign.Due, error) {
		var d campaign.Due
		err := r.Scan(&d.ID, &d.ScheduledAt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("read campaigns: %w", err)
	}
	return out, nil
}

// MarkStuckUnknown settles the recipients still sending
// (mark-stuck-unknown): those claimed before `before` whose send may have
// started become unknown (how many it returns); a bulk claim's recipients
// whose send never started go back to pending once it was made before
// batchesBefore (no earlier than before); requeue is the chunks (of
// chunkSize when a campaign has no size of its own) of the running
// campaigns that got recipients back, by campaign, in order.
func (db *DB) MarkStuckUnknown(ctx context.Context, before, batchesBefore time.Time, chunkSize int) (unknown int, requeue []campaign.Requeue, err error) {
	batchesBefore = maxTime(before, batchesBefore)
	if chunkSize <= 0 {
		chunkSize = campaign.DefaultChunkSize
	}
	var ids []string
	var chunks []int
	if err := db.Pool.QueryRow(ctx, db.q("mark-stuck-unknown"), before, batchesBefore, chunkSize).Scan(&unknown, &ids, &chunks); err != nil {
		return 0, nil, fmt.Errorf("mark stuck recipients unknown: %w", err)
	}
	for i, id := range ids {
		if n := len(requeue); n == 0 || requeue[n-1].CampaignID != id {
			requeue = append(requeue, campaign.Requeue{CampaignID: id})
		}
		requeue[len(requeue)-1].Chunks = append(requeue[len(requeue)-1].Chunks, chunks[i])
	}
	return unknown, requeue, nil
}

// RecipientView is a recipient as the API lists it.
type RecipientView struct {
	Seq         int        `json:"-"`
	Phone       string     `json:"phone"`
	ContactID   *string    `json:"contactId"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastError   *string    `json:"lastError"`
	MessageID   *string    `json:"messageId"`
	SentAt      *time.Time `json:"sentAt"`
	DeliveredAt *time.Time `json:"deliveredAt"`
	ReadAt      *time.Time `json:"readAt"`
	RepliedAt   *time.Time `json:"repliedAt"`
	// Reply is the recipient's first reply, its first 500 characters.
	Reply *string `json:"reply"`
	// InstanceID is the instance that sends (or sent) the recipient: set
	// when it is claimed, or earlier when a pool campaign gives it one.
	InstanceID *string `json:"instanceId"`
	// SkipReason says why a skipped recipient is not sent: "opted_out" or
	// "not_on_whatsapp"; null otherwise.
	SkipReason *string `json:"skipReason"`
}

// Recipients returns a page of the campaign's recipients in campaign order
// after seq `after` (-1 for the first page), optionally of one status.
func (db *DB) Recipients(ctx context.Context, campaignID, status string, after, limit int) ([]RecipientView, error) {
	rows, err := db.Pool.Query(ctx, db.q("list-recipients"), campaignID, nullable(status), after, limit)
	if err != nil {
		return nil, fmt.Errorf("list recipients of campaign %s: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RecipientView, error) {
		var v RecipientView
		err := r.Scan(&v.Seq, &v.Phone, &v.ContactID, &v.Status, &v.Attempts, &v.LastError, &v.MessageID, &v.SentAt, &v.DeliveredAt, &v.ReadAt,
			&v.RepliedAt, &v.Reply, &v.InstanceID, &v.SkipReason)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("list recipients of campaign %s: %w", campaignID, err)
	}
	return out, nil
}

// AutoPauseInstance pauses every queued or running campaign of the
// instance with reason, recording an event of type event for each, and
// returns their ids. For the webhook (LoggedOut, TemporaryBan) and the
// scheduler's session check.
func (db *DB) AutoPauseInstance(ctx context.Context, instanceID, event, reason string) ([]string, error) {
	var ids []string
	b := &pgx.Batch{}
	b.Queue(db.q("auto-pause-instance"), instanceID, event, reason).Query(func(rows pgx.Rows) error {
		var err error
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err := db.sendBatch(ctx, b); err != nil {
		return nil, fmt.Errorf("auto-pause campaigns of instance %s: %w", instanceID, err)
	}
	return ids, nil
}

// Reply is one reply to a campaign as the API lists it.
type Reply struct {
	ID    string    `json:"id"`
	Phone string    `json:"phone"`
	Name  string    `json:"name"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"`
}

// Replies returns a page of the tenant's campaign's replies, newest first,
// after the reply with id after ("" for the first page).
func (db *DB) Replies(ctx context.Context, tenantID, campaignID, after string, limit int) ([]Reply, error) {
	rows, err := db.Pool.Query(ctx, db.q("list-replies"), tenantID, campaignID, nullable(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list replies of campaign %s: %w", campaignID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reply, error) {
		var v Reply
		err := r.Scan(&v.ID, &v.Phone, &v.Name, &v.Text, &v.At)
		v.At = v.At.UTC()
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("list replies of campaign %s: %w", campaignID, err)
	}
	return out, nil
}

// maxTime is the later of a and b.
func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
