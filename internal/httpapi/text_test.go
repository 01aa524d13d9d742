package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// wantInvalidText fails unless r is 400 VALIDATION_FAILED naming field
// with code invalid_text.
func wantInvalidText(t *testing.T, what string, r reply, field string) {
	t.Helper()
	d, _ := dig(r.Body, "details").([]any)
	if r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" || len(d) == 0 ||
		dig(d[0], "field") != field || dig(d[0], "code") != "invalid_text" {
		t.Fatalf("%s = %d %.300s; want 400 VALIDATION_FAILED, field %s, code invalid_text", what, r.Status, r.Raw, field)
	}
}

func TestRequestTextMustBeValid(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	wantInvalidText(t, "tenant name with NUL", b.do(t, "POST", "/v1/tenants", adminKey, `{"name":"a\u0000b"}`), "name")
	wantInvalidText(t, "tenant name with invalid UTF-8", b.do(t, "POST", "/v1/tenants", adminKey, "{\"name\":\"a\xc3\x28b\"}"), "name")
	wantInvalidText(t, "instance name with NUL", b.do(t, "POST", "/v1/instances", b.key,
		fmt.Sprintf(`{"name":"m\u0000","baseUrl":%q,"token":"tok"}`, b.fake.URL)), "name")
	wantInvalidText(t, "query value with NUL", b.do(t, "GET", "/v1/contacts?importId=%00", b.key, nil), "importId")
	wantInvalidText(t, "timezone with NUL", b.do(t, "PATCH", "/v1/me", b.key, `{"timezone":"UTC\u0000"}`), "timezone")

	inst := b.newInstance(t, nil)["id"].(string)
	r := b.do(t, "POST", "/v1/campaigns", b.key,
		fmt.Sprintf(`{"instanceId":%q,"message":"hi","contacts":[{"phone":"11999990001"},{"phone":"11999990002","name":"\u0000"}]}`, inst))
	wantInvalidText(t, "campaign contact name with NUL", r, "contacts[1].name")
	if r := b.do(t, "GET", "/v1/campaigns", b.key, nil); len(dig(r.Body, "data", "items").([]any)) != 0 {
		t.Fatalf("a refused campaign was stored: %.300s", r.Raw)
	}

	// POST /v1/contacts judges entries one by one.
	r = b.do(t, "POST", "/v1/contacts", b.key,
		"{\"contacts\":[{\"phone\":\"11999990001\"},{\"phone\":\"11999990002\",\"name\":\"a\\u0000\"},{\"phone\":\"11999990003\",\"city\":\"\xff\"}]}")
	rej, _ := dig(r.Body, "data", "rejected").([]any)
	if r.Status != 200 || dig(r.Body, "data", "imported") != float64(1) || len(rej) != 2 ||
		dig(rej[0], "index") != float64(1) || dig(rej[0], "code") != "invalid_text" ||
		dig(rej[1], "index") != float64(2) || dig(rej[1], "code") != "invalid_text" {
		t.Fatalf("contacts with bad text = %d %.400s; want 1 imported, entries 1 and 2 rejected invalid_text", r.Status, r.Raw)
	}
}

func TestImportFileNameMustBeValidText(t *testing.T) {
	t.Parallel()
	b, _ := importSetup(t)
	_, key := b.newTenant(t, map[string]any{"name": "Importer"})
	wantInvalidText(t, "fileName with NUL", b.do(t, "POST", "/v1/imports", key, `{"fileName":"a\u0000.csv"}`), "fileName")
}

func TestWuzapiWebhookTextMustBeValid(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	b := setup(t, func(o *httpapi.Options) { db = o.DB })
	f := newFixture(t, db, 1)
	hook := "/v1/webhooks/wuzapi/" + f.instanceID + "?secret=s3cret"
	body := formEvent(fmt.Sprintf(`{"type":"ReadReceipt","state":"Read\u0000","event":{"MessageIDs":[%q],"Type":"read"}}`, f.msg(0)))
	wantInvalidText(t, "webhook with NUL", b.post(t, hook, formCT, body), "state")
	if n := f.count(t, `SELECT count(*) FROM wuzapi_events`); n != 0 {
		t.Fatalf("%d events stored from a refused post", n)
	}
}
