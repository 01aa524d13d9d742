package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
)

// addCampaign adds a running campaign on instanceID whose recipients
// (phone → sent_at; zero: not sent) are named "N<phone>", and returns its id.
func addCampaign(t *testing.T, db *postgres.DB, tenantID, instanceID string, sent map[string]time.Time) string {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := db.Pool.QueryRow(ctx, `INSERT INTO campaigns (tenant_id, instance_id, name, message, status, total)
		VALUES ($1, $2, 'c', 'hi', 'running', $3) RETURNING id`, tenantID, instanceID, len(sent)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	seq := 0
	for p, at := range sent {
		status, sentAt := "pending", (*time.Time)(nil)
		if !at.IsZero() {
			status, sentAt = "sent", &at
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, name, status, sent_at, attempts)
			VALUES ($1, $2, $3, $4, $5, $6, 1)`, id, p, seq, "N"+p, status, sentAt); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	return id
}

// TestRecordReplyCreditsTheLatestCampaignWithin72Hours holds the reply
// rules: the latest campaign of the instance that messaged the phone in the
// 72 hours before the message gets it, whichever Brazilian form either side
// uses; older sends, other instances' campaigns and unsent recipients get
// nothing; a message id counts once; the recipient keeps its first reply.
func TestRecordReplyCreditsTheLatestCampaignWithin72Hours(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db) // a tenant and its instance; its campaign has nobody
	s := postgres.ReceiptStore{DB: db}
	inst := receipt.Instance{ID: f.instanceID, TenantID: f.tenantID}
	var other string
	if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, 'wa2', 'http://wuzapi.test', 'tok2', $2) RETURNING id`, f.tenantID, make([]byte, 32)).Scan(&other); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const with9, without9 = "5511987654321", "551187654321"
	old := addCampaign(t, db, f.tenantID, f.instanceID, map[string]time.Time{with9: now.Add(-80 * time.Hour), "5511911112222": now.Add(-80 * time.Hour)})
	earlier := addCampaign(t, db, f.tenantID, f.instanceID, map[string]time.Time{with9: now.Add(-48 * time.Hour)})
	latest := addCampaign(t, db, f.tenantID, f.instanceID, map[string]time.Time{with9: now.Add(-2 * time.Hour), "5511933334444": {}})
	addCampaign(t, db, f.tenantID, other, map[string]time.Time{with9: now.Add(-time.Hour)}) // another instance, later still

	record := func(phone, text, id string, at time.Time) string {
		t.Helper()
		got, err := s.RecordReply(ctx, inst, phone, text, id, at)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	tests := []struct {
		name, phone, text, id string
		at                    time.Time
		want                  string
	}{
		{"the other Brazilian form, credited to the latest campaign", without9, "quero saber mais", "M1", now, latest},
		{"the same message id again counts once", without9, "quero saber mais", "M1", now, ""},
		{"a second message is a second reply", with9, strings.Repeat("é", 600), "M2", now.Add(time.Minute), latest},
		{"sent more than 72 hours before", "5511911112222", "oi", "M3", now, ""},
		{"never sent", "5511933334444", "oi", "M4", now, ""},
		{"a phone no campaign messaged", "5511955556666", "oi", "M5", now, ""},
		{"before the latest send, the earlier campaign", with9, "antes", "M6", now.Add(-3 * time.Hour), earlier},
	}
	for _, tt := range tests {
		if got := record(tt.phone, tt.text, tt.id, tt.at); got != tt.want {
			t.Errorf("%s: RecordReply(%s, %s) credited %q, want %q (old campaign %s)", tt.name, tt.phone, tt.id, got, tt.want, old)
		}
	}

	var repliedAt time.Time
	var reply string
	if err := db.Pool.QueryRow(ctx, `SELECT replied_at, reply FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2`,
		latest, with9).Scan(&repliedAt, &reply); err != nil {
		t.Fatal(err)
	}
	if !repliedAt.Equal(now) || reply != "quero saber mais" {
		t.Errorf("recipient reply = %v %q, want the first one (%v)", repliedAt, reply, now)
	}

	c, err := db.Campaign(ctx, f.tenantID, latest)
	if err != nil {
		t.Fatal(err)
	}
	if c.Counts.Replied != 1 || c.Counts.Sent != 1 || c.ReplyRate != 1 {
		t.Errorf("counts = %+v, reply rate %v; want 1 replied of 1 sent, rate 1", c.Counts, c.ReplyRate)
	}

	items, err := db.Replies(ctx, f.tenantID, latest, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Phone != with9 || items[0].Name != "N"+with9 || len([]rune(items[0].Text)) != 600 {
		t.Fatalf("first page = %+v, want the newest reply (600 characters) of %s", items, with9)
	}
	rest, err := db.Replies(ctx, f.tenantID, latest, items[0].ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0].Text != "quero saber mais" || !rest[0].At.Equal(now) {
		t.Fatalf("second page = %+v, want the first reply", rest)
	}
	if mine, err := db.Replies(ctx, other, latest, "", 10); err != nil || len(mine) != 0 {
		t.Fatalf("another tenant's view = %+v, %v; want nothing", mine, err)
	}
}
