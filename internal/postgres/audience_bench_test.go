package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// BenchmarkAudiencePreview previews audiences of a tenant of 1,000,000
// contacts (made by one INSERT … SELECT generate_series, then VACUUM
// ANALYZE, the state autovacuum leaves after an import) beside a second
// tenant of 100,000. Each contact has two tags of 20 and 7 (1% also "vip")
// and city, score and plan attributes. The target: a preview (count plus
// sample) under 200 ms. Per audience it prints ms/preview (the mean, with
// the default count budget), estimate (1 when that preview's count was an
// estimate), contacts (its count) and ms/exact (the mean of the same
// previews with an unbounded budget, so always exact).
//
//	make bench-audience
func BenchmarkAudiencePreview(b *testing.B) {
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	exact, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 4, AudienceCountBudget: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer exact.Close()
	big := seedAudienceTenant(b, db, "Big", 1_000_000)
	seedAudienceTenant(b, db, "Neighbour", 100_000)
	if _, err := db.Pool.Exec(ctx, `VACUUM ANALYZE contacts`); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, audience string }{
		{"tag_vip_and_city", `{"tags":{"any":["vip"]},"where":[{"attribute":"city","op":"eq","value":"SP"}]}`},
		{"tags_all_and_score_gt", `{"tags":{"all":["t3","g2"]},"where":[{"attribute":"score","op":"gt","value":500}]}`},
		{"city_eq", `{"where":[{"attribute":"city","op":"eq","value":"Recife"}]}`},
		{"city_in_and_tag_none", `{"tags":{"none":["g1"]},"where":[{"attribute":"city","op":"in","value":["SP","RJ"]}]}`},
		{"tags_any_common", `{"tags":{"any":["t1","t2","t3","t4","t5"]}}`},
		{"all", `{"all":true}`},
		{"all_not_messaged_30d", `{"all":true,"excludeMessagedWithinDays":30}`},
	} {
		var a audience.Audience
		if err := json.Unmarshal([]byte(tc.audience), &a); err != nil {
			b.Fatal(err)
		}
		var v errcode.Validator
		if a.Validate(&v, "audience"); v.Err() != nil {
			b.Fatal(v.Err())
		}
		b.Run(tc.name, func(b *testing.B) {
			var p postgres.Preview
			estimates := 0
			start := time.Now()
			for b.Loop() {
				if p, err = db.PreviewAudience(ctx, big, a); err != nil {
					b.Fatal(err)
				}
				if p.CountIsEstimate {
					estimates++
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/preview")
			b.ReportMetric(float64(estimates)/float64(b.N), "estimate")
			b.ReportMetric(float64(p.Count), "contacts")
			start = time.Now()
			for range b.N {
				if _, err := exact.PreviewAudience(ctx, big, a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/exact")
		})
	}
}

func seedAudienceTenant(b *testing.B, db *postgres.DB, name string, n int) string {
	b.Helper()
	ctx := context.Background()
	tn, _, err := db.CreateTenant(ctx, tenant.Tenant{Name: name, Plan: tenant.PlanEnterprise, DefaultCountry: "BR", Timezone: "UTC"})
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, name, tags, attributes)
SELECT $1, (5511900000000 + i)::text, 'Contact ' || i,
       CASE WHEN i % 100 = 0 THEN ARRAY['t' || i % 20, 'g' || i % 7, 'vip'] ELSE ARRAY['t' || i % 20, 'g' || i % 7] END,
       jsonb_build_object('city', (ARRAY['SP','RJ','BH','Recife','POA','Salvador','Curitiba','Manaus','Belem','Natal'])[1 + i % 10],
                          'score', (i % 1000)::text, 'plan', (ARRAY['free','pro','gold'])[1 + i % 3])
FROM generate_series(1, $2::int) AS i`, tn.ID, n)
	if err != nil {
		b.Fatal(err)
	}
	return tn.ID
}
