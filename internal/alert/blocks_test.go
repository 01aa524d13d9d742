package alert_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
)

// deliver applies a WuzAPI webhook event to the instance as the webhook
// route does.
func (b *bundle) deliver(t *testing.T, tenantID, instanceID, body string) {
	t.Helper()
	ev, err := receipt.ParseJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := receipt.Apply(context.Background(), postgres.ReceiptStore{DB: b.db}, receipt.Instance{ID: instanceID, TenantID: tenantID}, ev, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) tenant(t *testing.T, name string) string {
	t.Helper()
	var id string
	if err := b.db.Pool.QueryRow(context.Background(), `INSERT INTO tenants (name) VALUES ($1) RETURNING id`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestWebhookBlockAlertsOncePerInstance: a TemporaryBan delivered by
// WuzAPI's webhook raises exactly one critical alert however often the
// scheduler runs, saying what happened; a logout of another tenant's
// instance a minute later (within the cooldown) raises its own, saying to
// pair again and set the webhook again; an alert the webhook refused is
// raised again on the next run; a new block of the same instance alerts
// again.
func TestWebhookBlockAlertsOncePerInstance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	acme, globex := b.tenant(t, "Acme"), b.tenant(t, "Globex")
	banned := b.instance(t, acme, "vendas", "http://127.0.0.1:1", "tok-a")
	other := b.instance(t, acme, "suporte", "http://127.0.0.1:1", "tok-b")
	loggedOut := b.instance(t, globex, "loja", "http://127.0.0.1:1", "tok-c")
	b.campaign(t, acme, banned, "running")
	var pool string
	if err := b.db.Pool.QueryRow(ctx, `INSERT INTO campaigns (tenant_id, instance_id, instance_ids, message, status)
		VALUES ($1, $2, ARRAY[$2, $3]::uuid[], 'hi', 'running') RETURNING id`, acme, banned, other).Scan(&pool); err != nil {
		t.Fatal(err)
	}

	b.deliver(t, acme, banned, `{"type":"TemporaryBan","event":{"Code":104,"Expire":86400000000000}}`)
	for range 3 {
		if err := b.monitor.AlertBlocks(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := b.hook.got()
	if len(got) != 1 {
		t.Fatalf("payloads after a ban and 3 runs = %d, want 1: %v", len(got), got)
	}
	content := got[0]["content"].(string)
	for _, want := range []string{"CRITICAL", "Instance blocked", `"vendas" is temporarily banned by WhatsApp: sent the same message to too many people`,
		"until 2026-12-03T10:00:10Z", banned, acme} {
		if !strings.Contains(content, want) {
			t.Errorf("ban alert %q lacks %q", content, want)
		}
	}
	var single, pooled string
	if err := b.db.Pool.QueryRow(ctx, `SELECT (SELECT status FROM campaigns WHERE instance_id = $1 AND instance_ids IS NULL),
		(SELECT status FROM campaigns WHERE id = $2)`, banned, pool).Scan(&single, &pooled); err != nil {
		t.Fatal(err)
	}
	if single != "paused" || pooled != "running" {
		t.Errorf("after the ban: single-instance campaign %s, pool campaign %s; want paused, running", single, pooled)
	}

	b.clock.Add(time.Minute)
	b.deliver(t, globex, loggedOut, `{"type":"LoggedOut","event":{"OnConnect":false,"Reason":"401"}}`)
	if err := b.monitor.AlertBlocks(ctx); err != nil {
		t.Fatal(err)
	}
	if got = b.hook.got(); len(got) != 2 {
		t.Fatalf("payloads after a second tenant's logout = %d, want 2: %v", len(got), got)
	}
	content = got[1]["content"].(string)
	for _, want := range []string{"CRITICAL", `"loja" was logged out of WhatsApp; pair it again (QR code), set its webhook again, then resume`, loggedOut, globex} {
		if !strings.Contains(content, want) {
			t.Errorf("logout alert %q lacks %q", content, want)
		}
	}

	// A refused alert is tried again; a new block of the banned instance
	// (after it connected again) alerts again once its cooldown ended.
	b.hook.mu.Lock()
	b.hook.status = http.StatusBadGateway
	b.hook.mu.Unlock()
	b.deliver(t, acme, other, `{"type":"LoggedOut","event":{}}`)
	if err := b.monitor.AlertBlocks(ctx); err == nil {
		t.Fatal("a refused alert returned no error")
	}
	b.hook.mu.Lock()
	b.hook.status = http.StatusNoContent
	b.hook.mu.Unlock()
	b.deliver(t, acme, banned, `{"type":"Connected","event":{}}`)
	b.clock.Add(5 * time.Minute)
	b.deliver(t, acme, banned, `{"type":"TemporaryBan","event":{"Code":101,"Expire":3600000000000}}`)
	for range 2 {
		if err := b.monitor.AlertBlocks(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got = b.hook.got()
	if len(got) != 5 { // 2 before, the refused one, then the retried one and the new ban
		t.Fatalf("payloads = %d, want 5: %v", len(got), got)
	}
	var retried, again bool
	for _, p := range got[3:] {
		c := p["content"].(string)
		retried = retried || strings.Contains(c, `"suporte" was logged out`)
		again = again || strings.Contains(c, `"vendas" is temporarily banned by WhatsApp: sent to too many people who don't have this number saved`)
	}
	if !retried || !again {
		t.Fatalf("last alerts %v: want the retried logout of suporte and the new ban of vendas", got[3:])
	}
}
