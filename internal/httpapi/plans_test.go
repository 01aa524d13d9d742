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
