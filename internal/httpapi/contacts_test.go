package httpapi_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

func TestContactRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, key := b.newTenant(t, map[string]any{"name": "Contacts", "defaultCountry": "BR"})
	_, otherKey := b.newTenant(t, map[string]any{"name": "Other"})

	r := b.do(t, "POST", "/v1/contacts", key, map[string]any{"contacts": []any{
		map[string]any{"phone": "(11) 99999-0001", "name": "Ana", "city": "SP", "vip": true, "score": 7, "none": nil},
		map[string]any{"phone": "123"},
		map[string]any{"phone": "+55 11 99999-0002"},
		map[string]any{"phone": "11999990001", "name": "Ana Souza"},
		map[string]any{"name": "no phone"},
	}})
	if r.Status != 200 || dig(r.Body, "data", "imported") != float64(2) || dig(r.Body, "data", "updated") != float64(1) {
		t.Fatalf("POST /v1/contacts = %d %s", r.Status, r.Raw)
	}
	rejected, _ := dig(r.Body, "data", "rejected").([]any)
	if len(rejected) != 2 || dig(rejected[0], "index") != float64(1) || dig(rejected[0], "phone") != "123" || dig(rejected[0], "code") != "too_short" ||
		dig(rejected[1], "index") != float64(4) || dig(rejected[1], "code") != "empty" {
		t.Fatalf("rejected = %s", r.Raw)
	}

	// Pages of one, newest first, with a cursor until the end.
	var phones []string
	cursor := ""
	for range 5 {
		path := "/v1/contacts?limit=1"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r = b.do(t, "GET", path, key, nil)
		items, _ := dig(r.Body, "data", "items").([]any)
		for _, it := range items {
			phones = append(phones, dig(it, "phone").(string))
			if dig(it, "phone") == "5511999990001" {
				if dig(it, "name") != "Ana Souza" || dig(it, "attributes", "city") != "SP" || dig(it, "attributes", "vip") != "true" ||
					dig(it, "attributes", "score") != "7" || dig(it, "optedOutAt") != nil || dig(it, "createdAt") == nil || dig(it, "updatedAt") == nil {
					t.Fatalf("contact = %v", it)
				}
				if _, has := dig(it, "attributes").(map[string]any)["none"]; has {
					t.Fatalf("a null attribute was stored: %v", it)
				}
			}
		}
		next, _ := dig(r.Body, "data", "nextCursor").(string)
		if next == "" {
			break
		}
		cursor = next
	}
	// Both were created by one statement, in the same millisecond: their
	// order is the ids' random part, so compare as a set.
	sort.Strings(phones)
	if fmt.Sprint(phones) != "[5511999990001 5511999990002]" {
		t.Fatalf("pages = %v; want each contact once", phones)
	}

	r = b.do(t, "GET", "/v1/contacts", otherKey, nil)
	if items, _ := dig(r.Body, "data", "items").([]any); len(items) != 0 {
		t.Fatalf("another tenant sees contacts: %s", r.Raw)
	}
	r = b.do(t, "GET", "/v1/contacts?limit=1", key, nil)
	id := dig(r.Body, "data", "items").([]any)[0].(map[string]any)["id"].(string)
	if r := b.do(t, "DELETE", "/v1/contacts/"+id, otherKey, nil); r.Status != 404 {
		t.Fatalf("deleting another tenant's contact = %d %s", r.Status, r.Raw)
	}
	if r := b.do(t, "DELETE", "/v1/contacts/"+id, key, nil); r.Status != 204 || r.Raw != "" {
		t.Fatalf("DELETE = %d %s", r.Status, r.Raw)
	}
	if r := b.do(t, "DELETE", "/v1/contacts/"+id, key, nil); r.Status != 404 || dig(r.Body, "code") != "NOT_FOUND" {
		t.Fatalf("second DELETE = %d %s", r.Status, r.Raw)
	}

	many := make([]any, 1001)
	for i := range many {
		many[i] = map[string]any{"phone": "11999990001"}
	}
	for _, tt := range []struct {
		name string
		body any
		code string
	}{
		{"too many", map[string]any{"contacts": many}, "VALIDATION_FAILED"},
		{"none", map[string]any{"contacts": []any{}}, "VALIDATION_FAILED"},
		{"missing", `{}`, "VALIDATION_FAILED"},
		{"phone not a string", `{"contacts":[{"phone":5511999990001}]}`, "VALIDATION_FAILED"},
		{"attribute object", `{"contacts":[{"phone":"11999990001","x":{"a":1}}]}`, "VALIDATION_FAILED"},
		{"contact not an object", `{"contacts":["11999990001"]}`, "VALIDATION_FAILED"},
		{"malformed", `{"contacts":[`, "MALFORMED_JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, "POST", "/v1/contacts", key, tt.body)
			if r.Status/100 != 4 || dig(r.Body, "code") != tt.code {
				t.Fatalf("POST /v1/contacts %s = %d %s; want %s", tt.name, r.Status, r.Raw, tt.code)
			}
		})
	}
	if r := b.do(t, "GET", "/v1/contacts?importId=nope", key, nil); r.Status != 400 || !strings.Contains(r.Raw, "importId") {
		t.Fatalf("bad importId = %d %s", r.Status, r.Raw)
	}
}
