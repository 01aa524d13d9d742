package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
)

// TestClaimAndMarkReadFewTriggerConditions: every update of a recipient
// reads back, from its stored text, the WHEN clause of each row trigger its
// SET list can fire (a trigger whose column list the update does not set is
// skipped unread). A send's claim and its mark are one statement each send;
// the conditions they read are at most one short clause each.
func TestClaimAndMarkReadFewTriggerConditions(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	for _, u := range []struct {
		name string
		set  []string
	}{
		{"claim", []string{"status", "attempts", "claimed_at", "next_attempt_at", "instance_id", "new_contact", "send_phone", "wuzapi_message_id"}},
		{"mark", []string{"status", "sent_at", "last_error", "next_attempt_at"}},
	} {
		rows, err := db.Pool.Query(context.Background(), `SELECT tg.tgname, coalesce(length(tg.tgqual), 0) FROM pg_trigger tg
WHERE tg.tgrelid = 'campaign_recipients'::regclass AND NOT tg.tgisinternal AND tg.tgtype & 1 <> 0 AND tg.tgtype & 16 <> 0
  AND (cardinality(tg.tgattr::int2[]) = 0 OR EXISTS (SELECT 1 FROM pg_attribute a
      WHERE a.attrelid = tg.tgrelid AND a.attnum = ANY (tg.tgattr::int2[]) AND a.attname = ANY ($1)))`, u.set)
		if err != nil {
			t.Fatal(err)
		}
		var read int
		var fired []string
		var name string
		var n int
		if _, err := pgx.ForEachRow(rows, []any{&name, &n}, func() error {
			fired = append(fired, name)
			read += n
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if read > 800 {
			t.Errorf("%s: the triggers it can fire (%v) have %d bytes of WHEN, want at most 800", u.name, fired, read)
		}
	}
}

// TestRecipientEventsKeepTheirPayloads: a send, its delivery and read, a
// failure, and a stuck send settled by its receipt record the events they
// did (type, key with the generation, payload), once each.
func TestRecipientEventsKeepTheirPayloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "sending", "sending", "sending")
	types := []string{"message.sent", "message.delivered", "message.read", "message.failed"}
	if _, err := db.CreateWebhookEndpoint(ctx, f.tenantID, "http://a.test/hook", types, "", "whsec_"+strings.Repeat("A", 43)+"="); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	rs := postgres.ReceiptStore{DB: db}
	if err := db.MarkSent(ctx, f.campaignID, phone(0), at); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := rs.ApplyReceipt(ctx, f.instanceID, []string{f.msg(0)}, receipt.Read, at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.MarkFailed(ctx, f.campaignID, phone(1), "boom", at.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.ApplyReceipt(ctx, f.instanceID, []string{f.msg(2)}, receipt.Delivered, at.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET claimed_at = $2 WHERE campaign_id = $1 AND seq = 2`,
		f.campaignID, at); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.MarkStuckUnknown(ctx, time.Now().Add(time.Hour), time.Time{}, 100); err != nil {
		t.Fatal(err)
	}
	if r := f.recipient(t, 2); r.Status != "delivered" {
		t.Fatalf("stuck send with a receipt = %s, want delivered", r.Status)
	}

	rows, err := db.Pool.Query(ctx, `SELECT key, payload::text FROM webhook_events WHERE tenant_id = $1 ORDER BY id`, f.tenantID)
	if err != nil {
		t.Fatal(err)
	}
	type data struct {
		CampaignID string  `json:"campaignId"`
		InstanceID string  `json:"instanceId"`
		Phone      string  `json:"phone"`
		ContactID  *string `json:"contactId"`
		MessageID  string  `json:"messageId"`
		Status     string  `json:"status"`
		At         string  `json:"at"`
		Error      *string `json:"error"`
	}
	var got []string
	var key, payload string
	if _, err := pgx.ForEachRow(rows, []any{&key, &payload}, func() error {
		var p struct {
			Type string
			Data data
		}
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			return err
		}
		d := p.Data
		if d.CampaignID != f.campaignID || d.InstanceID != f.instanceID || d.ContactID != nil || d.At == "" ||
			!strings.HasPrefix(key, p.Type+":"+f.campaignID+":"+d.Phone+":0") {
			t.Errorf("event %s: %s", key, payload)
		}
		e := ""
		if d.Error != nil {
			e = " " + *d.Error
		}
		got = append(got, p.Type+" "+d.Phone+" "+d.MessageID+" "+d.Status+e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"message.sent " + phone(0) + " " + f.msg(0) + " sent",
		"message.delivered " + phone(0) + " " + f.msg(0) + " read",
		"message.read " + phone(0) + " " + f.msg(0) + " read",
		"message.failed " + phone(1) + " " + f.msg(1) + " failed boom",
		"message.delivered " + phone(2) + " " + f.msg(2) + " sending",
		"message.sent " + phone(2) + " " + f.msg(2) + " delivered",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSendsOfATenantWithoutEndpointsAskOnce: a statement that records
// several sends of a campaign whose tenant has no webhook endpoint asks
// for its endpoints once, not once a send; a campaign of a tenant with one,
// in the same statement, records every send's event.
func TestSendsOfATenantWithoutEndpointsAskOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	quiet := newCampaign(t, db, "sending", "sending", "sending", "sending", "sending")
	hooked := newCampaign(t, db, "sending", "sending", "sending")
	if _, err := db.CreateWebhookEndpoint(ctx, hooked.tenantID, "http://a.test/hook", []string{"message.sent"}, "",
		"whsec_"+strings.Repeat("A", 43)+"="); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	asked := func() int {
		var n int
		if err := tx.QueryRow(ctx, `SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables
			WHERE relname = 'webhook_endpoints'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := asked()
	if _, err := tx.Exec(ctx, `UPDATE campaign_recipients SET status = 'sent', sent_at = now() WHERE campaign_id = $1`,
		quiet.campaignID); err != nil {
		t.Fatal(err)
	}
	if n := asked() - before; n != 1 {
		t.Errorf("5 sends of a tenant without endpoints read its endpoints %d times, want once", n)
	}
	if _, err := tx.Exec(ctx, `UPDATE campaign_recipients SET status = 'sent', sent_at = now()
		WHERE campaign_id = ANY ($1::uuid[]) AND status = 'sending'`, []string{quiet.campaignID, hooked.campaignID}); err != nil {
		t.Fatal(err)
	}
	var events int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_events WHERE tenant_id = $1 AND type = 'message.sent'`,
		hooked.tenantID).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 3 {
		t.Errorf("sends of a tenant with an endpoint recorded %d events, want 3", events)
	}
}
