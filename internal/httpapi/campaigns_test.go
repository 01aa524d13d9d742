package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

func (b campaignBundle) doKey(t *testing.T, path, idemKey string, body string) reply {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), "POST", path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+b.key)
	req.Header.Set("Idempotency-Key", idemKey)
	rec := httptest.NewRecorder()
	b.srv.ServeHTTP(rec, req)
	out := reply{Status: rec.Code, Raw: rec.Body.String()}
	_ = jsonUnmarshal(rec.Body.Bytes(), &out.Body)
	return out
}

func TestCreateCampaign(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	inst := b.newInstance(t, nil)["id"].(string)
	r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{
		"name": "Black Friday", "instanceId": inst, "message": "{Oi|Olá} {{name}}, cupom {{coupon}}",
		"contacts": []any{
			"(11) 99999-0001",
			map[string]any{"phone": "+55 11 99999-0002", "name": "Bia", "coupon": "X1"},
			"5511999990001", // duplicate of the first
			"12",
			map[string]any{"name": "no phone"},
			42,
		},
	})
	if r.Status != 202 || dig(r.Body, "data", "status") != "queued" || dig(r.Body, "data", "contactCount") != 2.0 || dig(r.Body, "data", "skipped") != 0.0 {
		t.Fatalf("create = %d %s", r.Status, r.Raw)
	}
	id := dig(r.Body, "data", "jobId").(string)
	inv, _ := dig(r.Body, "data", "invalid").([]any)
	if len(inv) != 3 || dig(inv[0], "index") != 3.0 || dig(inv[0], "code") != "too_short" || dig(inv[1], "code") != "invalid_contact" || dig(inv[2], "index") != 5.0 {
		t.Fatalf("invalid = %v", inv)
	}
	mv, _ := dig(r.Body, "data", "missingVars").([]any)
	if len(mv) != 2 || dig(mv[0], "var") != "coupon" || dig(mv[0], "recipients") != 1.0 || dig(mv[1], "var") != "name" || dig(mv[1], "recipients") != 1.0 {
		t.Fatalf("missingVars = %v", mv)
	}
	if chunks, delay := b.queue.of(id); len(chunks) != 1 || chunks[0] != 0 || delay != 0 {
		t.Fatalf("enqueued %v after %v", chunks, delay)
	}

	r = b.do(t, "GET", "/v1/campaigns/"+id, b.key, nil)
	if r.Status != 200 || dig(r.Body, "data", "state") != "queued" || dig(r.Body, "data", "name") != "Black Friday" ||
		dig(r.Body, "data", "instanceId") != inst || dig(r.Body, "data", "counts", "total") != 2.0 || dig(r.Body, "data", "counts", "pending") != 2.0 ||
		dig(r.Body, "data", "reason") != nil || dig(r.Body, "data", "startedAt") != nil {
		t.Fatalf("GET campaign = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "GET", "/v1/campaigns/"+id+"/status", b.key, nil)
	if r.Status != 200 || dig(r.Body, "data", "jobId") != id || dig(r.Body, "data", "state") != "queued" || dig(r.Body, "data", "progress") != 0.0 ||
		dig(r.Body, "data", "result", "total") != 2.0 || dig(r.Body, "data", "result", "processed") != 0.0 {
		t.Fatalf("status = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "GET", "/v1/campaigns/"+id+"/recipients?limit=1", b.key, nil)
	items, _ := dig(r.Body, "data", "items").([]any)
	cur, _ := dig(r.Body, "data", "nextCursor").(string)
	if r.Status != 200 || len(items) != 1 || dig(items[0], "phone") != "5511999990001" || dig(items[0], "status") != "pending" || cur == "" {
		t.Fatalf("recipients = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "GET", "/v1/campaigns/"+id+"/recipients?limit=1&cursor="+cur, b.key, nil)
	items, _ = dig(r.Body, "data", "items").([]any)
	if len(items) != 1 || dig(items[0], "phone") != "5511999990002" {
		t.Fatalf("recipients page 2 = %s", r.Raw)
	}
	r = b.do(t, "GET", "/v1/campaigns/"+id+"/recipients?status=failed", b.key, nil)
	if items, _ := dig(r.Body, "data", "items").([]any); len(items) != 0 || dig(r.Body, "data", "nextCursor") != nil {
		t.Fatalf("failed recipients = %s", r.Raw)
	}
	r = b.do(t, "GET", "/v1/campaigns/"+id+"/timeline?bucketSeconds=60", b.key, nil)
	if r.Status != 200 || len(dig(r.Body, "data", "items").([]any)) != 0 {
		t.Fatalf("timeline = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "GET", "/v1/campaigns", b.key, nil)
	if items, _ := dig(r.Body, "data", "items").([]any); r.Status != 200 || len(items) != 1 || dig(items[0], "counts", "pending") != 2.0 {
		t.Fatalf("list = %d %s", r.Status, r.Raw)
	}

	// Control: pause, illegal pause, resume (re-enqueues), cancel, illegal resume.
	steps := []struct {
		action string
		status int
		state  string
	}{
		{"pause", 200, "paused"}, {"pause", 409, ""}, {"resume", 200, "queued"}, {"cancel", 200, "cancelled"},
		{"resume", 409, ""}, {"cancel", 409, ""},
	}
	for _, st := range steps {
		r := b.do(t, "POST", "/v1/campaigns/"+id+"/"+st.action, b.key, nil)
		if r.Status != st.status || (st.state != "" && dig(r.Body, "data", "state") != st.state) || (st.status == 409 && dig(r.Body, "code") != "INVALID_STATE") {
			t.Fatalf("%s = %d %s; want %d %s", st.action, r.Status, r.Raw, st.status, st.state)
		}
	}
	if chunks, _ := b.queue.of(id); len(chunks) != 2 {
		t.Fatalf("resume did not enqueue again: %v", chunks)
	}
	r = b.do(t, "GET", "/v1/campaigns/"+id, b.key, nil)
	if dig(r.Body, "data", "finishedAt") == nil || dig(r.Body, "data", "reason") != "cancelled by the tenant" {
		t.Fatalf("cancelled campaign = %s", r.Raw)
	}
	if r := b.do(t, "POST", "/v1/campaigns/"+id+"/resend", b.key, `{"statuses":["failed"]}`); r.Status != 409 {
		t.Fatalf("resend cancelled = %d %s", r.Status, r.Raw)
	}

	_, other := b.newTenant(t, map[string]any{"name": "Other"})
	for _, p := range []string{"", "/status", "/recipients", "/timeline"} {
		if r := b.do(t, "GET", "/v1/campaigns/"+id+p, other, nil); r.Status != 404 {
			t.Fatalf("other tenant GET %s = %d", p, r.Status)
		}
	}
	if r := b.do(t, "POST", "/v1/campaigns/"+id+"/pause", other, nil); r.Status != 404 {
		t.Fatalf("other tenant pause = %d", r.Status)
	}
}

func TestCreateCampaignScheduling(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	inst := b.newInstance(t, nil)["id"].(string)
	create := func(at time.Time) (string, string, time.Duration) {
		r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "hi",
			"contacts": []string{"11999990001"}, "scheduledAt": at.Format(time.RFC3339)})
		if r.Status != 202 {
			t.Fatalf("create at %v = %d %s", at, r.Status, r.Raw)
		}
		id := dig(r.Body, "data", "jobId").(string)
		_, delay := b.queue.of(id)
		return id, dig(r.Body, "data", "status").(string), delay
	}
	if _, st, d := create(b.now.Add(-time.Hour)); st != "queued" || d != 0 {
		t.Fatalf("past = %s, delay %v", st, d)
	}
	if _, st, d := create(b.now.Add(10 * time.Minute)); st != "queued" || d != 10*time.Minute {
		t.Fatalf("in 10 min = %s, delay %v", st, d)
	}
	id, st, _ := create(b.now.Add(2 * time.Hour))
	if st != "scheduled" {
		t.Fatalf("in 2 h = %s", st)
	}
	if chunks, _ := b.queue.of(id); len(chunks) != 0 {
		t.Fatalf("scheduled campaign enqueued %v", chunks)
	}
	if r := b.do(t, "POST", "/v1/campaigns/"+id+"/pause", b.key, nil); r.Status != 409 {
		t.Fatalf("pause scheduled = %d", r.Status)
	}
	if r := b.do(t, "POST", "/v1/campaigns/"+id+"/cancel", b.key, nil); r.Status != 200 || dig(r.Body, "data", "state") != "cancelled" {
		t.Fatalf("cancel scheduled = %d %s", r.Status, r.Raw)
	}
}

func TestCreateCampaignIdempotency(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	inst := b.newInstance(t, nil)["id"].(string)
	body := fmt.Sprintf(`{"instanceId":%q,"message":"hi","contacts":["11999990001","bad"]}`, inst)
	first := b.doKey(t, "/v1/campaigns", "k-1", body)
	again := b.doKey(t, "/v1/campaigns", "k-1", body)
	if first.Status != 202 || again.Status != 202 || dig(first.Body, "data", "jobId") != dig(again.Body, "data", "jobId") ||
		fmt.Sprint(dig(first.Body, "data")) != fmt.Sprint(dig(again.Body, "data")) {
		t.Fatalf("same key twice = %s / %s", first.Raw, again.Raw)
	}
	other := b.doKey(t, "/v1/campaigns", "k-1", strings.Replace(body, `"hi"`, `"hello"`, 1))
	if other.Status != 409 || dig(other.Body, "code") != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("same key, other body = %d %s", other.Status, other.Raw)
	}
	third := b.doKey(t, "/v1/campaigns", "k-2", body)
	if third.Status != 202 || dig(third.Body, "data", "jobId") == dig(first.Body, "data", "jobId") {
		t.Fatalf("other key = %s", third.Raw)
	}
	r := b.do(t, "GET", "/v1/campaigns", b.key, nil)
	if items := dig(r.Body, "data", "items").([]any); len(items) != 2 {
		t.Fatalf("%d campaigns, want 2", len(items))
	}
	if chunks, _ := b.queue.of(dig(first.Body, "data", "jobId").(string)); len(chunks) != 1 {
		t.Fatalf("replay enqueued again: %v", chunks)
	}
	// After 24 h the key names nothing: a new campaign.
	*b.now = b.now.Add(25 * time.Hour)
	late := b.doKey(t, "/v1/campaigns", "k-1", strings.Replace(body, `"hi"`, `"hello"`, 1))
	if late.Status != 202 || dig(late.Body, "data", "jobId") == dig(first.Body, "data", "jobId") {
		t.Fatalf("key after 24 h = %d %s", late.Status, late.Raw)
	}
}

func TestCreateCampaignAudience(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	b := setupCampaigns(t, func(o *httpapi.Options) { db = o.DB })
	inst := b.newInstance(t, nil)["id"].(string)
	r := b.do(t, "GET", "/v1/me", b.key, nil)
	tid := dig(r.Body, "data", "tenant", "id").(string)
	ctx := context.Background()
	imp := "0193a000-0000-7000-8000-000000000001"
	for i, c := range []struct {
		phone, name string
		optedOut    bool
		fromImport  bool
	}{
		{"5511999990001", "Ana", false, true}, {"5511999990002", "Bia", true, true}, {"5511999990003", "Caio", false, false},
	} {
		var impID any
		if c.fromImport {
			impID = imp
		}
		var opted any
		if c.optedOut {
			opted = time.Now()
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, name, attributes, import_id, opted_out_at) VALUES ($1,$2,$3,$4,$5,$6)`,
			tid, c.phone, c.name, fmt.Sprintf(`{"n":%d}`, i), impID, opted); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name           string
		audience       map[string]any
		count, skipped float64
	}{
		{"all", map[string]any{"all": true}, 2, 1},
		{"one import", map[string]any{"importId": imp}, 1, 1},
		{"unknown import", map[string]any{"importId": "0193a000-0000-7000-8000-00000000ffff"}, 0, 0},
	} {
		r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "hi {{name}}", "audience": tt.audience})
		wantStatus := "queued"
		if tt.count == 0 {
			wantStatus = "completed"
		}
		if r.Status != 202 || dig(r.Body, "data", "contactCount") != tt.count || dig(r.Body, "data", "skipped") != tt.skipped || dig(r.Body, "data", "status") != wantStatus {
			t.Fatalf("%s: create = %d %s", tt.name, r.Status, r.Raw)
		}
	}
	// An inline list meets the same opt-outs.
	r = b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "hi", "contacts": []string{"11999990002", "11999990009"}})
	if r.Status != 202 || dig(r.Body, "data", "contactCount") != 1.0 || dig(r.Body, "data", "skipped") != 1.0 {
		t.Fatalf("inline with opted-out = %d %s", r.Status, r.Raw)
	}
}

func TestCreateCampaignEnqueueFailure(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	b.queue.fail = true
	inst := b.newInstance(t, nil)["id"].(string)
	r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "hi", "contacts": []string{"11999990001"}})
	if r.Status != 202 || dig(r.Body, "data", "status") != "queued" {
		t.Fatalf("create with the queue down = %d %s", r.Status, r.Raw)
	}
}

func TestCreateCampaignBadInput(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	inst := b.newInstance(t, nil)["id"].(string)
	_, otherKey := b.newTenant(t, map[string]any{"name": "Other"})
	foreign := setupCampaignsFor(t, b, otherKey)
	many := make([]string, httpapi.MaxInlineContacts+1)
	for i := range many {
		many[i] = "1"
	}
	body := func(m map[string]any) map[string]any {
		out := map[string]any{"instanceId": inst, "message": "hi", "contacts": []string{"11999990001"}}
		for k, v := range m {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"unknown instance", body(map[string]any{"instanceId": "0193a000-0000-7000-8000-000000000009"}), 404, "NOT_FOUND", ""},
		{"instance of another tenant", body(map[string]any{"instanceId": foreign}), 404, "NOT_FOUND", ""},
		{"malformed instance id", body(map[string]any{"instanceId": "abc"}), 404, "NOT_FOUND", ""},
		{"no instance", body(map[string]any{"instanceId": nil}), 400, "VALIDATION_FAILED", "instanceId"},
		{"empty message", body(map[string]any{"message": "  "}), 400, "VALIDATION_FAILED", "message"},
		{"no message", body(map[string]any{"message": nil}), 400, "VALIDATION_FAILED", "message"},
		{"message too long", body(map[string]any{"message": strings.Repeat("a", 4097)}), 400, "VALIDATION_FAILED", "message"},
		{"no contacts nor audience", body(map[string]any{"contacts": nil}), 400, "VALIDATION_FAILED", "contacts"},
		{"both contacts and audience", body(map[string]any{"audience": map[string]any{"all": true}}), 400, "VALIDATION_FAILED", "contacts"},
		{"empty contacts", body(map[string]any{"contacts": []string{}}), 400, "VALIDATION_FAILED", "contacts"},
		{"contacts not a list", body(map[string]any{"contacts": "11999990001"}), 400, "VALIDATION_FAILED", "contacts"},
		{"too many contacts", body(map[string]any{"contacts": many}), 400, "VALIDATION_FAILED", "contacts"},
		{"no valid contact", body(map[string]any{"contacts": []string{"12", "abc"}}), 400, "VALIDATION_FAILED", "contacts[0]"},
		{"bad audience", body(map[string]any{"contacts": nil, "audience": map[string]any{}}), 400, "VALIDATION_FAILED", "audience"},
		{"bad import id", body(map[string]any{"contacts": nil, "audience": map[string]any{"importId": "x"}}), 400, "VALIDATION_FAILED", "audience.importId"},
		{"bad scheduledAt", body(map[string]any{"scheduledAt": "tomorrow"}), 400, "VALIDATION_FAILED", "scheduledAt"},
		{"scheduledAt too far", body(map[string]any{"scheduledAt": "2030-01-01T00:00:00Z"}), 400, "VALIDATION_FAILED", "scheduledAt"},
		{"scheduledAt wrong type", body(map[string]any{"scheduledAt": 5}), 400, "VALIDATION_FAILED", "scheduledAt"},
		{"bad quiet hours", body(map[string]any{"quietHours": map[string]any{"start": "9pm", "end": "08:00"}}), 400, "VALIDATION_FAILED", "quietHours"},
		{"spintax four deep", body(map[string]any{"message": "{a|{b|{c|{d|e}}}}"}), 400, "VALIDATION_FAILED", "message"},
		{"malformed json", `{"instanceId":`, 400, "MALFORMED_JSON", ""},
		{"body over 6 MiB", `{"message":"` + strings.Repeat("x", httpapi.MaxCampaignBodyBytes) + `"}`, 413, "PAYLOAD_TOO_LARGE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, "POST", "/v1/campaigns", b.key, tt.body)
			if r.Status != tt.status || dig(r.Body, "code") != tt.code {
				t.Fatalf("= %d %.300s; want %d %s", r.Status, r.Raw, tt.status, tt.code)
			}
			if tt.field != "" {
				d, _ := dig(r.Body, "details").([]any)
				if len(d) == 0 || dig(d[0], "field") != tt.field {
					t.Fatalf("details = %v, want field %s", d, tt.field)
				}
			}
		})
	}
	if r := b.do(t, "GET", "/v1/campaigns", b.key, nil); len(dig(r.Body, "data", "items").([]any)) != 0 {
		t.Fatalf("bad input left campaigns behind: %.300s", r.Raw)
	}
	deep := b.do(t, "POST", "/v1/campaigns", b.key, body(map[string]any{"message": "{a|{b|{c|{d|e}}}}"}))
	if d, _ := dig(deep.Body, "details").([]any); len(d) == 0 || dig(d[0], "code") != "spintax_too_deep" {
		t.Fatalf("four-deep spintax = %.300s, want detail code spintax_too_deep", deep.Raw)
	}
	// 2,000 unclosed braces: a backtracking parser would take hours.
	if r := b.do(t, "POST", "/v1/campaigns", b.key, body(map[string]any{"message": strings.Repeat("{x", 2000)})); r.Status != 202 {
		t.Fatalf("unclosed braces = %d %.300s", r.Status, r.Raw)
	}
	id := dig(b.do(t, "POST", "/v1/campaigns", b.key, body(nil)).Body, "data", "jobId").(string)
	for _, tt := range []struct{ path, field string }{
		{"/recipients?status=lost", "status"}, {"/recipients?limit=0", "limit"}, {"/recipients?cursor=zz", "cursor"},
		{"/timeline?bucketSeconds=0", "bucketSeconds"},
	} {
		if r := b.do(t, "GET", "/v1/campaigns/"+id+tt.path, b.key, nil); r.Status != 400 || dig(r.Body, "details").([]any)[0].(map[string]any)["field"] != tt.field {
			t.Fatalf("GET %s = %d %s", tt.path, r.Status, r.Raw)
		}
	}
	for _, rb := range []string{`{}`, `{"statuses":["sent"]}`} {
		if r := b.do(t, "POST", "/v1/campaigns/"+id+"/resend", b.key, rb); r.Status != 400 {
			t.Fatalf("resend %s = %d %s", rb, r.Status, r.Raw)
		}
	}
	if r := b.do(t, "GET", "/v1/campaigns/not-a-uuid", b.key, nil); r.Status != 404 {
		t.Fatalf("non-uuid campaign = %d", r.Status)
	}
}

// setupCampaignsFor creates an instance for the tenant with key, on b's server.
func setupCampaignsFor(t *testing.T, b campaignBundle, key string) string {
	t.Helper()
	r := b.do(t, "POST", "/v1/instances", key, map[string]any{"name": "theirs", "baseUrl": b.fake.URL, "token": "tok"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create foreign instance: %d %s", r.Status, r.Raw)
	}
	return dig(r.Body, "data", "id").(string)
}

func TestResendCampaign(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	b := setupCampaigns(t, func(o *httpapi.Options) { db = o.DB })
	inst := b.newInstance(t, nil)["id"].(string)
	r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "hi", "contacts": []string{"11999990001", "11999990002", "11999990003"}})
	id := dig(r.Body, "data", "jobId").(string)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET status = CASE phone WHEN '5511999990001' THEN 'failed' WHEN '5511999990002' THEN 'unknown' ELSE 'sent' END,
		wuzapi_message_id = 'x' || phone WHERE campaign_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE campaigns SET status = 'completed', finished_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	r = b.do(t, "POST", "/v1/campaigns/"+id+"/resend", b.key, `{"statuses":["unknown"]}`)
	if r.Status != 202 || dig(r.Body, "data", "resent") != 1.0 || dig(r.Body, "data", "status") != "queued" || dig(r.Body, "data", "jobId") != id {
		t.Fatalf("resend = %d %s", r.Status, r.Raw)
	}
	if chunks, _ := b.queue.of(id); len(chunks) != 2 {
		t.Fatalf("resend did not enqueue: %v", chunks)
	}
	r = b.do(t, "GET", "/v1/campaigns/"+id+"/recipients?status=pending", b.key, nil)
	items, _ := dig(r.Body, "data", "items").([]any)
	if len(items) != 1 || dig(items[0], "phone") != "5511999990002" || dig(items[0], "messageId") != nil || dig(items[0], "attempts") != 0.0 {
		t.Fatalf("pending after resend = %s", r.Raw)
	}
	r = b.do(t, "GET", "/v1/campaigns/"+id, b.key, nil)
	if dig(r.Body, "data", "state") != "queued" || dig(r.Body, "data", "finishedAt") != nil || dig(r.Body, "data", "counts", "failed") != 1.0 {
		t.Fatalf("campaign after resend = %s", r.Raw)
	}
	// Nothing left of that status: 202 with 0, state unchanged.
	r = b.do(t, "POST", "/v1/campaigns/"+id+"/resend", b.key, `{"statuses":["unknown"]}`)
	if r.Status != 202 || dig(r.Body, "data", "resent") != 0.0 || dig(r.Body, "data", "status") != "queued" {
		t.Fatalf("empty resend = %d %s", r.Status, r.Raw)
	}
}
