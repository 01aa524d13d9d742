package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// campaignFixture is a tenant with an instance and a campaign of n
// recipients (phones 55119000000nn), written directly as the campaign worker
// would leave them: recipient i carries message id f.msg(i) when sent.
type campaignFixture struct {
	db         *postgres.DB
	tenantID   string
	instanceID string
	campaignID string
}

// msg is recipient i's WuzAPI message id: unique across campaigns, as the
// campaign worker's ids are.
func (f campaignFixture) msg(i int) string {
	return "3EB0" + strings.ToUpper(f.campaignID[len(f.campaignID)-8:]) + fmt.Sprintf("%010X", i)
}
func phone(i int) string { return fmt.Sprintf("55119%08d", i) }

func newCampaign(t testing.TB, db *postgres.DB, statuses ...string) campaignFixture {
	t.Helper()
	ctx := context.Background()
	tn, _, err := db.CreateTenant(ctx, tenant.Tenant{Name: "T", Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	f := campaignFixture{db: db, tenantID: tn.ID}
	secret := sha256.Sum256([]byte("s3cret"))
	if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, 'wa', 'http://wuzapi.test', 'tok', $2) RETURNING id`, tn.ID, secret[:]).Scan(&f.instanceID); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `INSERT INTO campaigns (tenant_id, instance_id, name, message, status, total)
		VALUES ($1, $2, 'c', 'hi {{name}}', 'running', $3) RETURNING id`, tn.ID, f.instanceID, len(statuses)).Scan(&f.campaignID); err != nil {
		t.Fatal(err)
	}
	for i, st := range statuses {
		var mid *string
		var sentAt *time.Time
		if st != "pending" && st != "skipped" {
			m := f.msg(i)
			mid = &m
		}
		if st == "sent" || st == "delivered" || st == "read" {
			ts := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			sentAt = &ts
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, name, status, wuzapi_message_id, sent_at, attempts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1)`, f.campaignID, phone(i), i, fmt.Sprintf("N%d", i), st, mid, sentAt); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

type recipientRow struct {
	Status            string
	Delivered, ReadAt *time.Time
}

func (f campaignFixture) recipient(t *testing.T, i int) recipientRow {
	t.Helper()
	var r recipientRow
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT status, delivered_at, read_at FROM campaign_recipients
		WHERE campaign_id = $1 AND seq = $2`, f.campaignID, i).Scan(&r.Status, &r.Delivered, &r.ReadAt); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestApplyReceiptIsMonotonicAndIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "sent", "sent", "sending", "unknown", "failed", "read")
	s := postgres.ReceiptStore{DB: db}
	t0 := time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)

	apply := func(state receipt.State, at time.Time, ids ...string) int {
		t.Helper()
		n, err := s.ApplyReceipt(ctx, f.instanceID, ids, state, at)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// One event, several ids: 0 delivered; 1 read without delivered; 2 still
	// sending; 3 unknown upgraded; 4 failed; 5 read stays read on a late delivery.
	if n := apply(receipt.Delivered, t0, f.msg(0), f.msg(2), f.msg(3), f.msg(4), f.msg(5)); n != 5 {
		t.Fatalf("matched %d, want 5", n)
	}
	if n := apply(receipt.Read, t1, f.msg(1), f.msg(1)); n != 1 {
		t.Fatalf("matched %d, want 1", n)
	}
	// Duplicates and out-of-order: a second delivered later, a read, then the
	// delivered again earlier than everything.
	apply(receipt.Delivered, t1, f.msg(0))
	apply(receipt.Read, t1, f.msg(0))
	apply(receipt.Delivered, t0, f.msg(0), f.msg(1))

	at := func(ts time.Time) *time.Time { return &ts }
	want := []recipientRow{
		{"read", at(t0), at(t1)},
		{"read", at(t0), at(t1)}, // the later delivered (t0) is earlier than the read
		{"sending", at(t0), nil},
		{"delivered", at(t0), nil},
		{"failed", at(t0), nil},
		{"read", at(t0), nil},
	}
	for i, w := range want {
		got := f.recipient(t, i)
		if got.Status != w.Status || !sameTime(got.Delivered, w.Delivered) || !sameTime(got.ReadAt, w.ReadAt) {
			t.Errorf("recipient %d = %s delivered %v read %v; want %s %v %v", i, got.Status, got.Delivered, got.ReadAt, w.Status, w.Delivered, w.ReadAt)
		}
	}
	var pending int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pending_receipts`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("pending receipts = %d (%v), want 0", pending, err)
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func TestPendingReceiptsApplyWhenTheSendIsRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "pending", "pending")
	other := newCampaign(t, db, "pending")
	s := postgres.ReceiptStore{DB: db}
	t0 := time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC)

	// Receipts overtake the send: nobody carries the ids yet.
	if n, err := s.ApplyReceipt(ctx, f.instanceID, []string{"3EB0EARLY0", "3EB0EARLY1"}, receipt.Read, t0.Add(time.Second)); err != nil || n != 0 {
		t.Fatalf("ApplyReceipt = %d, %v", n, err)
	}
	if _, err := s.ApplyReceipt(ctx, f.instanceID, []string{"3EB0EARLY0", "3EB0EARLY0"}, receipt.Delivered, t0); err != nil {
		t.Fatal(err)
	}
	// Another tenant's instance reports the same id: it must never touch f's recipient.
	if _, err := s.ApplyReceipt(ctx, other.instanceID, []string{"3EB0EARLY0"}, receipt.Read, t0); err != nil {
		t.Fatal(err)
	}
	// The worker records the send of recipient 0, then applies what was kept.
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET status = 'sent', wuzapi_message_id = '3EB0EARLY0', sent_at = $2
		WHERE campaign_id = $1 AND seq = 0`, f.campaignID, t0.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	// The trigger of migration 00082 applied them as the id was written.
	n, err := db.ApplyPendingReceipts(ctx, []string{"3EB0EARLY0"})
	if err != nil || n != 0 {
		t.Fatalf("ApplyPendingReceipts = %d, %v; want 0 (already applied by the trigger)", n, err)
	}
	got := f.recipient(t, 0)
	if got.Status != "read" || !sameTime(got.Delivered, &t0) || got.ReadAt == nil || !got.ReadAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("recipient 0 = %+v, want read, delivered at t0, read at t0+1s", got)
	}
	// Again: nothing left to apply for that id, the other instance's kept receipt stays.
	if n, err := db.ApplyPendingReceipts(ctx, nil); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v; want 0", n, err)
	}
	var left []string
	rows, _ := db.Pool.Query(ctx, `SELECT instance_id::text || ' ' || message_id || ' ' || state FROM pending_receipts ORDER BY 1`)
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		left = append(left, s)
	}
	if len(left) != 2 {
		t.Fatalf("kept receipts = %v; want EARLY1 read of f and EARLY0 read of the other instance", left)
	}
	if n, err := db.PurgePendingReceipts(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("purge = %d, %v", n, err)
	}
}

// sentCampaign is a campaign of n recipients, all sent, and their message
// ids.
func sentCampaign(t *testing.T, db *postgres.DB, n int) (campaignFixture, []string) {
	t.Helper()
	statuses := make([]string, n)
	ids := make([]string, n)
	for i := range statuses {
		statuses[i] = "sent"
	}
	f := newCampaign(t, db, statuses...)
	for i := range ids {
		ids[i] = f.msg(i)
	}
	return f, ids
}

func TestApplyReceiptConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f, ids := sentCampaign(t, db, 40)
	s := postgres.ReceiptStore{DB: db}
	at := time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			// Each worker names the ids in another order.
			mine := append([]string(nil), ids[w*5:]...)
			mine = append(mine, ids[:w*5]...)
			state := receipt.Delivered
			if w%2 == 1 {
				state = receipt.Read
			}
			if _, err := s.ApplyReceipt(ctx, f.instanceID, mine, state, at); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var read int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1 AND status = 'read'
		AND delivered_at IS NOT NULL AND read_at IS NOT NULL`, f.campaignID).Scan(&read); err != nil || read != len(ids) {
		t.Fatalf("read recipients = %d (%v), want %d", read, err, len(ids))
	}
}

// TestApplyReceiptLocksInOneOrder: receipt batches naming the same messages
// in different orders never deadlock each other, even without the store's
// retry: apply_receipt locks its recipients in one order before it updates
// them. Rounds of eight concurrent calls straight to the SQL function (every
// round re-applies the states, so every call updates every row).
func TestApplyReceiptLocksInOneOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f, ids := sentCampaign(t, db, 40)
	for round := range 12 {
		at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).Add(-time.Duration(round) * time.Minute)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				mine := append([]string(nil), ids[w*5:]...)
				mine = append(mine, ids[:w*5]...)
				state := []string{"delivered", "read"}[w%2]
				if _, err := db.Pool.Exec(ctx, `SELECT apply_receipt($1, $2, $3, $4)`, f.instanceID, mine, state, at); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

func TestOptOutAndBlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "sent")
	s := postgres.ReceiptStore{DB: db}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

	if _, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, name) VALUES ($1, '5511988887777', 'Ana')`, f.tenantID); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0.Add(time.Hour), t0, t0.Add(2 * time.Hour)} {
		if err := s.OptOutContact(ctx, f.tenantID, "5511988887777", at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.OptOutContact(ctx, f.tenantID, "5511977776666", t0); err != nil {
		t.Fatal(err)
	}
	// A pending recipient of a running campaign is skipped; a sent one stays.
	pend := newCampaign(t, db, "pending", "sent")
	if err := s.OptOutContact(ctx, pend.tenantID, phone(0), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.OptOutContact(ctx, pend.tenantID, phone(1), t0); err != nil {
		t.Fatal(err)
	}
	if r0, r1 := pend.recipient(t, 0), pend.recipient(t, 1); r0.Status != "skipped" || r1.Status != "sent" {
		t.Fatalf("after opt-outs: recipient 0 %s, 1 %s; want skipped, sent", r0.Status, r1.Status)
	}
	var name string
	var opted time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT name, opted_out_at FROM contacts WHERE tenant_id = $1 AND phone = '5511988887777'`, f.tenantID).Scan(&name, &opted); err != nil || name != "Ana" || !opted.Equal(t0) {
		t.Fatalf("contact = %q opted %v (%v); want Ana opted at the earliest report", name, opted, err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT opted_out_at FROM contacts WHERE tenant_id = $1 AND phone = '5511977776666'`, f.tenantID).Scan(&opted); err != nil || !opted.Equal(t0) {
		t.Fatalf("unknown sender: opted %v (%v); want a new opted-out contact", opted, err)
	}

	until := t0.Add(time.Hour)
	if err := s.BlockInstance(ctx, f.instanceID, receipt.ReasonTemporaryBan, t0, until); err != nil {
		t.Fatal(err)
	}
	b, err := db.InstanceBlock(ctx, f.instanceID)
	if err != nil || b.Reason != receipt.ReasonTemporaryBan || b.Until == nil || !b.Until.Equal(until) {
		t.Fatalf("block = %+v, %v", b, err)
	}
	var status, reason string
	if err := db.Pool.QueryRow(ctx, `SELECT status, reason FROM campaigns WHERE id = $1`, f.campaignID).Scan(&status, &reason); err != nil || status != "paused" || reason == "" {
		t.Fatalf("campaign = %s %q (%v); want paused with a reason", status, reason, err)
	}
	if err := s.UnblockInstance(ctx, f.instanceID); err != nil {
		t.Fatal(err)
	}
	if b, err := db.InstanceBlock(ctx, f.instanceID); err != nil || b.Reason != "" {
		t.Fatalf("after unblock = %+v, %v", b, err)
	}
}

func TestWuzapiEventsAreStoredOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db)
	sum := sha256.Sum256([]byte("body"))
	first, err := db.RecordWuzapiEvent(ctx, f.instanceID, f.tenantID, "ReadReceipt", []byte(`{"type":"ReadReceipt"}`), sum[:])
	if err != nil || first.Duplicate || first.ID == "" {
		t.Fatalf("first = %+v, %v", first, err)
	}
	if err := db.FinishWuzapiEvent(ctx, first.ID, fmt.Errorf("boom")); err != nil {
		t.Fatal(err)
	}
	evs, err := db.UnprocessedWuzapiEvents(ctx, time.Now().Add(time.Minute), 5, 10)
	if err != nil || len(evs) != 1 || evs[0].ID != first.ID || string(evs[0].Payload) != `{"type": "ReadReceipt"}` {
		t.Fatalf("unprocessed = %+v, %v", evs, err)
	}
	again, err := db.RecordWuzapiEvent(ctx, f.instanceID, f.tenantID, "ReadReceipt", []byte(`{"type":"ReadReceipt"}`), sum[:])
	if err != nil || !again.Duplicate || again.Processed || again.ID != first.ID {
		t.Fatalf("again = %+v, %v; want the first row, unprocessed", again, err)
	}
	if err := db.FinishWuzapiEvent(ctx, first.ID, nil); err != nil {
		t.Fatal(err)
	}
	if evs, _ := db.UnprocessedWuzapiEvents(ctx, time.Now().Add(time.Minute), 5, 10); len(evs) != 0 {
		t.Fatalf("unprocessed after finishing = %+v", evs)
	}
	if n, err := db.PurgeWuzapiEvents(ctx, time.Now().Add(time.Minute), 5); err != nil || n != 1 {
		t.Fatalf("purge = %d, %v", n, err)
	}
}

func TestCampaignUndelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "sent", "sent", "delivered", "failed", "sent") // all sent at 12:00
	if _, err := (postgres.ReceiptStore{DB: db}).ApplyReceipt(ctx, f.instanceID, []string{f.msg(4)}, receipt.Delivered, time.Now()); err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		before time.Time
		want   int
	}{{noon.Add(time.Minute), 2}, {noon, 0}} {
		n, err := db.CampaignUndelivered(ctx, f.tenantID, f.campaignID, tt.before)
		if err != nil || n != tt.want {
			t.Errorf("undelivered before %v = %d, %v; want %d", tt.before, n, err, tt.want)
		}
	}
	other := newCampaign(t, db)
	if n, _ := db.CampaignUndelivered(ctx, other.tenantID, f.campaignID, noon.Add(time.Hour)); n != 0 {
		t.Errorf("another tenant sees %d undelivered", n)
	}
}

// The status route's one statement agrees with the campaign read and the
// undelivered count it replaces.
func TestCampaignStatusIsCampaignAndUndelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "sent", "sent", "delivered", "failed", "sent", "pending", "read", "unknown", "skipped")
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET replied_at = now() WHERE campaign_id = $1 AND seq IN (1, 2)`, f.campaignID); err != nil {
		t.Fatal(err)
	}
	empty := newCampaign(t, db)
	noon := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		fx     campaignFixture
		before time.Time
	}{
		{"recipients in every state, cut-off after their send", f, noon.Add(time.Minute)},
		{"cut-off at their send", f, noon},
		{"no recipients", empty, noon},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, err := db.Campaign(ctx, tt.fx.tenantID, tt.fx.campaignID)
			if err != nil {
				t.Fatal(err)
			}
			wantUndelivered, err := db.CampaignUndelivered(ctx, tt.fx.tenantID, tt.fx.campaignID, tt.before)
			if err != nil {
				t.Fatal(err)
			}
			got, undelivered, err := db.CampaignStatus(ctx, tt.fx.tenantID, tt.fx.campaignID, tt.before)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != want.ID || got.Status != want.Status || got.Counts != want.Counts || got.ReplyRate != want.ReplyRate ||
				undelivered != wantUndelivered {
				t.Errorf("status = %s %s %+v %v, %d undelivered; want %s %s %+v %v, %d",
					got.ID, got.Status, got.Counts, got.ReplyRate, undelivered, want.ID, want.Status, want.Counts, want.ReplyRate, wantUndelivered)
			}
		})
	}
	if _, _, err := db.CampaignStatus(ctx, empty.tenantID, f.campaignID, noon); errcode.CodeOf(err) != errcode.NotFound {
		t.Errorf("another tenant's campaign: err = %v, want NOT_FOUND", err)
	}
}

func TestSweeperAppliesWhatTheWebhookCouldNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "sent", "pending")
	now := time.Now().UTC().Truncate(time.Second)

	// An event stored, but its application failed (kept unprocessed).
	payload := fmt.Sprintf(`{"type":"ReadReceipt","state":"Read","event":{"MessageIDs":[%q]}}`, f.msg(0))
	sum := sha256.Sum256([]byte(payload))
	ev, err := db.RecordWuzapiEvent(ctx, f.instanceID, f.tenantID, "ReadReceipt", []byte(payload), sum[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishWuzapiEvent(ctx, ev.ID, fmt.Errorf("connection reset")); err != nil {
		t.Fatal(err)
	}
	// A receipt kept while the worker was writing recipient 1's message id:
	// neither transaction saw the other, so the trigger found nothing kept.
	s := postgres.ReceiptStore{DB: db}
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET status = 'sent', wuzapi_message_id = '3EB0LATE', sent_at = now()
		WHERE campaign_id = $1 AND seq = 1`, f.campaignID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO pending_receipts (instance_id, message_id, state, at) VALUES ($1, '3EB0LATE', 'delivered', $2)`,
		f.instanceID, now); err != nil {
		t.Fatal(err)
	}
	sw := receipt.Sweeper{Log: postgres.WuzapiEventLog{DB: db}, Store: s, Now: func() time.Time { return now.Add(2 * time.Minute) }}
	if err := sw.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if r := f.recipient(t, 0); r.Status != "read" {
		t.Fatalf("recipient 0 = %s, want read from the reapplied event", r.Status)
	}
	if r := f.recipient(t, 1); r.Status != "delivered" {
		t.Fatalf("recipient 1 = %s, want delivered from the kept receipt", r.Status)
	}
	if evs, _ := db.UnprocessedWuzapiEvents(ctx, now.Add(time.Hour), 5, 10); len(evs) != 0 {
		t.Fatalf("still unprocessed: %+v", evs)
	}
}

func TestStuckSendWithAReceiptIsNotUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "sending", "sending")
	at := time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC)
	if _, err := (postgres.ReceiptStore{DB: db}).ApplyReceipt(ctx, f.instanceID, []string{f.msg(0)}, receipt.Read, at); err != nil {
		t.Fatal(err)
	}
	// The worker died mid-send: the stuck-send sweep marks both unknown.
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET status = 'unknown', last_error = 'outcome unknown'
		WHERE campaign_id = $1 AND status = 'sending'`, f.campaignID); err != nil {
		t.Fatal(err)
	}
	if r := f.recipient(t, 0); r.Status != "read" || !sameTime(r.Delivered, &at) {
		t.Fatalf("recipient with a receipt = %+v, want read", r)
	}
	var sentAt *time.Time
	var lastErr *string
	if err := db.Pool.QueryRow(ctx, `SELECT sent_at, last_error FROM campaign_recipients WHERE campaign_id = $1 AND seq = 0`, f.campaignID).Scan(&sentAt, &lastErr); err != nil || !sameTime(sentAt, &at) || lastErr != nil {
		t.Fatalf("sent_at %v, last_error %v (%v); want the receipt time and no error", sentAt, lastErr, err)
	}
	if r := f.recipient(t, 1); r.Status != "unknown" {
		t.Fatalf("recipient without a receipt = %s, want unknown", r.Status)
	}
}

func TestRecordAndApplyKeepsTheEventWhenApplyingFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "sent")
	sum := sha256.Sum256([]byte("stop body"))
	boom := fmt.Errorf("boom")
	ev, applyErr, err := db.RecordAndApplyWuzapiEvent(ctx, f.instanceID, f.tenantID, "Message", []byte(`{"type":"Message"}`), sum[:],
		func(ctx context.Context, s receipt.Store) error {
			if err := s.OptOutContact(ctx, f.tenantID, "5511955554444", time.Now()); err != nil {
				return err
			}
			return boom // after a change: it must be rolled back
		})
	if err != nil || !errors.Is(applyErr, boom) || ev.Processed || ev.ID == "" {
		t.Fatalf("ev %+v, applyErr %v, err %v", ev, applyErr, err)
	}
	var contacts int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE tenant_id = $1`, f.tenantID).Scan(&contacts); err != nil || contacts != 0 {
		t.Fatalf("contacts = %d (%v): the failed application was not rolled back", contacts, err)
	}
	evs, err := db.UnprocessedWuzapiEvents(ctx, time.Now().Add(time.Minute), 5, 10)
	if err != nil || len(evs) != 1 || evs[0].ID != ev.ID {
		t.Fatalf("unprocessed = %+v, %v; want the event kept", evs, err)
	}
	// The retry applies it; a later duplicate is not applied again.
	calls := 0
	apply := func(ctx context.Context, s receipt.Store) error {
		calls++
		return s.OptOutContact(ctx, f.tenantID, "5511955554444", time.Now())
	}
	if ev2, applyErr, err := db.RecordAndApplyWuzapiEvent(ctx, f.instanceID, f.tenantID, "Message", []byte(`{"type":"Message"}`), sum[:], apply); err != nil || applyErr != nil || !ev2.Duplicate || !ev2.Processed {
		t.Fatalf("retry: %+v, %v, %v", ev2, applyErr, err)
	}
	if _, _, err := db.RecordAndApplyWuzapiEvent(ctx, f.instanceID, f.tenantID, "Message", []byte(`{"type":"Message"}`), sum[:], apply); err != nil || calls != 1 {
		t.Fatalf("applied %d times (%v), want once", calls, err)
	}
}

// TestReceiptsOfAPoolMatchTheSendingInstance: in a pool campaign a receipt
// comes from the instance that sent the message (the recipient's), which
// need not be the campaign's first; a receipt from any other instance, the
// campaign's first included, touches nothing. Early receipts from the
// sending instance apply when the send is recorded.
func TestReceiptsOfAPoolMatchTheSendingInstance(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	f := newCampaign(t, db, "sent", "sent", "sending")
	var second string
	secret := sha256.Sum256([]byte("s"))
	if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, 'second', 'http://wuzapi.test', 'tok2', $2) RETURNING id`, f.tenantID, secret[:]).Scan(&second); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET instance_id = $2 WHERE campaign_id = $1`, f.campaignID, second); err != nil {
		t.Fatal(err)
	}
	s := postgres.ReceiptStore{DB: db}
	at := time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC)
	if n, err := s.ApplyReceipt(ctx, f.instanceID, []string{f.msg(0)}, receipt.Delivered, at); err != nil || n != 0 {
		t.Fatalf("a receipt from the campaign's first instance, which did not send: ApplyReceipt = %d, %v; want 0", n, err)
	}
	if n, err := s.ApplyReceipt(ctx, second, []string{f.msg(1)}, receipt.Delivered, at); err != nil || n != 1 {
		t.Fatalf("a receipt from the sending instance: ApplyReceipt = %d, %v; want 1", n, err)
	}
	if got := f.recipient(t, 1).Status; got != "delivered" {
		t.Fatalf("recipient 1 = %s, want delivered", got)
	}
	if got := f.recipient(t, 0).Status; got != "sent" {
		t.Fatalf("recipient 0 = %s, want sent (the receipt came from an instance that did not send it)", got)
	}
	// An early receipt from the sending instance waits for the message id.
	early := "3EB0POOLEARLY"
	if n, err := s.ApplyReceipt(ctx, second, []string{early}, receipt.Read, at); err != nil || n != 0 {
		t.Fatalf("early receipt: ApplyReceipt = %d, %v; want 0 (kept)", n, err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET wuzapi_message_id = $2, status = 'sent', sent_at = $3
		WHERE campaign_id = $1 AND seq = 2`, f.campaignID, early, at); err != nil {
		t.Fatal(err)
	}
	if r := f.recipient(t, 2); r.ReadAt == nil {
		t.Fatalf("recipient 2 after its send was recorded: %+v, want the kept read receipt applied", r)
	}
}
