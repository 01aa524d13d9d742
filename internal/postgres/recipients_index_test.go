package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// explain is the plan of query with args, one line a node.
func explain(t *testing.T, db *postgres.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	var line string
	if _, err := pgx.ForEachRow(rows, []any{&line}, func() error { plan.WriteString(line + "\n"); return nil }); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// TestRecipientQueriesUseTheStatusIndexes: a recipient's claim and mark are
// never HOT updates, so each writes an entry to every index whose
// predicate the new row meets. Only the primary key and the position
// index hold every recipient; the states a query looks for have partial
// indexes (pending, sending, the settled outcomes but sent), and each
// query on a large campaign must still read its state's index rather than
// every recipient of the campaign.
func TestRecipientQueriesUseTheStatusIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db)
	// 20,000 recipients: the first 19,000 settled (1 % failed, a tenth of
	// the rest sent, the others delivered), the last 1,000 pending, the
	// one before them sending.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, status, attempts,
    wuzapi_message_id, claimed_at, sent_at, delivered_at, failed_at, instance_id, new_contact)
SELECT $1, (5511900000000 + i)::text, i,
    CASE WHEN i >= 19000 THEN 'pending' WHEN i = 18999 THEN 'sending' WHEN i % 100 = 0 THEN 'failed'
        WHEN i % 10 = 1 THEN 'sent' ELSE 'delivered' END,
    CASE WHEN i >= 19000 THEN 0 ELSE 1 END,
    CASE WHEN i < 19000 THEN 'M' || i END,
    CASE WHEN i < 19000 THEN now() - interval '1 day' END,
    CASE WHEN i < 18999 AND i % 100 <> 0 THEN now() - interval '1 day' END,
    CASE WHEN i < 18999 AND i % 100 <> 0 AND i % 10 <> 1 THEN now() - interval '1 day' END,
    CASE WHEN i < 18999 AND i % 100 = 0 THEN now() - interval '1 day' END,
    CASE WHEN i < 19000 THEN $2::uuid END, CASE WHEN i < 19000 THEN true END
FROM generate_series(0, 19999) AS i`, f.campaignID, f.instanceID); err != nil {
		t.Fatal(err)
	}
	// A fleet's campaigns and instances: a hundred of each beside it.
	if _, err := db.Pool.Exec(ctx, `WITH i AS (
    INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
    SELECT $1, 'w' || n, 'http://wuzapi.test', 'tok', '\x00' FROM generate_series(1, 100) AS n RETURNING id)
INSERT INTO campaigns (tenant_id, instance_id, name, message, status, total)
SELECT $1, id, 'c', 'hi', 'running', 200 FROM i`, f.tenantID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `ANALYZE campaign_recipients, campaigns, instances`); err != nil {
		t.Fatal(err)
	}

	var whole []string
	rows, err := db.Pool.Query(ctx, `SELECT indexrelid::regclass::text FROM pg_index
WHERE indrelid = 'campaign_recipients'::regclass AND indpred IS NULL ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	if whole, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if want := []string{"campaign_recipients_pkey", "campaign_recipients_seq_idx"}; !slices.Equal(whole, want) {
		t.Errorf("indexes without a predicate = %v, want %v (each costs an entry on every claim and mark)", whole, want)
	}

	now := time.Now()
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		want  []string
	}{
		{"claim", "claim-recipient", []any{f.campaignID, 19000, 19100, now, nil, "any", false, now, int64(0), false, nil, nil},
			[]string{"campaign_recipients_pending_idx"}},
		{"claim with the previous mark", "claim-recipient",
			[]any{f.campaignID, 19000, 19100, now, nil, "any", false, now, int64(0), false, "5511900018999", now},
			[]string{"campaign_recipients_pending_idx"}},
		{"claim of several", "claim-recipients",
			[]any{f.campaignID, 19000, 19100, now, nil, "any", false, now, int64(0), false, []string{}, []time.Time{}, int64(16), int64(1), int64(0)},
			[]string{"campaign_recipients_pending_idx"}},
		{"claim of several with the sends since the last", "claim-recipients",
			[]any{f.campaignID, 19000, 19100, now, nil, "any", false, now, int64(0), false,
				[]string{"5511900018999", "5511900018998"}, []time.Time{now, now}, int64(16), int64(2), int64(1)},
			[]string{"campaign_recipients_pending_idx", "campaign_recipients_pkey"}},
		{"settle of a bulk claim", "settle-claims-state",
			[]any{f.campaignID, []string{"5511900018999"}, []time.Time{now}, []string{"5511900019000"}, 19000, 19100, int64(1)},
			[]string{"campaign_recipients_pending_idx", "campaign_recipients_pkey"}},
		{"has claimable", "has-claimable", []any{f.campaignID, 19000, 19100, now}, []string{"campaign_recipients_pending_idx"}},
		{"chunk state", "chunk-state", []any{f.campaignID, 19000, 19100}, []string{"campaign_recipients_pending_idx"}},
		{"pending chunks", "pending-chunks", []any{f.campaignID, 100}, []string{"campaign_recipients_pending_idx"}},
		{"finish", "finish-settled", []any{f.campaignID, now},
			[]string{"campaign_recipients_pending_idx", "campaign_recipients_sending_idx"}},
		{"stuck sends", "mark-stuck-unknown", []any{now, now, 100}, []string{"campaign_recipients_sending_idx"}},
		{"list of the failed", "list-recipients", []any{f.campaignID, "failed", -1, 100},
			[]string{"campaign_recipients_settled_idx"}},
		{"list of the pending", "list-recipients", []any{f.campaignID, "pending", -1, 100},
			[]string{"campaign_recipients_pending_idx"}},
	} {
		plan := explain(t, db, db.QueryText(tc.query), tc.args...)
		for _, idx := range tc.want {
			if !strings.Contains(plan, idx+" ") {
				t.Errorf("%s: the plan does not read %s:\n%s", tc.name, idx, plan)
			}
		}
		// The claim's job reads its campaign's instance by key: a hash
		// join of campaigns and instances is built on every claim.
		if strings.HasPrefix(tc.query, "claim-recipient") && strings.Contains(plan, "Hash") {
			t.Errorf("%s: the plan hashes:\n%s", tc.name, plan)
		}
	}
}

// TestClaimLeavesTheInstanceRowAlone: a claim writes its recipient's
// instance without checking it against instances (its job read that row in
// the same statement), so it locks nothing there: a concurrent FOR UPDATE of
// the instance does not wait for the claim's transaction. A deleted
// instance still leaves its recipients without one, as the foreign key's
// SET NULL did.
func TestClaimLeavesTheInstanceRowAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "pending", "pending")
	now := time.Now()

	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var claimed string
	if err := tx.QueryRow(ctx, db.QueryText("claim-recipient"),
		f.campaignID, 0, 100, now, nil, "any", false, now, int64(0), false, nil, nil).Scan(&claimed, new(string), new(map[string]any),
		new(int), new(int), new(string), new(bool), new(string), new(int)); err != nil {
		t.Fatalf("claim: %v", err)
	}
	var id string
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM instances WHERE id = $1 FOR UPDATE NOWAIT`, f.instanceID).Scan(&id); err != nil {
		t.Errorf("the instance's row while a claim of it is open: %v, want it unlocked", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// A second instance of the tenant (a pool's member) given to the other
	// recipient, then deleted.
	var other string
	if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, 'wb', 'http://wuzapi.test', 'tok', '\x00') RETURNING id`, f.tenantID).Scan(&other); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET instance_id = $2 WHERE campaign_id = $1 AND phone = $3`,
		f.campaignID, other, phone(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM instances WHERE id = $1`, other); err != nil {
		t.Fatal(err)
	}
	var left *string
	if err := db.Pool.QueryRow(ctx, `SELECT instance_id::text FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2`,
		f.campaignID, phone(1)).Scan(&left); err != nil || left != nil {
		t.Errorf("recipient of the deleted instance: instance %v (%v), want none", left, err)
	}
}

// TestRecipientStatusCheckIsOneConstant: every update of a recipient reads
// the status CHECK back from its stored text, twice a claim that carries a
// mark; as = ANY of one array constant that text is 0.7 kB, as an IN list
// of eight constants 1.7 kB. The statuses it allows are the same.
func TestRecipientStatusCheckIsOneConstant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT length(conbin::text) FROM pg_constraint
WHERE conrelid = 'campaign_recipients'::regclass AND conname = 'campaign_recipients_status_check'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 1000 {
		t.Errorf("the status check's stored expression is %d bytes, want at most 1000", n)
	}
	f := newCampaign(t, db, "pending")
	for _, st := range []string{"pending", "sending", "sent", "delivered", "read", "failed", "skipped", "unknown", "lost"} {
		_, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET status = $2 WHERE campaign_id = $1`, f.campaignID, st)
		var pg *pgconn.PgError
		refused := errors.As(err, &pg) && pg.Code == "23514"
		if refused != (st == "lost") || (err != nil && !refused) {
			t.Errorf("status %q: %v", st, err)
		}
	}
}
