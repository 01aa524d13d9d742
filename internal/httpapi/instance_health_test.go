package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// healthBundle is a campaigns bundle whose server reads today's counts from
// a send limiter on the server's clock, with its store at hand.
type healthBundle struct {
	campaignBundle
	db     *postgres.DB
	sender *limit.Sender
}

func setupHealth(t *testing.T) healthBundle {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	h := healthBundle{}
	h.campaignBundle = setupCampaigns(t, func(o *httpapi.Options) {
		now := o.Now
		h.sender = limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "test:" + hex.EncodeToString(b) + ":", Now: func() time.Time { return now() }})
		o.Sends = h.sender
		h.db = o.DB
	})
	return h
}

func (h healthBundle) health(t *testing.T, id string) map[string]any {
	t.Helper()
	r := h.do(t, "GET", "/v1/instances", h.key, nil)
	if r.Status != 200 {
		t.Fatalf("list instances = %d %s", r.Status, r.Raw)
	}
	items, _ := dig(r.Body, "data", "items").([]any)
	for _, it := range items {
		if dig(it, "id") == id {
			hl, _ := dig(it, "health").(map[string]any)
			return hl
		}
	}
	t.Fatalf("instance %s not listed: %s", id, r.Raw)
	return nil
}

// TestInstanceHealth: the list and GET show what stops an instance sending
// (worst first), today's counts from the send limiter and the delivery rate
// of its last sends older than 15 minutes (null with fewer than 10).
func TestInstanceHealth(t *testing.T) {
	t.Parallel()
	h := setupHealth(t)
	h.fake.SetState("tok", wuzapitest.Ready)
	inst := h.newInstance(t, nil)
	id := inst["id"].(string)
	ctx := context.Background()

	r := h.do(t, "GET", "/v1/instances/"+id, h.key, nil)
	want := map[string]any{"sent": 0.0, "newContacts": 0.0, "newContactsBudget": 5.0, "dailyCap": 15.0}
	for k, v := range want {
		if dig(r.Body, "data", "health", "today", k) != v {
			t.Fatalf("fresh instance today.%s: %s", k, r.Raw)
		}
	}
	if dig(r.Body, "data", "health", "state") != "ok" || dig(r.Body, "data", "health", "reason") != nil ||
		dig(r.Body, "data", "health", "deliveryRate") != nil || dig(r.Body, "data", "health", "until") != nil {
		t.Fatalf("fresh instance health: %s", r.Raw)
	}

	// Today's counts are the limiter's.
	p := campaign.Instance{ID: id, WarmupDays: 10, CreatedAt: time.Now()}.WithSafetyDefaults()
	res, err := h.sender.Reserve(ctx, withNew(p.Policy(time.UTC)))
	if err != nil || !res.Granted {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	if hl := h.health(t, id); dig(hl, "today", "sent") != 1.0 || dig(hl, "today", "newContacts") != 1.0 {
		t.Fatalf("after one first message: %v", hl)
	}

	// Delivery rate: 10 sends older than 15 minutes, 7 delivered.
	h.seedSends(t, id, 10, 7, h.now.Add(-time.Hour))
	h.seedSends(t, id, 5, 0, h.now.Add(-time.Minute)) // too young to count
	if hl := h.health(t, id); dig(hl, "deliveryRate") != 0.7 {
		t.Fatalf("delivery rate = %v, want 0.7", hl)
	}

	// The delivery guard's pause, then a reach-out lock.
	until := h.now.Add(6 * time.Hour)
	if ok, err := h.db.PauseNewLane(ctx, id, "paused: only 2 of 10 recent first messages were delivered", *h.now, until); err != nil || !ok {
		t.Fatalf("pause lane: %v %v", ok, err)
	}
	hl := h.health(t, id)
	if reason, _ := dig(hl, "reason").(string); dig(hl, "state") != "paused" || dig(hl, "until") != until.Format(time.RFC3339) ||
		!strings.Contains(reason, "only 2 of 10 recent first messages were delivered") || !strings.Contains(reason, "/v1/instances/"+id+"/resume") {
		t.Fatalf("paused health = %v", hl)
	}

	// A session check that saw the socket down outranks the lane.
	if err := h.db.SetInstanceSession(ctx, h.tenantOf(t, id), id, false, true); err != nil {
		t.Fatal(err)
	}
	if hl := h.health(t, id); dig(hl, "state") != "disconnected" || !strings.Contains(dig(hl, "reason").(string), "/connect") {
		t.Fatalf("disconnected health = %v", hl)
	}
	// A ban outranks everything, with its code's reason and expiry.
	banEnd := h.now.Add(24 * time.Hour)
	if _, err := h.db.Pool.Exec(ctx, `UPDATE instances SET blocked_reason = 'temporary_ban', ban_code = 104, blocked_until = $2 WHERE id = $1`, id, banEnd); err != nil {
		t.Fatal(err)
	}
	hl = h.health(t, id)
	if reason, _ := dig(hl, "reason").(string); dig(hl, "state") != "banned" || dig(hl, "until") != banEnd.Format(time.RFC3339) ||
		!strings.Contains(reason, "sent the same message to too many people") {
		t.Fatalf("banned health = %v", hl)
	}
	if _, err := h.db.Pool.Exec(ctx, `UPDATE instances SET blocked_reason = 'logged_out', ban_code = NULL, blocked_until = NULL WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if hl := h.health(t, id); dig(hl, "state") != "logged_out" || !strings.Contains(dig(hl, "reason").(string), "QR code") {
		t.Fatalf("logged out health = %v", hl)
	}
}

// TestInstanceResume: POST /v1/instances/{id}/resume reopens a lane the
// delivery guard paused; nothing paused (open, or locked by WhatsApp) is
// 409 INVALID_STATE; another tenant's instance is 404.
func TestInstanceResume(t *testing.T) {
	t.Parallel()
	h := setupHealth(t)
	id := h.newInstance(t, nil)["id"].(string)
	ctx := context.Background()
	path := "/v1/instances/" + id + "/resume"

	if r := h.do(t, "POST", path, h.key, nil); r.Status != 409 || dig(r.Body, "code") != "INVALID_STATE" {
		t.Fatalf("resume an open lane = %d %s", r.Status, r.Raw)
	}
	if _, err := h.db.PauseNewLane(ctx, id, "paused: only 1 of 10 recent first messages were delivered", *h.now, h.now.Add(6*time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, other := h.newTenant(t, map[string]any{"name": "Other"})
	if r := h.do(t, "POST", path, other, nil); r.Status != 404 || dig(r.Body, "code") != "NOT_FOUND" {
		t.Fatalf("other tenant resume = %d %s", r.Status, r.Raw)
	}
	if hl := h.health(t, id); dig(hl, "state") != "paused" {
		t.Fatalf("other tenant's resume changed the lane: %v", hl)
	}
	r := h.do(t, "POST", path, h.key, nil)
	if r.Status != 200 || dig(r.Body, "data", "health", "state") != "ok" || dig(r.Body, "data", "id") != id {
		t.Fatalf("resume = %d %s", r.Status, r.Raw)
	}
	if l, err := h.db.NewLane(ctx, id); err != nil || l.State != "" {
		t.Fatalf("lane after resume = %+v %v", l, err)
	}
	if _, _, err := h.db.LockNewLane(ctx, id, *h.now); err != nil {
		t.Fatal(err)
	}
	r = h.do(t, "POST", path, h.key, nil)
	if r.Status != 409 || dig(r.Body, "code") != "INVALID_STATE" || !strings.Contains(r.Raw, "cannot be lifted") {
		t.Fatalf("resume a lock = %d %s", r.Status, r.Raw)
	}
	if hl := h.health(t, id); dig(hl, "state") != "locked" || dig(hl, "until") != h.now.Add(24*time.Hour).Format(time.RFC3339) {
		t.Fatalf("locked health = %v", hl)
	}
}

func withNew(p campaign.SendPolicy) campaign.SendPolicy {
	p.NewContact, p.TextHash = true, campaign.TextKey("hi")
	return p
}

func (h healthBundle) tenantOf(t *testing.T, instanceID string) string {
	t.Helper()
	var tenantID string
	if err := h.db.Pool.QueryRow(context.Background(), "SELECT tenant_id FROM instances WHERE id = $1", instanceID).Scan(&tenantID); err != nil {
		t.Fatal(err)
	}
	return tenantID
}

// seedSends makes n recipients of a new campaign sent by the instance at
// `at`, the first delivered of them delivered.
func (h healthBundle) seedSends(t *testing.T, instanceID string, n, delivered int, at time.Time) {
	t.Helper()
	contacts := make([]any, n)
	for i := range contacts {
		contacts[i] = fmt.Sprintf("5511987%06d", i)
	}
	r := h.do(t, "POST", "/v1/campaigns", h.key, map[string]any{"instanceId": instanceID, "message": "hi {{name}}", "contacts": contacts})
	if r.Status != 202 {
		t.Fatalf("create campaign: %d %s", r.Status, r.Raw)
	}
	_, err := h.db.Pool.Exec(context.Background(), `UPDATE campaign_recipients SET status = CASE WHEN seq < $3 THEN 'delivered' ELSE 'sent' END,
		instance_id = $2, sent_at = $4::timestamptz, delivered_at = CASE WHEN seq < $3 THEN $4::timestamptz END WHERE campaign_id = $1`,
		dig(r.Body, "data", "jobId"), instanceID, delivered, at)
	if err != nil {
		t.Fatal(err)
	}
}
