package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestPreviewAudience runs each audience rule against real contacts: each
// row fails when its rule is compiled wrongly or dropped.
func TestPreviewAudience(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tn, other := newTenant(t, db, "Aud"), newTenant(t, db, "Other")
	contacts := []importer.Contact{
		{Phone: "5511900000001", Name: "Ana", Tags: []string{"vip", "sp"}, Attributes: map[string]string{"city": "SP", "score": "10", "plan": "gold"}},
		{Phone: "5511900000002", Name: "Bia", Tags: []string{"sp"}, Attributes: map[string]string{"city": "SP", "score": "9"}},
		{Phone: "5511900000003", Name: "Caio", Tags: []string{"rj", "vip"}, Attributes: map[string]string{"city": "RJ", "score": "abc"}},
		{Phone: "5511900000004", Name: "Duda", Attributes: map[string]string{"city": "BH", "score": "100"}},
		{Phone: "5511900000005", Name: "Eva", Tags: []string{"vip"}},
	}
	if _, _, err := db.UpsertContacts(ctx, tn.ID, contacts); err != nil {
		t.Fatal(err)
	}
	// Another tenant's identical contact must never be counted.
	if _, _, err := db.UpsertContacts(ctx, other.ID, contacts[:1]); err != nil {
		t.Fatal(err)
	}
	// Eva opted out: counted apart, never sampled.
	if _, err := db.Pool.Exec(ctx, `UPDATE contacts SET opted_out_at = now() WHERE tenant_id = $1 AND phone = '5511900000005'`, tn.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		audience string
		want     string // phones' last digit, sorted, of messageable contacts
		optedOut int
	}{
		{"all", `{"all":true}`, "1234", 1},
		{"tags any", `{"tags":{"any":["rj","sp"]}}`, "123", 0},
		{"tags all", `{"tags":{"all":["vip","sp"]}}`, "1", 0},
		{"tags none", `{"all":true,"tags":{"none":["vip"]}}`, "24", 0},
		{"tags any with opted out", `{"tags":{"any":["vip"]}}`, "13", 1},
		{"eq", `{"where":[{"attribute":"city","op":"eq","value":"SP"}]}`, "12", 0},
		{"eq number as text", `{"where":[{"attribute":"score","op":"eq","value":10}]}`, "1", 0},
		{"neq includes missing", `{"where":[{"attribute":"city","op":"neq","value":"SP"}]}`, "34", 1},
		{"in", `{"where":[{"attribute":"city","op":"in","value":["RJ","BH"]}]}`, "34", 0},
		{"exists", `{"where":[{"attribute":"plan","op":"exists"}]}`, "1", 0},
		{"gt number skips text", `{"where":[{"attribute":"score","op":"gt","value":9.5}]}`, "14", 0},
		{"lt number", `{"where":[{"attribute":"score","op":"lt","value":10}]}`, "2", 0},
		{"gt text", `{"where":[{"attribute":"city","op":"gt","value":"RJ"}]}`, "12", 0},
		{"field name eq", `{"where":[{"field":"name","op":"eq","value":"Caio"}]}`, "3", 0},
		{"field phone in", `{"where":[{"field":"phone","op":"in","value":["5511900000004","5511900000001"]}]}`, "14", 0},
		{"field createdAt lt", `{"where":[{"field":"createdAt","op":"lt","value":"2000-01-01T00:00:00Z"}]}`, "", 0},
		{"anded", `{"tags":{"any":["vip","sp"]},"where":[{"attribute":"city","op":"eq","value":"SP"},{"attribute":"score","op":"gt","value":9}]}`, "1", 0},
		// Hostile text is data: it matches nothing and changes nothing.
		{"injection in value", `{"where":[{"attribute":"city","op":"eq","value":"SP' OR '1'='1"}]}`, "", 0},
		{"injection in attribute", `{"where":[{"attribute":"city') OR true; DROP TABLE contacts; --","op":"exists"}]}`, "", 0},
		{"injection in tag", `{"tags":{"any":["x'}; DELETE FROM contacts; --"]}}`, "", 0},
		{"injection in gt", `{"where":[{"attribute":"score","op":"gt","value":"1'::numeric OR 1=1 --"}]}`, "1234", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a audience.Audience
			if err := json.Unmarshal([]byte(tc.audience), &a); err != nil {
				t.Fatal(err)
			}
			var v errcode.Validator
			a.Validate(&v, "audience")
			if err := v.Err(); err != nil {
				t.Fatalf("validate %s: %v", tc.audience, err)
			}
			p, err := db.PreviewAudience(ctx, tn.ID, a)
			if err != nil {
				t.Fatalf("preview %s: %v", tc.audience, err)
			}
			var got []string
			for _, c := range p.Sample {
				got = append(got, c.Phone[len(c.Phone)-1:])
			}
			sort.Strings(got)
			if strings.Join(got, "") != tc.want || p.Count != len(tc.want) || p.OptedOut != tc.optedOut {
				t.Fatalf("%s: count %d, opted out %d, sample %v; want %q and %d opted out", tc.audience, p.Count, p.OptedOut, got, tc.want, tc.optedOut)
			}
		})
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&n); err != nil || n != 6 {
		t.Fatalf("contacts after hostile audiences = %d, %v; want 6", n, err)
	}
}

// TestPreviewSampleIsBounded: the sample holds at most ten contacts while
// count holds them all.
func TestPreviewSampleIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tn := newTenant(t, db, "Many")
	var cs []importer.Contact
	for i := range 25 {
		cs = append(cs, importer.Contact{Phone: fmt.Sprintf("55119000001%02d", i), Tags: []string{"t"}})
	}
	if _, _, err := db.UpsertContacts(ctx, tn.ID, cs); err != nil {
		t.Fatal(err)
	}
	p, err := db.PreviewAudience(ctx, tn.ID, audience.Audience{Tags: &audience.Tags{Any: []string{"t"}}})
	if err != nil || p.Count != 25 || len(p.Sample) != audience.MaxSample {
		t.Fatalf("preview = %d contacts, %d sampled, %v; want 25 and %d", p.Count, len(p.Sample), err, audience.MaxSample)
	}
}

// TestExcludeMessagedWithinDays leaves out contacts a campaign of the tenant
// sent to inside the window, and only those.
func TestExcludeMessagedWithinDays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tn := newTenant(t, db, "Recent")
	cs := []importer.Contact{{Phone: "5511900000001"}, {Phone: "5511900000002"}, {Phone: "5511900000003"}}
	if _, _, err := db.UpsertContacts(ctx, tn.ID, cs); err != nil {
		t.Fatal(err)
	}
	var inst, campaignID string
	if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, 'wa', 'http://wuzapi.test', 'tok', '\x00') RETURNING id`, tn.ID).Scan(&inst); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `INSERT INTO campaigns (tenant_id, instance_id, name, message, status)
		VALUES ($1, $2, 'c', 'hi', 'completed') RETURNING id`, tn.ID, inst).Scan(&campaignID); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, sent := range []time.Time{now.Add(-24 * time.Hour), now.Add(-10 * 24 * time.Hour)} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, status, sent_at)
			VALUES ($1, $2, $3, 'sent', $4)`, campaignID, cs[i].Phone, i, sent); err != nil {
			t.Fatal(err)
		}
	}
	// The count subtracts messaged and opted-out matches: an opted-out
	// contact that was messaged (1) and one that was not (4) are each
	// subtracted once.
	if _, _, err := db.UpsertContacts(ctx, tn.ID, []importer.Contact{{Phone: "5511900000004"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE contacts SET opted_out_at = now() WHERE tenant_id = $1 AND phone IN ('5511900000001', '5511900000004')`, tn.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ days, want, optedOut int }{{0, 2, 2}, {3, 2, 1}, {30, 1, 1}} {
		p, err := db.PreviewAudience(ctx, tn.ID, audience.Audience{All: true, ExcludeMessagedWithinDays: tc.days})
		if err != nil || p.Count != tc.want || p.OptedOut != tc.optedOut || p.CountIsEstimate {
			t.Fatalf("excludeMessagedWithinDays %d = %+v, %v; want count %d, optedOut %d, exact", tc.days, p, err, tc.want, tc.optedOut)
		}
	}
}

// TestPreviewEstimatesOverBudget: an exact count that cannot finish within
// the count budget gives way to an estimate from a sample of pages, flagged
// as one and near the truth; the sample of contacts stays exact.
func TestPreviewEstimatesOverBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{MaxConns: 2, AudienceCountBudget: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tn := newTenant(t, db, "Broad")
	// 60,000 contacts, half of them in SP, every tenth opted out: a bitmap
	// count over them takes far longer than 1 ms.
	if _, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, tags, attributes, opted_out_at)
SELECT $1, (5511900000000 + i)::text, ARRAY['t' || i % 3], jsonb_build_object('city', CASE WHEN i % 2 = 0 THEN 'SP' ELSE 'RJ' END),
       CASE WHEN i % 10 = 1 THEN now() END
FROM generate_series(1, 60000) AS i`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `VACUUM ANALYZE contacts`); err != nil {
		t.Fatal(err)
	}
	var a audience.Audience
	if err := json.Unmarshal([]byte(`{"tags":{"any":["t0","t1"]},"where":[{"attribute":"city","op":"eq","value":"RJ"}]}`), &a); err != nil {
		t.Fatal(err)
	}
	var v errcode.Validator
	if a.Validate(&v, "audience"); v.Err() != nil {
		t.Fatal(v.Err())
	}
	p, err := db.PreviewAudience(ctx, tn.ID, a)
	if err != nil {
		t.Fatal(err)
	}
	var want, wantOut int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE opted_out_at IS NULL), count(*) FILTER (WHERE opted_out_at IS NOT NULL)
		FROM contacts WHERE tenant_id = $1 AND tags && '{t0,t1}' AND attributes->>'city' = 'RJ'`, tn.ID).Scan(&want, &wantOut); err != nil {
		t.Fatal(err)
	}
	// The sample walks the tenant's newest contacts: the newest matches.
	rows, err := db.Pool.Query(ctx, `SELECT id::text FROM contacts WHERE tenant_id = $1 AND tags && '{t0,t1}' AND attributes->>'city' = 'RJ'
		AND opted_out_at IS NULL ORDER BY id DESC LIMIT 10`, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	newest, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Sample {
		if i >= len(newest) || c.ID != newest[i] {
			t.Fatalf("sample[%d] = %s, want the newest matches %v", i, c.ID, newest)
		}
	}
	near := func(got, want int) bool { return math.Abs(float64(got-want)) <= 0.1*float64(want) }
	if !p.CountIsEstimate || !near(p.Count, want) || !near(p.OptedOut, wantOut) || len(p.Sample) != audience.MaxSample {
		t.Fatalf("preview over budget = count %d, optedOut %d, estimate %v, %d sampled; want an estimate near %d and %d, %d sampled",
			p.Count, p.OptedOut, p.CountIsEstimate, len(p.Sample), want, wantOut, audience.MaxSample)
	}

	// An audience of index-only counts is always exact, whatever the budget.
	all, err := db.PreviewAudience(ctx, tn.ID, audience.Audience{All: true})
	if err != nil || all.CountIsEstimate || all.Count != 54000 || all.OptedOut != 6000 {
		t.Fatalf("all over budget = %+v, %v; want exactly 54,000 and 6,000 opted out", all, err)
	}

	// excludeMessagedWithinDays: the messaged matches (the messageable ones
	// with i <= 36,000: 3/5 of them) are taken off exactly.
	var inst, campaignID string
	if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, 'wa', 'http://wuzapi.test', 'tok', '\x00') RETURNING id`, tn.ID).Scan(&inst); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `INSERT INTO campaigns (tenant_id, instance_id, name, message, status)
		VALUES ($1, $2, 'c', 'hi', 'completed') RETURNING id`, tn.ID, inst).Scan(&campaignID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, status, sent_at)
		SELECT $1, (5511900000000 + i)::text, i, 'sent', now() - interval '1 day' FROM generate_series(1, 36000) AS i
		WHERE i % 2 = 1 AND i % 3 <> 2 AND i % 10 <> 1`, campaignID); err != nil {
		t.Fatal(err)
	}
	a.ExcludeMessagedWithinDays = 7
	if p, err = db.PreviewAudience(ctx, tn.ID, a); err != nil {
		t.Fatal(err)
	}
	if !p.CountIsEstimate || !near(p.Count, want*2/5) || !near(p.OptedOut, wantOut) {
		t.Fatalf("preview over budget without the messaged = count %d, optedOut %d, estimate %v; want an estimate near %d and %d",
			p.Count, p.OptedOut, p.CountIsEstimate, want*2/5, wantOut)
	}
}

// TestUpdateContact: PATCH semantics on the store, tenant scoping, and an
// opt-out that survives.
func TestUpdateContact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tn, other := newTenant(t, db, "Upd"), newTenant(t, db, "Other")
	if _, _, err := db.UpsertContacts(ctx, tn.ID, []importer.Contact{{Phone: "5511900000001", Name: "Ana",
		Tags: []string{"a"}, Attributes: map[string]string{"city": "SP", "keep": "1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE contacts SET opted_out_at = now()`); err != nil {
		t.Fatal(err)
	}
	c, err := db.ContactByPhone(ctx, tn.ID, "5511900000001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateContact(ctx, other.ID, c.ID, postgres.ContactPatch{Tags: []string{}}); !errors.Is(err, errcode.ErrNotFound) {
		t.Fatalf("update of another tenant's contact = %v; want NOT_FOUND", err)
	}
	bia, sp := "Bia", "RJ"
	got, err := db.UpdateContact(ctx, tn.ID, c.ID, postgres.ContactPatch{Name: &bia, Tags: []string{"b", "c"},
		Attributes: map[string]*string{"city": &sp, "keep": nil, "new": &sp}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Bia" || fmt.Sprint(got.Tags) != "[b c]" || fmt.Sprint(got.Attributes) != "map[city:RJ new:RJ]" || got.OptedOutAt == nil {
		t.Fatalf("updated = %+v", got)
	}
	// Nothing given changes nothing but updated_at.
	got, err = db.UpdateContact(ctx, tn.ID, c.ID, postgres.ContactPatch{})
	if err != nil || got.Name != "Bia" || fmt.Sprint(got.Tags) != "[b c]" {
		t.Fatalf("empty patch = %+v, %v", got, err)
	}
	// An upsert with tags replaces them; one without keeps them.
	if _, _, err := db.UpsertContacts(ctx, tn.ID, []importer.Contact{{Phone: "5511900000001", Tags: []string{"d"}}, {Phone: "5511900000001"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.ContactByPhone(ctx, tn.ID, "5511900000001"); fmt.Sprint(got.Tags) != "[d]" || got.OptedOutAt == nil {
		t.Fatalf("after upserts = %+v", got)
	}
}

// TestTagFiltersUseTheTaggedIndex: the tags index holds only contacts with
// tags, so an audience's tags filter (any, all) must say so for the planner
// to read it; without that predicate the plan falls back to the tenant's
// every contact.
func TestTagFiltersUseTheTaggedIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tn := newTenant(t, db, "Tagged")
	// 20,000 contacts, 1 % tagged vip, the rest without tags (an import
	// without a tags column).
	if _, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, tags)
SELECT $1, (5511900000000 + i)::text, CASE WHEN i % 100 = 0 THEN ARRAY['vip', 'g' || i % 7] ELSE '{}' END
FROM generate_series(1, 20000) AS i`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `ANALYZE contacts`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		audience string
		want     int
	}{
		{`{"tags":{"any":["vip"]}}`, 200},
		{`{"tags":{"all":["vip","g3"]}}`, 28},
	} {
		var a audience.Audience
		if err := json.Unmarshal([]byte(tc.audience), &a); err != nil {
			t.Fatal(err)
		}
		where, args := postgres.AudienceFilter(tn.ID, a)
		var plan strings.Builder
		rows, err := db.Pool.Query(ctx, "EXPLAIN SELECT count(*) FROM contacts c WHERE "+where, args...)
		if err != nil {
			t.Fatal(err)
		}
		var line string
		if _, err := pgx.ForEachRow(rows, []any{&line}, func() error { plan.WriteString(line + "\n"); return nil }); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan.String(), "contacts_tenant_tagged_idx") {
			t.Errorf("%s: the plan does not read the tagged contacts' index:\n%s", tc.audience, plan.String())
		}
		var n int
		if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM contacts c WHERE "+where, args...).Scan(&n); err != nil || n != tc.want {
			t.Errorf("%s: count = %d (%v), want %d", tc.audience, n, err, tc.want)
		}
	}
}

// TestAttributeFiltersUseTheAttributedIndex: the attributes index holds only
// contacts with attributes, so an audience's attribute filter that can use
// it (exists, eq) must say so for the planner to read it; without that
// predicate the plan falls back to the tenant's every contact.
func TestAttributeFiltersUseTheAttributedIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	tn := newTenant(t, db, "Attributed")
	// 20,000 contacts, 1 % with a city (a tenth of them Recife), the rest
	// without attributes (an import of phone and name only).
	if _, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, attributes)
SELECT $1, (5511900000000 + i)::text,
       CASE WHEN i % 100 = 0 THEN jsonb_build_object('city', CASE WHEN i % 1000 = 0 THEN 'Recife' ELSE 'SP' END) ELSE '{}' END
FROM generate_series(1, 20000) AS i`, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `ANALYZE contacts`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		audience string
		want     int
	}{
		{`{"where":[{"attribute":"city","op":"exists"}]}`, 200},
		{`{"where":[{"attribute":"city","op":"eq","value":"Recife"}]}`, 20},
	} {
		var a audience.Audience
		if err := json.Unmarshal([]byte(tc.audience), &a); err != nil {
			t.Fatal(err)
		}
		var v errcode.Validator
		if a.Validate(&v, "audience"); v.Err() != nil {
			t.Fatal(v.Err())
		}
		where, args := postgres.AudienceFilter(tn.ID, a)
		var plan strings.Builder
		rows, err := db.Pool.Query(ctx, "EXPLAIN SELECT count(*) FROM contacts c WHERE "+where, args...)
		if err != nil {
			t.Fatal(err)
		}
		var line string
		if _, err := pgx.ForEachRow(rows, []any{&line}, func() error { plan.WriteString(line + "\n"); return nil }); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan.String(), "contacts_tenant_attributed_idx") {
			t.Errorf("%s: the plan does not read the attributed contacts' index:\n%s", tc.audience, plan.String())
		}
		var n int
		if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM contacts c WHERE "+where, args...).Scan(&n); err != nil || n != tc.want {
			t.Errorf("%s: count = %d (%v), want %d", tc.audience, n, err, tc.want)
		}
	}
	// neq reads no index and still matches the contacts without attributes.
	var a audience.Audience
	if err := json.Unmarshal([]byte(`{"where":[{"attribute":"city","op":"neq","value":"Recife"}]}`), &a); err != nil {
		t.Fatal(err)
	}
	var v errcode.Validator
	if a.Validate(&v, "audience"); v.Err() != nil {
		t.Fatal(v.Err())
	}
	where, args := postgres.AudienceFilter(tn.ID, a)
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM contacts c WHERE "+where, args...).Scan(&n); err != nil || n != 20000-20 {
		t.Errorf("neq: count = %d (%v), want %d", n, err, 20000-20)
	}
}
