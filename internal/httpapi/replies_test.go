package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestCampaignReplies: an incoming message after a send is a reply of the
// campaign (listed, counted, on its recipient, a known contact of the
// instance); a STOP is an opt-out and no reply; another tenant sees nothing.
func TestCampaignReplies(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	b := setup(t, func(o *httpapi.Options) { db = o.DB })
	f := newFixture(t, db, 3) // sent 2026-11-25 12:00 UTC to 5511900000000..2
	other := newFixture(t, db, 1)
	hook := "/v1/webhooks/wuzapi/" + f.instanceID + "?secret=s3cret"
	message := func(phone, id, text string) string {
		return formEvent(fmt.Sprintf(`{"type":"Message","event":{"Info":{"ID":%q,"Sender":"%s:3@s.whatsapp.net","Chat":"%s@s.whatsapp.net","Timestamp":"2026-11-25T13:00:00Z"},"Message":{"conversation":%q}}}`,
			id, phone, phone, text))
	}
	for _, m := range []string{message("5511900000001", "R1", "Tenho interesse"), message("5511900000002", "R2", "PARAR")} {
		if r := b.post(t, hook, formCT, m); r.Status != 200 {
			t.Fatalf("webhook: %d %s", r.Status, r.Raw)
		}
	}
	base := "/v1/campaigns/" + f.campaignID

	r := b.do(t, "GET", base+"/replies", f.key, nil)
	items, _ := dig(r.Body, "data", "items").([]any)
	if r.Status != 200 || len(items) != 1 || dig(items[0], "phone") != "5511900000001" || dig(items[0], "name") != "Name 1" ||
		dig(items[0], "text") != "Tenho interesse" || dig(items[0], "at") != "2026-11-25T13:00:00Z" || dig(r.Body, "data", "nextCursor") != nil {
		t.Fatalf("replies = %d %s, want the one reply (the STOP is no reply)", r.Status, r.Raw)
	}

	r = b.do(t, "GET", base+"/status", f.key, nil)
	if dig(r.Body, "data", "result", "replied") != 1.0 || dig(r.Body, "data", "result", "replyRate") != 0.3333 {
		t.Fatalf("status = %s, want 1 replied, rate 0.3333", r.Raw)
	}
	r = b.do(t, "GET", base, f.key, nil)
	if dig(r.Body, "data", "counts", "replied") != 1.0 || dig(r.Body, "data", "replyRate") != 0.3333 {
		t.Fatalf("campaign = %s, want counts.replied 1 and replyRate 0.3333", r.Raw)
	}
	r = b.do(t, "GET", base+"/recipients", f.key, nil)
	recs, _ := dig(r.Body, "data", "items").([]any)
	if len(recs) != 3 || dig(recs[1], "repliedAt") != "2026-11-25T13:00:00Z" || dig(recs[1], "reply") != "Tenho interesse" || dig(recs[0], "reply") != nil {
		t.Fatalf("recipients = %s", r.Raw)
	}
	if n := f.count(t, `SELECT count(*) FROM known_contacts WHERE instance_id = $1 AND phone = '5511900000001'`, f.instanceID); n != 1 {
		t.Fatal("a reply did not make the phone a known contact of the instance")
	}

	if r := b.do(t, "GET", base+"/replies", other.key, nil); r.Status != 404 || dig(r.Body, "code") != "NOT_FOUND" {
		t.Fatalf("another tenant: %d %s, want 404", r.Status, r.Raw)
	}
	for _, q := range []string{"?limit=0", "?cursor=nope"} {
		if r := b.do(t, "GET", base+"/replies"+q, f.key, nil); r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" {
			t.Errorf("replies%s: %d %s, want 400", q, r.Status, r.Raw)
		}
	}
}
