package httpapi_test

import (
	"context"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestOptOutOutlivesTheContact: an opted-out phone stays opted out when its
// contact is deleted and the phone comes back, by POST /v1/contacts or as an
// inline campaign recipient.
func TestOptOutOutlivesTheContact(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	b := setupCampaigns(t, func(o *httpapi.Options) { db = o.DB })
	post := func() reply {
		return b.do(t, "POST", "/v1/contacts", b.key, map[string]any{"contacts": []map[string]any{{"phone": "11999990001", "name": "Ana"}}})
	}
	if r := post(); r.Status != 200 {
		t.Fatalf("POST /v1/contacts = %d %s", r.Status, r.Raw)
	}
	// The phone opts out (as a STOP reply does).
	if _, err := db.Pool.Exec(context.Background(), `UPDATE contacts SET opted_out_at = now() WHERE phone = '5511999990001'`); err != nil {
		t.Fatal(err)
	}
	list := b.do(t, "GET", "/v1/contacts", b.key, nil)
	id := dig(list.Body, "data", "items").([]any)[0].(map[string]any)["id"].(string)
	if r := b.do(t, "DELETE", "/v1/contacts/"+id, b.key, nil); r.Status != 204 {
		t.Fatalf("DELETE = %d %s", r.Status, r.Raw)
	}
	inst := b.newInstance(t, nil)["id"].(string)
	r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "hi", "contacts": []string{"11999990001", "11999990002"}})
	if r.Status != 202 || dig(r.Body, "data", "skipped") != float64(1) {
		t.Fatalf("campaign to a deleted opted-out contact = %d %s; want it skipped", r.Status, r.Raw)
	}
	if r := post(); r.Status != 200 {
		t.Fatalf("POST /v1/contacts again = %d %s", r.Status, r.Raw)
	}
	list = b.do(t, "GET", "/v1/contacts", b.key, nil)
	for _, c := range dig(list.Body, "data", "items").([]any) {
		if c.(map[string]any)["phone"] == "5511999990001" && c.(map[string]any)["optedOutAt"] == nil {
			t.Fatalf("re-created contact = %v; want still opted out", c)
		}
	}
	// Clearing the column does not re-enable the phone either.
	if _, err := db.Pool.Exec(context.Background(), `UPDATE contacts SET opted_out_at = NULL WHERE phone = '5511999990001'`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM contacts WHERE phone = '5511999990001' AND opted_out_at IS NOT NULL`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("opted-out contacts after clearing the column = %d, %v; want 1", n, err)
	}
}
