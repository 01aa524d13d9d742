package postgres_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestRecipientUpdatesLockNoRowFirst: with a BEFORE ROW UPDATE trigger on
// campaign_recipients, Postgres locks each row before updating it (a tuple
// lock and its WAL record), whatever the trigger's WHEN: the send's mark,
// whose row nothing locked before, paid that on every send. Recipients have
// AFTER triggers only.
func TestRecipientUpdatesLockNoRowFirst(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	rows, err := db.Pool.Query(context.Background(), `SELECT tgname FROM pg_trigger
WHERE tgrelid = 'campaign_recipients'::regclass AND NOT tgisinternal
  AND tgtype & 1 <> 0 AND tgtype & 2 <> 0 AND tgtype & 16 <> 0`) // ROW, BEFORE, UPDATE
	if err != nil {
		t.Fatal(err)
	}
	before, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 0 {
		t.Errorf("BEFORE ROW UPDATE triggers on campaign_recipients: %v, want none", before)
	}
}

// TestMarkWritesNoIndexOfTheUndelivered: a send's mark leaves its recipient
// sent without a receipt; an index of such recipients took an entry on
// every send and no query read it (the status route counts a campaign's
// undelivered in its pass over the campaign's recipients).
func TestMarkWritesNoIndexOfTheUndelivered(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	rows, err := db.Pool.Query(context.Background(), `SELECT indexrelid::regclass::text FROM pg_index
WHERE indrelid = 'campaign_recipients'::regclass AND pg_get_expr(indpred, indrelid) LIKE '%delivered_at IS NULL%'`)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) != 0 {
		t.Errorf("indexes of sent recipients without a receipt: %v, want none", idx)
	}
}

// sharedBuffers is what a plan of EXPLAIN (ANALYZE, BUFFERS) read: the
// shared buffers its top node hit and read.
func sharedBuffers(t *testing.T, plan string) int {
	t.Helper()
	m := regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`).FindStringSubmatch(plan)
	if m == nil {
		return 0
	}
	hit, _ := strconv.Atoi(m[1])
	read, _ := strconv.Atoi(m[2])
	return hit + read
}

// TestInstanceSendsIndexServesTheGuard: a send's mark writes sent_at, and
// one index holds an instance's sends keyed by whether each was a first
// message; no index exists for the delivery guard's first messages alone
// (an entry more on every mark of a new contact's send). The guard's reads
// (its own query and the chunk's job) and the health answer's last sends
// read that index as bounded ranges, on an instance that messages known
// contacts almost only (10 first messages, then 20,000 known) and on one
// that messages new contacts only, and count the right rows.
func TestInstanceSendsIndexServesTheGuard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db)
	var fresh string
	if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, 'wn', 'http://wuzapi.test', 'tok', '\x00') RETURNING id`, f.tenantID).Scan(&fresh); err != nil {
		t.Fatal(err)
	}
	// Instance f: 10 first messages two days ago (7 delivered), then 20,000
	// known contacts (all delivered). Instance fresh: 20,000 first messages
	// (every other one delivered). A minute apart, newest last.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, status, attempts,
    wuzapi_message_id, claimed_at, sent_at, delivered_at, instance_id, new_contact)
SELECT $1, (5511900000000 + i)::text, i, 'delivered', 1, 'M' || i, ts, ts,
    CASE WHEN i < 7 OR (i >= 10 AND i < 20010) OR (i >= 20010 AND i % 2 = 0) THEN ts END,
    CASE WHEN i < 20010 THEN $2::uuid ELSE $3::uuid END, i < 10 OR i >= 20010
FROM generate_series(0, 40009) AS i, LATERAL (SELECT now() - interval '30 days' + (i % 20010) * interval '1 minute' AS ts) s`,
		f.campaignID, f.instanceID, fresh); err != nil {
		t.Fatal(err)
	}
	// And f's 3 newest sends were claimed before the first message was
	// recorded (new_contact NULL), undelivered.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, status, attempts,
    wuzapi_message_id, claimed_at, sent_at, instance_id)
SELECT $1, (5511800000000 + i)::text, 50000 + i, 'sent', 1, 'L' || i, ts, ts, $2::uuid
FROM generate_series(1, 3) AS i, LATERAL (SELECT now() - interval '1 hour' + i * interval '1 second' AS ts) s`,
		f.campaignID, f.instanceID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `ANALYZE campaign_recipients`); err != nil {
		t.Fatal(err)
	}
	var preds []string
	rows, err := db.Pool.Query(ctx, `SELECT indexrelid::regclass::text FROM pg_index
WHERE indrelid = 'campaign_recipients'::regclass AND pg_get_expr(indpred, indrelid) LIKE '%new_contact%'`)
	if err != nil {
		t.Fatal(err)
	}
	if preds, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(preds) != 0 {
		t.Errorf("indexes of first messages alone: %v, want none (each costs an entry on a new contact's mark)", preds)
	}

	now := time.Now()
	before := now.Add(-15 * time.Minute)
	for _, tc := range []struct {
		name     string
		instance string
		total    int
		delivery int
	}{
		{"known contacts mostly", f.instanceID, 10, 7},
		{"new contacts only", fresh, 10, 5},
	} {
		q := db.QueryText("recent-new-deliveries")
		plan := explainAnalyze(t, db, q, tc.instance, before, 10)
		if !strings.Contains(plan, "campaign_recipients_instance_sent_idx") {
			t.Errorf("%s: the guard does not read the sends index:\n%s", tc.name, plan)
		}
		if n := sharedBuffers(t, plan); n > 60 {
			t.Errorf("%s: the guard read %d buffers, want at most 60:\n%s", tc.name, n, plan)
		}
		var delivered, total int
		var next *time.Time
		if err := db.Pool.QueryRow(ctx, q, tc.instance, before, 10).Scan(&delivered, &total, &next); err != nil {
			t.Fatal(err)
		}
		if delivered != tc.delivery || total != tc.total {
			t.Errorf("%s: guard window %d of %d delivered, want %d of %d", tc.name, delivered, total, tc.delivery, tc.total)
		}
	}

	plan := explainAnalyze(t, db, db.QueryText("chunk-job"), f.campaignID, now, int64(0), before, 10)
	if !strings.Contains(plan, "campaign_recipients_instance_sent_idx") || sharedBuffers(t, plan) > 100 {
		t.Errorf("the chunk's job reads the guard's window from %d buffers, want the sends index and at most 100:\n%s",
			sharedBuffers(t, plan), plan)
	}
	plan = explainAnalyze(t, db, db.QueryText("instance-statuses"), f.tenantID, []string{f.instanceID, fresh}, before, 50)
	if !strings.Contains(plan, "campaign_recipients_instance_sent_idx") || sharedBuffers(t, plan) > 250 {
		t.Errorf("the health answer reads the last sends from %d buffers, want the sends index and at most 250:\n%s",
			sharedBuffers(t, plan), plan)
	}
	// f's last 50: the 3 unrecorded (undelivered) and 47 known (delivered);
	// fresh's: every other one delivered.
	st, err := db.InstanceStatuses(ctx, f.tenantID, []string{f.instanceID, fresh}, before)
	if err != nil {
		t.Fatal(err)
	}
	if s := st[f.instanceID]; s.Delivered != 47 || s.Settled != 50 {
		t.Errorf("known contacts' instance: %d of %d delivered, want 47 of 50", s.Delivered, s.Settled)
	}
	if s := st[fresh]; s.Delivered != 25 || s.Settled != 50 {
		t.Errorf("new contacts' instance: %d of %d delivered, want 25 of 50", s.Delivered, s.Settled)
	}
}

// explainAnalyze is the plan of query with args as it ran, with its
// buffers, one line a node.
func explainAnalyze(t *testing.T, db *postgres.DB, query string, args ...any) string {
	t.Helper()
	return explain(t, db, "(ANALYZE, BUFFERS) "+query, args...)
}
