package httpapi_test

import (
	"fmt"
	"sync"
	"testing"
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
