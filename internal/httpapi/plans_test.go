package httpapi_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// wantPlanLimit fails unless r is 403 PLAN_LIMIT whose detail names limit.
func wantPlanLimit(t *testing.T, what string, r reply, limit string) {
	t.Helper()
	d, _ := dig(r.Body, "details").([]any)
	if r.Status != 403 || dig(r.Body, "code") != "PLAN_LIMIT" || len(d) == 0 || dig(d[0], "field") != limit {
		t.Fatalf("%s = %d %.300s; want 403 PLAN_LIMIT naming %s", what, r.Status, r.Raw, limit)
	}
}

// concurrently runs two calls of do at once and returns their statuses.
func concurrently(do func(i int) reply) [2]int {
	var wg sync.WaitGroup
	var out [2]int
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = do(i).Status
		}()
	}
	wg.Wait()
	return out
}

func TestPlanCapsInstances(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t) // a free tenant: 2 instances
	b.newInstance(t, map[string]any{"name": "one"})
	// At the cap minus one, two concurrent creates: one wins.
	got := concurrently(func(i int) reply {
		return b.do(t, "POST", "/v1/instances", b.key, map[string]any{"name": fmt.Sprint("race", i), "baseUrl": b.fake.URL, "token": "tok"})
	})
	if !(got == [2]int{201, 403} || got == [2]int{403, 201}) {
		t.Fatalf("two concurrent creates at 1 of 2 = %v; want one 201 and one 403", got)
	}
	r := b.do(t, "POST", "/v1/instances", b.key, map[string]any{"name": "three", "baseUrl": b.fake.URL, "token": "tok"})
	wantPlanLimit(t, "third instance on free", r, "instances")
	if r := b.do(t, "GET", "/v1/instances", b.key, nil); len(dig(r.Body, "data", "items").([]any)) != 2 {
		t.Fatalf("instances = %.300s; want 2", r.Raw)
	}
}

// A free tenant holds at most 5 open campaigns (scheduled, queued, running
// or paused): at 4, two concurrent creates let one through; the next is
// 403 PLAN_LIMIT naming openCampaigns; an Idempotency-Key replay is still
// answered; a cancelled campaign frees its place.
func TestPlanCapsOpenCampaigns(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t) // a free tenant: 5 open campaigns
	inst := b.newInstance(t, nil)["id"].(string)
	body := func(i int) string {
		return fmt.Sprintf(`{"instanceId":%q,"message":"hi %d","contacts":["551199999%04d"]}`, inst, i, i)
	}
	var first string
	for i := range 4 {
		r := b.doKey(t, "/v1/campaigns", fmt.Sprint("key-", i), body(i))
		if r.Status != 202 {
			t.Fatalf("campaign %d = %d %.300s", i, r.Status, r.Raw)
		}
		if i == 0 {
			first = dig(r.Body, "data", "jobId").(string)
		}
	}
	got := concurrently(func(i int) reply { return b.doKey(t, "/v1/campaigns", fmt.Sprint("race-", i), body(10+i)) })
	if !(got == [2]int{202, 403} || got == [2]int{403, 202}) {
		t.Fatalf("two concurrent creates at 4 of 5 = %v; want one 202 and one 403", got)
	}
	wantPlanLimit(t, "sixth open campaign on free", b.doKey(t, "/v1/campaigns", "key-6", body(6)), "openCampaigns")
	if r := b.doKey(t, "/v1/campaigns", "key-0", body(0)); r.Status != 202 || dig(r.Body, "data", "jobId") != first {
		t.Fatalf("replay at the cap = %d %.300s; want the first answer again", r.Status, r.Raw)
	}
	if r := b.do(t, "POST", "/v1/campaigns/"+first+"/cancel", b.key, nil); r.Status != 200 {
		t.Fatalf("cancel = %d %.300s", r.Status, r.Raw)
	}
	if r := b.doKey(t, "/v1/campaigns", "key-7", body(7)); r.Status != 202 {
		t.Fatalf("create after a cancel freed a place = %d %.300s", r.Status, r.Raw)
	}
}

// Re-sending a finished campaign opens it again, so it meets the cap on
// open campaigns like a create: at the cap it is 403 PLAN_LIMIT and
// nothing changes (the campaign stays completed, its recipients failed);
// once a place is free it goes through.
func TestPlanCapsResendOfFinishedCampaign(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	b := setupCampaigns(t, func(o *httpapi.Options) { db = o.DB }) // a free tenant: 5 open campaigns
	inst := b.newInstance(t, nil)["id"].(string)
	body := func(i int) string {
		return fmt.Sprintf(`{"instanceId":%q,"message":"hi %d","contacts":["551199999%04d"]}`, inst, i, i)
	}
	r := b.doKey(t, "/v1/campaigns", "done", body(0))
	if r.Status != 202 {
		t.Fatalf("campaign = %d %.300s", r.Status, r.Raw)
	}
	done := dig(r.Body, "data", "jobId").(string)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET status = 'failed' WHERE campaign_id = $1`, done); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE campaigns SET status = 'completed', finished_at = now() WHERE id = $1`, done); err != nil {
		t.Fatal(err)
	}
	var open []string
	for i := range 5 {
		r := b.doKey(t, "/v1/campaigns", fmt.Sprint("open-", i), body(1+i))
		if r.Status != 202 {
			t.Fatalf("open campaign %d = %d %.300s", i, r.Status, r.Raw)
		}
		open = append(open, dig(r.Body, "data", "jobId").(string))
	}
	wantPlanLimit(t, "resend of a completed campaign at 5 of 5 open",
		b.do(t, "POST", "/v1/campaigns/"+done+"/resend", b.key, `{"statuses":["failed"]}`), "openCampaigns")
	r = b.do(t, "GET", "/v1/campaigns/"+done, b.key, nil)
	if dig(r.Body, "data", "state") != "completed" || dig(r.Body, "data", "counts", "failed") != 1.0 {
		t.Fatalf("campaign after a refused resend = %.400s; want completed with its failed recipient", r.Raw)
	}
	if r := b.do(t, "POST", "/v1/campaigns/"+open[0]+"/cancel", b.key, nil); r.Status != 200 {
		t.Fatalf("cancel = %d %.300s", r.Status, r.Raw)
	}
	r = b.do(t, "POST", "/v1/campaigns/"+done+"/resend", b.key, `{"statuses":["failed"]}`)
	if r.Status != 202 || dig(r.Body, "data", "status") != "queued" || dig(r.Body, "data", "resent") != 1.0 {
		t.Fatalf("resend once a place is free = %d %.300s", r.Status, r.Raw)
	}
	// A campaign that is still open re-sends without meeting the cap.
	if _, err := db.Pool.Exec(ctx, `UPDATE campaign_recipients SET status = 'failed' WHERE campaign_id = $1`, open[1]); err != nil {
		t.Fatal(err)
	}
	if r := b.do(t, "POST", "/v1/campaigns/"+open[1]+"/resend", b.key, `{"statuses":["failed"]}`); r.Status != 202 {
		t.Fatalf("resend of an open campaign at the cap = %d %.300s", r.Status, r.Raw)
	}
}
