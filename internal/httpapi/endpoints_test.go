package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestWebhookEndpoints: create (the secret shown once), validation with
// codes (unknown events, guarded addresses), list, get, patch, delete, the
// delivery log and a manual retry, each tenant seeing only its own.
func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	sent := &sentMessages{}
	b := setup(t, func(o *httpapi.Options) {
		db = o.DB
		o.AllowPrivateWuzapi = true
		o.WebhooksQueueURL, o.WebhookSender = "http://q/webhooks", sent
	})
	_, key := b.newTenant(t, map[string]any{"name": "Hooks"})
	_, otherKey := b.newTenant(t, map[string]any{"name": "Other"})

	r := b.do(t, "POST", "/v1/webhook-endpoints", key, map[string]any{
		"url": "http://127.0.0.1:9/hook?source=wm", "events": []string{"message.sent", "message.replied", "message.sent"}, "description": "CRM"})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	id, _ := dig(r.Body, "data", "id").(string)
	secret, _ := dig(r.Body, "data", "secret").(string)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if !strings.HasPrefix(secret, "whsec_") || err != nil || len(raw) != 32 || dig(r.Body, "data", "url") != "http://127.0.0.1:9/hook?source=wm" ||
		fmt.Sprint(dig(r.Body, "data", "events")) != "[message.sent message.replied]" || dig(r.Body, "data", "description") != "CRM" {
		t.Fatalf("created = %s", r.Raw)
	}
	if r := b.do(t, "GET", "/v1/webhook-endpoints/"+id, key, nil); r.Status != 200 || dig(r.Body, "data", "secret") != nil {
		t.Fatalf("get = %d %s: want the endpoint without its secret", r.Status, r.Raw)
	}

	t.Run("bad input is 400 with a code per field", func(t *testing.T) {
		for name, tt := range map[string]struct {
			body        map[string]any
			field, code string
		}{
			"unknown event":   {map[string]any{"url": "http://127.0.0.1:9/h", "events": []string{"message.sent", "message.bounced"}}, "events[1]", "unknown_event"},
			"no events":       {map[string]any{"url": "http://127.0.0.1:9/h", "events": []string{}}, "events", "required"},
			"no url":          {map[string]any{"events": []string{"message.sent"}}, "url", "required"},
			"not http":        {map[string]any{"url": "ftp://127.0.0.1/h", "events": []string{"message.sent"}}, "url", "invalid_url"},
			"credentials":     {map[string]any{"url": "http://u:p@127.0.0.1/h", "events": []string{"message.sent"}}, "url", "invalid_url"},
			"cloud metadata":  {map[string]any{"url": "http://169.254.169.254/latest/meta-data", "events": []string{"message.sent"}}, "url", "blocked_address"},
			"special purpose": {map[string]any{"url": "http://198.18.0.1/h", "events": []string{"message.sent"}}, "url", "blocked_address"},
		} {
			r := b.do(t, "POST", "/v1/webhook-endpoints", key, tt.body)
			details, _ := dig(r.Body, "details").([]any)
			if r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" || len(details) == 0 ||
				dig(details[0], "field") != tt.field || dig(details[0], "code") != tt.code {
				t.Errorf("%s: %d %s, want 400 %s %s", name, r.Status, r.Raw, tt.field, tt.code)
			}
		}
		if r := b.do(t, "PATCH", "/v1/webhook-endpoints/"+id, key, map[string]any{"events": []string{"nope"}}); r.Status != 400 {
			t.Errorf("patch with an unknown event: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("list, patch, another tenant", func(t *testing.T) {
		r := b.do(t, "GET", "/v1/webhook-endpoints", key, nil)
		if items, _ := dig(r.Body, "data", "items").([]any); r.Status != 200 || len(items) != 1 || dig(items[0], "secret") != nil {
			t.Fatalf("list = %d %s", r.Status, r.Raw)
		}
		r = b.do(t, "PATCH", "/v1/webhook-endpoints/"+id, key, map[string]any{"events": []string{"campaign.completed"}})
		if r.Status != 200 || fmt.Sprint(dig(r.Body, "data", "events")) != "[campaign.completed]" || dig(r.Body, "data", "description") != "CRM" {
			t.Fatalf("patch = %d %s", r.Status, r.Raw)
		}
		for _, req := range [][2]string{{"GET", ""}, {"PATCH", ""}, {"DELETE", ""}, {"GET", "/deliveries"}} {
			if r := b.do(t, req[0], "/v1/webhook-endpoints/"+id+req[1], otherKey, map[string]any{}); r.Status != 404 {
				t.Errorf("another tenant's %s %s: %d, want 404", req[0], req[1], r.Status)
			}
		}
		if r := b.do(t, "GET", "/v1/webhook-endpoints", otherKey, nil); len(dig(r.Body, "data", "items").([]any)) != 0 {
			t.Fatalf("another tenant lists %s", r.Raw)
		}
	})

	t.Run("the delivery log and a manual retry", func(t *testing.T) {
		ctx := context.Background()
		var deliveryID string
		if err := db.Pool.QueryRow(ctx, `WITH ev AS (
				INSERT INTO webhook_events (tenant_id, type, key, payload)
				SELECT tenant_id, 'campaign.completed', 'k1', '{"type":"campaign.completed","timestamp":"2026-12-07T00:00:00.000Z","data":{}}'
				FROM webhook_endpoints WHERE id = $1 RETURNING id)
			INSERT INTO webhook_deliveries (endpoint_id, event_id, status, attempts, last_status, last_error)
			SELECT $1, id, 'failed', 7, 500, 'answered HTTP 500' FROM ev RETURNING id`, id).Scan(&deliveryID); err != nil {
			t.Fatal(err)
		}
		r := b.do(t, "GET", "/v1/webhook-endpoints/"+id+"/deliveries?status=failed", key, nil)
		items, _ := dig(r.Body, "data", "items").([]any)
		if r.Status != 200 || len(items) != 1 || dig(items[0], "id") != deliveryID || dig(items[0], "event") != "campaign.completed" ||
			dig(items[0], "attempts") != 7.0 || dig(items[0], "lastStatus") != 500.0 || dig(items[0], "lastError") != "answered HTTP 500" {
			t.Fatalf("deliveries = %d %s", r.Status, r.Raw)
		}
		if r := b.do(t, "GET", "/v1/webhook-endpoints/"+id+"/deliveries?status=lost", key, nil); r.Status != 400 {
			t.Fatalf("unknown status filter: %d %s", r.Status, r.Raw)
		}
		retry := "/v1/webhook-endpoints/" + id + "/deliveries/" + deliveryID + "/retry"
		if r := b.do(t, "POST", retry, otherKey, nil); r.Status != 404 {
			t.Fatalf("another tenant's retry: %d %s", r.Status, r.Raw)
		}
		if r := b.do(t, "POST", retry, key, nil); r.Status != 202 || dig(r.Body, "data", "status") != "pending" {
			t.Fatalf("retry: %d %s", r.Status, r.Raw)
		}
		if len(sent.msgs) != 1 || !strings.Contains(sent.msgs[0], `"type":"webhook.deliver","endpointId":"`+id+`"`) {
			t.Fatalf("queued %v, want one webhook.deliver run of the endpoint", sent.msgs)
		}
		r = b.do(t, "GET", "/v1/webhook-endpoints/"+id+"/deliveries", key, nil)
		if items, _ := dig(r.Body, "data", "items").([]any); len(items) != 1 || dig(items[0], "status") != "pending" || dig(items[0], "nextAttemptAt") == nil {
			t.Fatalf("after retry: %s", r.Raw)
		}
	})

	t.Run("delete, then at most 20 endpoints", func(t *testing.T) {
		if r := b.do(t, "DELETE", "/v1/webhook-endpoints/"+id, key, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Raw)
		}
		if r := b.do(t, "GET", "/v1/webhook-endpoints/"+id, key, nil); r.Status != 404 {
			t.Fatalf("deleted endpoint: %d", r.Status)
		}
		for i := range postgres.MaxWebhookEndpoints {
			if r := b.do(t, "POST", "/v1/webhook-endpoints", key, map[string]any{"url": fmt.Sprintf("http://127.0.0.1:9/h%d", i), "events": []string{"message.sent"}}); r.Status != 201 {
				t.Fatalf("endpoint %d: %d %s", i, r.Status, r.Raw)
			}
		}
		r := b.do(t, "POST", "/v1/webhook-endpoints", key, map[string]any{"url": "http://127.0.0.1:9/h", "events": []string{"message.sent"}})
		if r.Status != 403 || dig(r.Body, "code") != "PLAN_LIMIT" {
			t.Fatalf("21st endpoint: %d %s, want 403 PLAN_LIMIT", r.Status, r.Raw)
		}
	})
}
