package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestAudienceRoutes: tags through POST and PATCH, the preview, and a
// campaign created from the same audience counting the same contacts.
func TestAudienceRoutes(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	b := setupCampaigns(t, func(o *httpapi.Options) { db = o.DB })
	_, otherKey := b.newTenant(t, map[string]any{"name": "Other"})
	r := b.do(t, "POST", "/v1/contacts", b.key, map[string]any{"contacts": []any{
		map[string]any{"phone": "11999990001", "name": "Ana", "tags": []string{"vip", " sp ", "vip"}, "city": "SP", "score": 10},
		map[string]any{"phone": "11999990002", "name": "Bia", "tags": []string{"sp"}, "city": "SP", "score": 3},
		map[string]any{"phone": "11999990003", "name": "Caio", "tags": []string{"rj"}, "city": "RJ"},
		map[string]any{"phone": "11999990004", "tags": []string{"a|b"}},
		map[string]any{"phone": "11999990005", "tags": make([]string, 0, 1)},
	}})
	rejected, _ := dig(r.Body, "data", "rejected").([]any)
	if r.Status != 200 || dig(r.Body, "data", "imported") != float64(4) || len(rejected) != 1 || dig(rejected[0], "code") != "invalid_tags" {
		t.Fatalf("POST /v1/contacts = %d %s", r.Status, r.Raw)
	}
	if r := b.do(t, "POST", "/v1/contacts", b.key, map[string]any{"contacts": []any{map[string]any{"phone": "11999990001", "tags": "vip"}}}); r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" {
		t.Fatalf("tags as a string = %d %s", r.Status, r.Raw)
	}

	preview := func(key string, a any) reply {
		return b.do(t, "POST", "/v1/audiences/preview", key, map[string]any{"audience": a})
	}
	r = preview(b.key, map[string]any{"tags": map[string]any{"any": []string{"sp"}}, "where": []any{map[string]any{"attribute": "score", "op": "gt", "value": 5}}})
	sample, _ := dig(r.Body, "data", "sample").([]any)
	if r.Status != 200 || dig(r.Body, "data", "count") != float64(1) || len(sample) != 1 || dig(sample[0], "name") != "Ana" ||
		fmt.Sprint(dig(sample[0], "tags")) != "[vip sp]" {
		t.Fatalf("preview = %d %s", r.Status, r.Raw)
	}
	if r := preview(otherKey, map[string]any{"all": true}); r.Status != 200 || dig(r.Body, "data", "count") != float64(0) {
		t.Fatalf("another tenant's preview = %d %s", r.Status, r.Raw)
	}

	// PATCH: another tenant's contact is 404; tags replace; opt-out stays.
	if _, err := db.Pool.Exec(context.Background(), `UPDATE contacts SET opted_out_at = now() WHERE phone = '5511999990003'`); err != nil {
		t.Fatal(err)
	}
	list := b.do(t, "GET", "/v1/contacts?limit=1000", b.key, nil)
	var caio string
	for _, it := range dig(list.Body, "data", "items").([]any) {
		if dig(it, "phone") == "5511999990003" {
			caio = dig(it, "id").(string)
		}
		if dig(it, "phone") == "5511999990005" && fmt.Sprint(dig(it, "tags")) != "[]" {
			t.Fatalf("contact without tags = %v; want tags []", it)
		}
	}
	patch := map[string]any{"name": "Caio S", "tags": []string{"sp", "vip"}, "attributes": map[string]any{"city": nil, "plan": "gold"}}
	if r := b.do(t, "PATCH", "/v1/contacts/"+caio, otherKey, patch); r.Status != 404 || dig(r.Body, "code") != "NOT_FOUND" {
		t.Fatalf("PATCH of another tenant's contact = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "PATCH", "/v1/contacts/"+caio, b.key, patch)
	if r.Status != 200 || dig(r.Body, "data", "name") != "Caio S" || fmt.Sprint(dig(r.Body, "data", "tags")) != "[sp vip]" ||
		fmt.Sprint(dig(r.Body, "data", "attributes")) != "map[plan:gold]" || dig(r.Body, "data", "optedOutAt") == nil {
		t.Fatalf("PATCH = %d %s", r.Status, r.Raw)
	}
	r = preview(b.key, map[string]any{"tags": map[string]any{"all": []string{"vip"}}})
	if dig(r.Body, "data", "count") != float64(1) || dig(r.Body, "data", "optedOut") != float64(1) ||
		dig(r.Body, "data", "countIsEstimate") != false {
		t.Fatalf("preview with an opted-out match = %s", r.Raw)
	}

	// A campaign from the audience: the same contacts, the opted-out one skipped.
	inst := b.newInstance(t, nil)["id"].(string)
	r = b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "hi {{name}}",
		"audience": map[string]any{"tags": map[string]any{"any": []string{"vip"}}}})
	if r.Status != 202 || dig(r.Body, "data", "contactCount") != float64(1) || dig(r.Body, "data", "skipped") != float64(1) {
		t.Fatalf("campaign by audience = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": "hi",
		"audience": map[string]any{"where": []any{map[string]any{"attribute": "city", "op": "like", "value": "S%"}}}})
	if r.Status != 400 || dig(r.Body, "details").([]any)[0].(map[string]any)["code"] != "unknown_op" {
		t.Fatalf("campaign with an unknown op = %d %s", r.Status, r.Raw)
	}
}

// TestAudienceBadInput: hostile audiences and patches are 4xx with a code,
// never 5xx.
func TestAudienceBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, key := b.newTenant(t, map[string]any{"name": "Bad"})
	id := "01900000-0000-7000-8000-000000000000"
	var tagList []string
	for i := range 51 {
		tagList = append(tagList, fmt.Sprintf(`"t%d"`, i))
	}
	tags51 := strings.Join(tagList, ",")
	deep := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, detail             string
	}{
		{"no audience", "POST", "/v1/audiences/preview", `{}`, 400, "VALIDATION_FAILED", "required"},
		{"empty audience", "POST", "/v1/audiences/preview", `{"audience":{}}`, 400, "VALIDATION_FAILED", "invalid"},
		{"unknown op", "POST", "/v1/audiences/preview", `{"audience":{"where":[{"attribute":"a","op":"between","value":1}]}}`, 400, "VALIDATION_FAILED", "unknown_op"},
		{"unknown field", "POST", "/v1/audiences/preview", `{"audience":{"where":[{"field":"tenant_id","op":"eq","value":"x"}]}}`, 400, "VALIDATION_FAILED", "unknown_field"},
		{"where not a list", "POST", "/v1/audiences/preview", `{"audience":{"where":{"attribute":"a"}}}`, 400, "VALIDATION_FAILED", "invalid_type"},
		{"deep value", "POST", "/v1/audiences/preview", `{"audience":{"where":[{"attribute":"a","op":"eq","value":` + deep + `}]}}`, 400, "VALIDATION_FAILED", "invalid_type"},
		{"huge in", "POST", "/v1/audiences/preview", `{"audience":{"where":[{"attribute":"a","op":"in","value":[` + strings.Repeat(`"x",`, 1000) + `"x"]}]}}`, 400, "VALIDATION_FAILED", "out_of_range"},
		{"NUL tag", "POST", "/v1/audiences/preview", `{"audience":{"tags":{"any":["a\u0000"]}}}`, 400, "VALIDATION_FAILED", "invalid_text"},
		{"bad json", "POST", "/v1/audiences/preview", `{"audience":`, 400, "MALFORMED_JSON", ""},
		{"patch unknown", "PATCH", "/v1/contacts/" + id, `{"name":"x"}`, 404, "NOT_FOUND", ""},
		{"patch bad id", "PATCH", "/v1/contacts/nope", `{"name":"x"}`, 404, "NOT_FOUND", ""},
		{"patch too many tags", "PATCH", "/v1/contacts/" + id, `{"tags":[` + tags51 + `]}`, 400, "VALIDATION_FAILED", "too_many"},
		{"patch tag too long", "PATCH", "/v1/contacts/" + id, `{"tags":["` + strings.Repeat("x", 65) + `"]}`, 400, "VALIDATION_FAILED", "invalid_tag"},
		{"patch nested attribute", "PATCH", "/v1/contacts/" + id, `{"attributes":{"a":{"b":1}}}`, 400, "VALIDATION_FAILED", "invalid_type"},
		{"patch reserved attribute", "PATCH", "/v1/contacts/" + id, `{"attributes":{"phone":"1"}}`, 400, "VALIDATION_FAILED", "reserved"},
		{"patch tags type", "PATCH", "/v1/contacts/" + id, `{"tags":"vip"}`, 400, "VALIDATION_FAILED", "invalid_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.do(t, tc.method, tc.path, key, tc.body)
			if r.Status != tc.status || dig(r.Body, "code") != tc.code {
				t.Fatalf("%s %s %.120s = %d %s; want %d %s", tc.method, tc.path, tc.body, r.Status, r.Raw, tc.status, tc.code)
			}
			if tc.detail != "" {
				details, _ := dig(r.Body, "details").([]any)
				if len(details) == 0 || dig(details[0], "code") != tc.detail {
					t.Fatalf("%.120s: details = %v; want code %s", tc.body, details, tc.detail)
				}
			}
		})
	}
}
