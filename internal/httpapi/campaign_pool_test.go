package httpapi_test

import (
	"context"
	"fmt"
	"testing"
)

// poolTenant gives the bundle an enterprise tenant (room for many
// instances) with n instances; it returns the key and the instance ids.
func poolTenant(t *testing.T, b campaignBundle, n int) (string, []string) {
	t.Helper()
	_, key := b.newTenant(t, map[string]any{"name": "Pool", "plan": "enterprise"})
	ids := make([]string, n)
	for i := range ids {
		r := b.do(t, "POST", "/v1/instances", key, map[string]any{"name": fmt.Sprintf("n%d", i), "baseUrl": b.fake.URL, "token": "tok"})
		if r.Status != 201 {
			t.Fatalf("create instance: %d %s", r.Status, r.Raw)
		}
		ids[i] = dig(r.Body, "data", "id").(string)
	}
	return key, ids
}

// TestCreatePoolCampaign: instanceIds and rollout are stored (rollout with
// its defaults), the campaign's instanceId is the pool's first, GET shows
// each instance's share and recipients show instanceId and skipReason.
func TestCreatePoolCampaign(t *testing.T) {
	t.Parallel()
	h := setupHealth(t)
	key, ids := poolTenant(t, h.campaignBundle, 3)
	r := h.do(t, "POST", "/v1/campaigns", key, map[string]any{
		"instanceIds": ids, "message": "hi {{name}}", "contacts": []string{"5511999990001", "5511999990002", "5511999990003"},
		"rollout": map[string]any{"share": 0.5},
	})
	if r.Status != 202 {
		t.Fatalf("create pool campaign = %d %s", r.Status, r.Raw)
	}
	id := dig(r.Body, "data", "jobId").(string)
	if _, err := h.db.Pool.Exec(context.Background(), `UPDATE campaign_recipients SET instance_id = $2, status = 'sent', sent_at = now()
		WHERE campaign_id = $1 AND seq = 0`, id, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.Pool.Exec(context.Background(), `UPDATE campaign_recipients SET instance_id = $2
		WHERE campaign_id = $1 AND seq = 1`, id, ids[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.Pool.Exec(context.Background(), `UPDATE campaign_recipients SET status = 'skipped', skip_reason = 'not_on_whatsapp'
		WHERE campaign_id = $1 AND seq = 2`, id); err != nil {
		t.Fatal(err)
	}
	r = h.do(t, "GET", "/v1/campaigns/"+id, key, nil)
	got, _ := dig(r.Body, "data", "instanceIds").([]any)
	if r.Status != 200 || len(got) != 3 || got[0] != ids[0] || got[2] != ids[2] || dig(r.Body, "data", "instanceId") != ids[0] {
		t.Fatalf("GET pool campaign = %d %s", r.Status, r.Raw)
	}
	want := map[string]any{"share": 0.5, "holdMinutes": 60.0, "maxFailedShare": 0.2, "maxOptOutShare": 0.02}
	for k, v := range want {
		if dig(r.Body, "data", "rollout", k) != v {
			t.Fatalf("rollout.%s = %v, want %v: %s", k, dig(r.Body, "data", "rollout", k), v, r.Raw)
		}
	}
	insts, _ := dig(r.Body, "data", "instances").([]any)
	if len(insts) != 3 || dig(insts[0], "id") != ids[0] || dig(insts[0], "name") != "n0" || dig(insts[0], "pending") != 0.0 ||
		dig(insts[1], "sent") != 1.0 || dig(insts[1], "pending") != 0.0 || dig(insts[2], "pending") != 1.0 || dig(insts[2], "sent") != 0.0 {
		t.Fatalf("instances = %v", insts)
	}
	r = h.do(t, "GET", "/v1/campaigns/"+id+"/recipients", key, nil)
	items, _ := dig(r.Body, "data", "items").([]any)
	if len(items) != 3 || dig(items[0], "instanceId") != ids[1] || dig(items[0], "skipReason") != nil ||
		dig(items[2], "skipReason") != "not_on_whatsapp" || dig(items[2], "instanceId") != nil {
		t.Fatalf("recipients = %s", r.Raw)
	}

	// A campaign on one instance shows that instance, holding every pending
	// recipient; an opted-out phone is skipped with its reason.
	if _, err := h.db.Pool.Exec(context.Background(), `INSERT INTO opt_outs (tenant_id, phone, opted_out_at) VALUES ($1, '5511999990009', now())`,
		h.tenantOf(t, ids[0])); err != nil {
		t.Fatal(err)
	}
	r = h.do(t, "POST", "/v1/campaigns", key, map[string]any{"instanceId": ids[0], "message": "hi", "contacts": []string{"5511999990001", "5511999990009"}})
	one := dig(r.Body, "data", "jobId").(string)
	r = h.do(t, "GET", "/v1/campaigns/"+one, key, nil)
	insts, _ = dig(r.Body, "data", "instances").([]any)
	if len(insts) != 1 || dig(insts[0], "id") != ids[0] || dig(insts[0], "pending") != 1.0 || dig(r.Body, "data", "rollout") != nil ||
		dig(r.Body, "data", "instanceIds") != nil {
		t.Fatalf("single-instance campaign = %s", r.Raw)
	}
	r = h.do(t, "GET", "/v1/campaigns/"+one+"/recipients?status=skipped", key, nil)
	if items, _ := dig(r.Body, "data", "items").([]any); len(items) != 1 || dig(items[0], "skipReason") != "opted_out" {
		t.Fatalf("opted-out recipient = %s", r.Raw)
	}
}

// TestCreatePoolCampaignBadInput: every bad pool or rollout is 400
// VALIDATION_FAILED naming the field and a code, and creates nothing.
func TestCreatePoolCampaignBadInput(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	key, ids := poolTenant(t, b, 3)
	foreign := b.newInstance(t, nil)["id"].(string) // the bundle's own tenant's
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("0193a000-0000-7000-8000-%012d", i)
	}
	body := func(m map[string]any) map[string]any {
		out := map[string]any{"instanceIds": ids[:2], "message": "hi", "contacts": []string{"11999990001"}}
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
		name, field, code string
		body              map[string]any
	}{
		{"both instanceId and instanceIds", "instanceIds", "exclusive", body(map[string]any{"instanceId": ids[0]})},
		{"one instance", "instanceIds", "too_few", body(map[string]any{"instanceIds": ids[:1]})},
		{"empty pool", "instanceIds", "too_few", body(map[string]any{"instanceIds": []string{}})},
		{"21 instances", "instanceIds", "too_many", body(map[string]any{"instanceIds": many})},
		{"duplicate", "instanceIds[2]", "duplicate", body(map[string]any{"instanceIds": []string{ids[0], ids[1], ids[0]}})},
		{"another tenant's instance", "instanceIds[1]", "not_found", body(map[string]any{"instanceIds": []string{ids[0], foreign}})},
		{"not an id", "instanceIds[0]", "not_found", body(map[string]any{"instanceIds": []string{"abc", ids[0]}})},
		{"share 0", "rollout.share", "out_of_range", body(map[string]any{"rollout": map[string]any{"share": 0}})},
		{"share 1", "rollout.share", "out_of_range", body(map[string]any{"rollout": map[string]any{"share": 1}})},
		{"share negative", "rollout.share", "out_of_range", body(map[string]any{"rollout": map[string]any{"share": -0.1}})},
		{"hold 0", "rollout.holdMinutes", "out_of_range", body(map[string]any{"rollout": map[string]any{"holdMinutes": 0}})},
		{"hold over a week", "rollout.holdMinutes", "out_of_range", body(map[string]any{"rollout": map[string]any{"holdMinutes": 10081}})},
		{"failed share over 1", "rollout.maxFailedShare", "out_of_range", body(map[string]any{"rollout": map[string]any{"maxFailedShare": 1.5}})},
		{"opt-out share negative", "rollout.maxOptOutShare", "out_of_range", body(map[string]any{"rollout": map[string]any{"maxOptOutShare": -1}})},
		{"rollout on one instance too", "rollout.share", "out_of_range",
			body(map[string]any{"instanceIds": nil, "instanceId": ids[0], "rollout": map[string]any{"share": 2}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, "POST", "/v1/campaigns", key, tt.body)
			d, _ := dig(r.Body, "details").([]any)
			if r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" || len(d) == 0 || dig(d[0], "field") != tt.field || dig(d[0], "code") != tt.code {
				t.Fatalf("= %d %.400s; want 400 VALIDATION_FAILED %s/%s", r.Status, r.Raw, tt.field, tt.code)
			}
		})
	}
	for _, raw := range []string{`{"instanceIds":"x","message":"hi","contacts":["11999990001"]}`,
		`{"instanceIds":["` + ids[0] + `","` + ids[1] + `"],"rollout":{"share":"half"},"message":"hi","contacts":["11999990001"]}`} {
		if r := b.do(t, "POST", "/v1/campaigns", key, raw); r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" {
			t.Fatalf("wrong type %s = %d %s", raw, r.Status, r.Raw)
		}
	}
	if r := b.do(t, "GET", "/v1/campaigns", key, nil); len(dig(r.Body, "data", "items").([]any)) != 0 {
		t.Fatalf("bad input left campaigns behind: %.300s", r.Raw)
	}
}
