package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
)

// claimedRow is a recipient as the claims leave it.
type claimedRow struct {
	Status           string
	Attempts         int
	ClaimedAt        *time.Time
	SentAt, NextAt   *time.Time
	MessageID, Phone *string
}

func (f campaignFixture) claimedRow(t *testing.T, i int) claimedRow {
	t.Helper()
	var r claimedRow
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT status, attempts, claimed_at, sent_at, next_attempt_at, wuzapi_message_id, phone
FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2`, f.campaignID, phone(i)).Scan(
		&r.Status, &r.Attempts, &r.ClaimedAt, &r.SentAt, &r.NextAt, &r.MessageID, &r.Phone); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestClaimSeveralAndSettle: a claim of several takes the first k due
// pending recipients in seq order, each with its own message id, and
// records the sends it is given; the settle records sends and puts the
// claimed ones not sent back to pending with their attempt unspent (and
// nothing that is not sending); its state counts the pending after it. A
// stopped campaign has nothing to claim.
func TestClaimSeveralAndSettle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, slices.Repeat([]string{"pending"}, 10)...) // attempts 1 each
	now := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	seqs := func(cs []campaign.Claimed) []int {
		out := make([]int, len(cs))
		for i, c := range cs {
			out[i] = c.Seq
		}
		return out
	}

	got, err := db.ClaimSeveral(ctx, f.campaignID, nil, 0, 10, 4, now, campaign.ClaimFilter{}, 11, 0)
	if err != nil || !slices.Equal(seqs(got), []int{0, 1, 2, 3}) {
		t.Fatalf("first claim: seqs %v (%v), want 0..3", seqs(got), err)
	}
	for _, c := range got {
		if c.Phone != phone(c.Seq) || c.MessageID != campaign.MessageID(f.campaignID, c.Phone, 0) || c.Attempts != 2 || !c.New ||
			c.Name != "N"+string(rune('0'+c.Seq)) {
			t.Errorf("claimed %+v", c)
		}
		if r := f.claimedRow(t, c.Seq); r.Status != "sending" || r.ClaimedAt == nil {
			t.Errorf("recipient %d after its claim: %+v", c.Seq, r)
		}
	}

	t1, t2 := now.Add(time.Second), now.Add(2*time.Second)
	marks := []campaign.SentMark{{Phone: phone(0), At: t1}, {Phone: phone(1), At: t2}}
	if got, err = db.ClaimSeveral(ctx, f.campaignID, marks, 4, 10, 4, now, campaign.ClaimFilter{}, 12, 11); err != nil || !slices.Equal(seqs(got), []int{4, 5, 6, 7}) {
		t.Fatalf("second claim: seqs %v (%v), want 4..7", seqs(got), err)
	}
	for i, at := range []time.Time{t1, t2} {
		if r := f.claimedRow(t, i); r.Status != "sent" || r.SentAt == nil || !r.SentAt.Equal(at) {
			t.Errorf("recipient %d marked by the claim: %+v, want sent at %v", i, r, at)
		}
	}

	// 2 sent, 3 and 4 not sent, 0 (sent already) named by mistake: only
	// the sending of the batch named go back (4), then 3 with its own.
	if err := db.SettleClaims(ctx, f.campaignID, []campaign.SentMark{{Phone: phone(2), At: t2}}, []string{phone(3), phone(4), phone(0)}, 12, false); err != nil {
		t.Fatal(err)
	}
	if r := f.claimedRow(t, 3); r.Status != "sending" {
		t.Errorf("recipient 3 of another batch after the settle: %+v, want sending", r)
	}
	if err := db.SettleClaims(ctx, f.campaignID, nil, []string{phone(3)}, 11, false); err != nil {
		t.Fatal(err)
	}
	if r := f.claimedRow(t, 2); r.Status != "sent" {
		t.Errorf("recipient 2 after the settle: %+v, want sent", r)
	}
	for _, i := range []int{3, 4} {
		if r := f.claimedRow(t, i); r.Status != "pending" || r.Attempts != 1 || r.ClaimedAt != nil || r.NextAt != nil {
			t.Errorf("recipient %d put back: %+v, want pending, 1 attempt (unspent), due now", i, r)
		}
	}
	if r := f.claimedRow(t, 0); r.Status != "sent" {
		t.Errorf("recipient 0 named by a put-back: %+v, want still sent", r)
	}

	pending, next, err := db.SettleClaimsState(ctx, f.campaignID, []campaign.SentMark{{Phone: phone(5), At: t2}}, []string{phone(6)}, 12, 0, 10, true)
	// Pending: 3, 4 (put back before), 6 (put back now), 8, 9.
	if err != nil || pending != 5 || next != nil {
		t.Errorf("settle with the state: %d pending, next %v (%v), want 5 and none", pending, next, err)
	}
	if r := f.claimedRow(t, 7); r.Status != "sending" {
		t.Errorf("recipient 7, claimed and neither marked nor put back: %+v, want sending", r)
	}

	if _, err := db.Pool.Exec(ctx, "UPDATE campaigns SET status = 'paused' WHERE id = $1", f.campaignID); err != nil {
		t.Fatal(err)
	}
	if got, err = db.ClaimSeveral(ctx, f.campaignID, []campaign.SentMark{{Phone: phone(7), At: t2}}, 0, 10, 16, now, campaign.ClaimFilter{}, 14, 0); err != nil || len(got) != 0 {
		t.Errorf("claim of a paused campaign: %v (%v), want none", seqs(got), err)
	}
	if r := f.claimedRow(t, 7); r.Status != "sent" {
		t.Errorf("recipient 7 marked by a claim of a paused campaign: %+v, want sent", r)
	}
}

// TestClaimSeveralPlanUnderAGenericPlan: the claim of several, as a
// prepared statement planned once for any parameters (what Postgres may
// settle on after five executions), still reads the pending index in
// order and stops at its limit; its recipients are updated by key, not
// by a hash join over the campaign's rows.
func TestClaimSeveralPlanUnderAGenericPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, status, attempts)
SELECT $1, (5511900000000 + i)::text, i, CASE WHEN i >= 19000 THEN 'pending' ELSE 'sent' END, 0
FROM generate_series(0, 19999) AS i`, f.campaignID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `ANALYZE campaign_recipients, campaigns, instances`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.Exec(ctx, "RESET plan_cache_mode") }()
	if _, err := conn.Conn().Prepare(ctx, "claim_several_generic", db.QueryText("claim-recipients")); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Conn().Deallocate(ctx, "claim_several_generic") }()
	rows, err := conn.Query(ctx, `EXPLAIN EXECUTE claim_several_generic('`+f.campaignID+`', 19000, 19100, now(), NULL, 'any', false, now(), 0,
    false, '{5511900018999}', ARRAY[now()], 16, 1, 2)`)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p := plan.String()
	if !strings.Contains(p, "campaign_recipients_pending_idx ") || strings.Contains(p, "Hash") || strings.Contains(p, "Seq Scan on campaign_recipients") {
		t.Errorf("generic plan of the claim of several:\n%s", p)
	}
}

// batchProgress is batch's progress row: up to which seq its sends may
// have started; ok false when there is none.
func batchProgress(t *testing.T, f campaignFixture, batch int64) (upto int, ok bool) {
	t.Helper()
	err := f.db.Pool.QueryRow(context.Background(), "SELECT started_upto FROM claim_batches WHERE batch = $1", batch).Scan(&upto)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return upto, true
}

// TestClaimProgressAndTheStuckSweep: a claim of 16 starts its batch's
// progress at its first recipient; each queued send advances it while the
// campaign runs, and a pause makes it refuse the next, writing nothing.
// A crash during the 4th send (progress at seq 3): once the claim is
// older than the batches' threshold the sweep puts 4..15 back to pending
// with their attempt unspent, the campaign to be enqueued again, and the
// progress row goes (a send of the swept batch is refused); once stuck,
// 0..3 (the sends made and the one in flight) are unknown.
func TestClaimProgressAndTheStuckSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, slices.Repeat([]string{"pending"}, 16)...)
	now := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	const batch = 77
	got, err := db.ClaimSeveral(ctx, f.campaignID, nil, 0, 16, 16, now, campaign.ClaimFilter{}, batch, 0)
	if err != nil || len(got) != 16 {
		t.Fatalf("claim: %d (%v), want 16", len(got), err)
	}
	if upto, ok := batchProgress(t, f, batch); !ok || upto != 0 {
		t.Fatalf("progress after the claim: %d %v, want 0", upto, ok)
	}
	for seq := 1; seq <= 3; seq++ {
		if ok, err := db.ClaimProgress(ctx, f.campaignID, batch, seq, now, campaign.ClaimFilter{}); err != nil || !ok {
			t.Fatalf("progress to %d: %v (%v), want true", seq, ok, err)
		}
	}
	if _, err := db.Pool.Exec(ctx, "UPDATE campaigns SET status = 'paused' WHERE id = $1", f.campaignID); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ClaimProgress(ctx, f.campaignID, batch, 4, now, campaign.ClaimFilter{}); err != nil || ok {
		t.Fatalf("progress of a paused campaign: %v (%v), want false", ok, err)
	}
	if upto, _ := batchProgress(t, f, batch); upto != 3 {
		t.Fatalf("progress after a refused send: %d, want 3", upto)
	}
	if _, err := db.Pool.Exec(ctx, "UPDATE campaigns SET status = 'running' WHERE id = $1", f.campaignID); err != nil {
		t.Fatal(err)
	}

	// The claim is older than the batches' threshold, not yet stuck: the
	// never started go back, the started wait.
	unknown, requeue, err := db.MarkStuckUnknown(ctx, now.Add(-time.Minute), now.Add(time.Minute), 100)
	if want := []campaign.Requeue{{CampaignID: f.campaignID, Chunks: []int{0}}}; err != nil || unknown != 0 || !reflect.DeepEqual(requeue, want) {
		t.Fatalf("sweep of the batches: %d unknown, requeue %v (%v); want 0 and %v", unknown, requeue, err, want)
	}
	if r := f.claimedRow(t, 3); r.Status != "sending" {
		t.Fatalf("recipient 3 (in flight) after the sweep of the batches: %+v, want sending", r)
	}
	if unknown, requeue, err = db.MarkStuckUnknown(ctx, now.Add(time.Minute), now.Add(time.Minute), 100); err != nil || unknown != 4 || len(requeue) != 0 {
		t.Fatalf("stuck sweep: %d unknown, requeue %v (%v); want 4, none", unknown, requeue, err)
	}
	for i := range 16 {
		r := f.claimedRow(t, i)
		switch {
		case i <= 3 && r.Status != "unknown":
			t.Errorf("recipient %d (its send may have started): %+v, want unknown", i, r)
		case i > 3 && (r.Status != "pending" || r.Attempts != 1 || r.ClaimedAt != nil):
			t.Errorf("recipient %d (never started): %+v, want pending with its attempt unspent", i, r)
		}
	}
	if _, ok := batchProgress(t, f, batch); ok {
		t.Error("the swept batch's progress row is still there")
	}
	if ok, err := db.ClaimProgress(ctx, f.campaignID, batch, 5, now, campaign.ClaimFilter{}); err != nil || ok {
		t.Errorf("progress of a swept batch: %v (%v), want false", ok, err)
	}
}

// TestStuckSweepReturnsTheChunksPutBack: the sweep names the chunks that
// got recipients back, not only their campaign: of three chunks of 4 a
// stale claim in chunk 0 and one in chunk 2 come back as chunks 0 and 2 of
// the campaign; a paused campaign's put-back is not requeued (its resume
// enqueues it). ChunkGen reads a running campaign's generation and no
// generation of a paused one.
func TestStuckSweepReturnsTheChunksPutBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, slices.Repeat([]string{"pending"}, 12)...)
	p := newCampaign(t, db, slices.Repeat([]string{"pending"}, 4)...)
	now := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
	if _, err := db.Pool.Exec(ctx, "UPDATE campaigns SET chunk_size = 4, chunk_gen = 3, enqueued_at = $2 WHERE id = ANY($1::uuid[])",
		[]string{f.campaignID, p.campaignID}, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		campaignID string
		lo, hi     int
	}{{f.campaignID, 0, 4}, {f.campaignID, 8, 12}, {p.campaignID, 0, 4}} {
		flt := campaign.ClaimFilter{Gen: 3}
		if got, err := db.ClaimSeveral(ctx, c.campaignID, nil, c.lo, c.hi, 4, now, flt, int64(90+i), 0); err != nil || len(got) != 4 {
			t.Fatalf("claim %d: %d (%v), want 4", i, len(got), err)
		}
	}
	if _, err := db.Pool.Exec(ctx, "UPDATE campaigns SET status = 'paused' WHERE id = $1", p.campaignID); err != nil {
		t.Fatal(err)
	}
	unknown, requeue, err := db.MarkStuckUnknown(ctx, now.Add(-time.Minute), now.Add(time.Minute), 100)
	if want := []campaign.Requeue{{CampaignID: f.campaignID, Chunks: []int{0, 2}}}; err != nil || unknown != 0 || !reflect.DeepEqual(requeue, want) {
		t.Fatalf("sweep: %d unknown, requeue %v (%v); want 0 and %v", unknown, requeue, err, want)
	}
	if gen, ok, err := db.ChunkGen(ctx, f.campaignID); err != nil || !ok || gen != 3 {
		t.Errorf("ChunkGen of the running campaign = %d %v (%v), want 3 true", gen, ok, err)
	}
	if _, ok, err := db.ChunkGen(ctx, p.campaignID); err != nil || ok {
		t.Errorf("ChunkGen of the paused campaign = %v (%v), want false", ok, err)
	}
	// The requeued campaign is not enqueued until its enqueue succeeds, so
	// a failed one is the stalled-campaigns job's; the paused one keeps
	// its stamp.
	for id, wantNull := range map[string]bool{f.campaignID: true, p.campaignID: false} {
		var null bool
		if err := db.Pool.QueryRow(ctx, "SELECT enqueued_at IS NULL FROM campaigns WHERE id = $1", id).Scan(&null); err != nil || null != wantNull {
			t.Errorf("campaign %s: enqueued_at IS NULL = %v (%v), want %v", id, null, err, wantNull)
		}
	}
	// Chunks are numbered by the campaign's own size, as the worker
	// numbers them, whatever size the caller passes.
	if chunks, err := db.PendingChunks(ctx, f.campaignID, 100); err != nil || !reflect.DeepEqual(chunks, []int{0, 1, 2}) {
		t.Errorf("PendingChunks = %v (%v), want [0 1 2] (chunks of 4)", chunks, err)
	}
}

// TestStuckSweepWithoutProgressLeavesAllUnknown: a batch whose progress
// row is gone (Postgres restarted: the unlogged table is empty) is
// unknown whole after the sweep, never sent again; a recipient of a claim
// of one is unknown as before, even when a batch it was once in still has
// a progress row.
func TestStuckSweepWithoutProgressLeavesAllUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, slices.Repeat([]string{"pending"}, 10)...)
	now := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	if got, err := db.ClaimSeveral(ctx, f.campaignID, nil, 0, 8, 8, now, campaign.ClaimFilter{}, 5, 0); err != nil || len(got) != 8 {
		t.Fatalf("claim: %d (%v), want 8", len(got), err)
	}
	if _, err := db.Pool.Exec(ctx, "DELETE FROM claim_batches WHERE batch = 5"); err != nil {
		t.Fatal(err)
	}
	// 8 was in batch 6 once, put back, then claimed alone.
	if got, err := db.ClaimSeveral(ctx, f.campaignID, nil, 8, 10, 1, now, campaign.ClaimFilter{}, 6, 0); err != nil || len(got) != 1 {
		t.Fatalf("claim of 8: %d (%v)", len(got), err)
	}
	if err := db.SettleClaims(ctx, f.campaignID, nil, []string{phone(8)}, 6, false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "INSERT INTO claim_batches VALUES (6, 7, $1)", now); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.Claim(ctx, f.campaignID, 8, 10, now, campaign.ClaimFilter{}); err != nil || !ok {
		t.Fatalf("claim of one: %v (%v)", ok, err)
	}
	unknown, requeue, err := db.MarkStuckUnknown(ctx, now.Add(time.Minute), now.Add(time.Minute), 100)
	if err != nil || unknown != 9 || len(requeue) != 0 {
		t.Fatalf("stuck sweep: %d unknown, requeue %v (%v); want 9, none", unknown, requeue, err)
	}
	var pending int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1 AND status = 'pending'",
		f.campaignID).Scan(&pending); err != nil || pending != 1 {
		t.Errorf("%d pending after the sweep (%v), want 1 (never claimed)", pending, err)
	}
}

// TestStuckSweepLeavesRowsBeingSettled: the sweep locks a stale batch's
// progress row and then its recipients, while a live loop's put-back holds
// its recipients and then deletes that row; the sweep skips the recipients
// another transaction holds instead of waiting for them (a deadlock), and
// settles the rest.
func TestStuckSweepLeavesRowsBeingSettled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, slices.Repeat([]string{"pending"}, 4)...)
	now := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	const batch = 78
	if got, err := db.ClaimSeveral(ctx, f.campaignID, nil, 0, 4, 4, now, campaign.ClaimFilter{}, batch, 0); err != nil || len(got) != 4 {
		t.Fatalf("claim: %d (%v), want 4", len(got), err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SELECT 1 FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2 FOR UPDATE",
		f.campaignID, phone(3)); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, _, err := db.MarkStuckUnknown(sctx, now.Add(-time.Minute), now.Add(time.Minute), 100); err != nil {
		t.Fatalf("sweep beside a held recipient: %v, want it done without waiting", err)
	}
	for i := range 3 {
		if r := f.claimedRow(t, i); i > 0 && r.Status != "pending" {
			t.Errorf("recipient %d (never started): %+v, want pending", i, r)
		}
	}
	if r := f.claimedRow(t, 3); r.Status != "sending" {
		t.Errorf("recipient 3 (held by another transaction): %+v, want left sending", r)
	}
}
