package postgres_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
)

// TestAssignPool: placement writes the instance of pending recipients only
// (a sending or sent one keeps its own, so a claimed recipient is never
// placed again), keeps a known contact with the instance it wrote to, moves
// new contacts off an instance that may not message them and everything
// off one that cannot send, and fills new contacts from the slots in seq
// order.
func TestAssignPool(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	f := newCampaign(t, db, "pending", "pending", "sending", "sent", "pending", "pending", "pending")
	secret := sha256.Sum256([]byte("s"))
	var b, c string
	for _, dst := range []*string{&b, &c} {
		if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
			VALUES ($1, 'p', 'http://wuzapi.test', 'tok', $2) RETURNING id`, f.tenantID, secret[:]).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	a := f.instanceID
	// 0 wrote to c; 2 (sending) and 3 (sent) were a's; 4 is new on a; 5 wrote
	// to a and is on a; 6 is new on b.
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE campaign_recipients SET instance_id = $2 WHERE campaign_id = $1 AND seq IN (2, 3, 4, 5)`, f.campaignID, a)
	exec(`UPDATE campaign_recipients SET instance_id = $2 WHERE campaign_id = $1 AND seq = 6`, f.campaignID, b)
	for _, k := range []struct{ inst, phone string }{{c, phone(0)}, {a, phone(5)}} {
		if err := db.RememberContact(ctx, k.inst, k.phone, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// a can send but is locked (not fresh); b is fresh; c is fresh. Slots: b, c, b, c...
	n, err := db.AssignPool(ctx, f.campaignID, 0, 100, []string{a, b, c}, []string{b, c}, []string{b, c, b, c})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{0: c, 1: b, 2: a, 3: a, 4: c, 5: a, 6: b}
	check := func(want map[int]string) {
		t.Helper()
		for seq, inst := range want {
			var got *string
			if err := db.Pool.QueryRow(ctx, `SELECT instance_id::text FROM campaign_recipients WHERE campaign_id = $1 AND seq = $2`,
				f.campaignID, seq).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got == nil || *got != inst {
				t.Fatalf("seq %d on %v, want %s", seq, got, inst)
			}
		}
	}
	check(want)
	if n != 3 {
		t.Fatalf("placed %d, want 3 (0, 1 and 4)", n)
	}
	// a cannot send any more: its pending known contact (5) moves as a new
	// contact; its sending and sent recipients stay.
	if _, err := db.AssignPool(ctx, f.campaignID, 0, 100, []string{b, c}, []string{b, c}, []string{c, b}); err != nil {
		t.Fatal(err)
	}
	want[5] = c
	check(want)
}

// TestAutoPauseInstanceSparesPools: a ban or logout of one instance pauses
// its single-instance campaigns, not a pool campaign it leads (whose
// recipients move to the pool's other instances).
func TestAutoPauseInstanceSparesPools(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	single := newCampaign(t, db, "pending")
	pool := newCampaign(t, db, "pending")
	if _, err := db.Pool.Exec(ctx, `UPDATE campaigns SET instance_id = $2, instance_ids = ARRAY[$2::uuid, $3::uuid], tenant_id = $4 WHERE id = $1`,
		pool.campaignID, single.instanceID, pool.instanceID, single.tenantID); err != nil {
		t.Fatal(err)
	}
	ids, err := db.AutoPauseInstance(ctx, single.instanceID, "instance_blocked", "auto-paused: banned")
	if err != nil || len(ids) != 1 || ids[0] != single.campaignID {
		t.Fatalf("paused %v (%v), want only the single-instance campaign %s", ids, err, single.campaignID)
	}
	var st string
	if err := db.Pool.QueryRow(ctx, "SELECT status FROM campaigns WHERE id = $1", pool.campaignID).Scan(&st); err != nil || st != "running" {
		t.Fatalf("pool campaign %s (%v), want running", st, err)
	}
}
