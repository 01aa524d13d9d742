package limit_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit/limittest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// countedAPI is an API limiter whose Redis commands are counted, with an
// hour's window (no refill during the test) and small allowances.
func countedAPI(t *testing.T, allowance map[tenant.Plan]int) (apiBundle, *limittest.Commands) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	cc := &limittest.Commands{}
	rdb.AddHook(cc)
	b := setupAPI(t, func(o *limit.APIOptions) {
		o.Redis = rdb
		o.Period = time.Hour
		o.PerMinute = func(p tenant.Plan) int { return allowance[p] }
	})
	return b, cc
}

// TestReadsSpendAHeldBatch: a tenant's reads under the largest plan take
// their allowance from Redis in batches and spend it in-process: far fewer
// round trips, every request answered with the count Redis would give
// (Remaining one less each time), exactly the allowance let through; a
// second instance sees the batches counted at once.
func TestReadsSpendAHeldBatch(t *testing.T) {
	t.Parallel()
	b, cc := countedAPI(t, map[tenant.Plan]int{tenant.PlanFree: 10, tenant.PlanPro: 20, tenant.PlanEnterprise: 100})
	ctx := context.Background()
	id := uuid.NewString()
	b.plans.set(id, tenant.PlanEnterprise)
	cc.Take()
	for i := 1; i <= 100; i++ {
		r := b.api.TenantRead(ctx, id)
		if !r.Allowed || r.FailedOpen || r.Limit != 100 || r.Remaining != 100-i || r.Plan != tenant.PlanEnterprise ||
			r.ResetAfter < time.Duration(i)*36*time.Second-10*time.Second || r.ResetAfter > time.Hour {
			t.Fatalf("read %d = %+v, want allowed with %d remaining", i, r, 100-i)
		}
	}
	calls := cc.Take()
	if calls["evalsha"] > 12 || calls["evalsha"] < 2 {
		t.Fatalf("100 reads sent %v, want a batch a round trip (1, 2, 4, 8, then 16 at a time)", calls)
	}
	for i := range 3 {
		if r := b.api.TenantRead(ctx, id); r.Allowed || r.Remaining != 0 {
			t.Fatalf("read %d over the allowance: %+v", 101+i, r)
		}
	}

	// Another tenant: a second instance asks while the first holds a batch.
	id2 := uuid.NewString()
	b.plans.set(id2, tenant.PlanEnterprise)
	var last limit.Result
	for range 8 { // 1, 2, 4 and one of a batch of 8
		last = b.api.TenantRead(ctx, id2)
	}
	if last.Remaining != 92 {
		t.Fatalf("8th read = %+v, want 92 remaining", last)
	}
	if r := b.another().TenantRead(ctx, id2); !r.Allowed || r.Remaining != 100-1-2-4-8-1 {
		t.Fatalf("the second instance's read = %+v, want the held batch counted (%d remaining)", r, 100-1-2-4-8-1)
	}

	// Writes, and reads under a plan that has a larger one above it, ask
	// Redis every time.
	pro := uuid.NewString()
	b.plans.set(pro, tenant.PlanPro)
	b.api.TenantRead(ctx, pro) // the plan read from Postgres
	cc.Take()
	for range 3 {
		b.api.Tenant(ctx, id2)
	}
	for range 5 {
		b.api.TenantRead(ctx, pro)
	}
	if calls := cc.Take(); calls["evalsha"] != 8 {
		t.Fatalf("3 writes and 5 pro reads sent %v, want 8 evalsha", calls)
	}
}

// TestHeldBatchEndsWithTheHoldAndThePlan: a held batch is spent only within
// the hold, and dropped on the instance that changes the tenant's plan;
// what lapsed stays counted.
func TestHeldBatchEndsWithTheHoldAndThePlan(t *testing.T) {
	t.Parallel()
	b, cc := countedAPI(t, map[tenant.Plan]int{tenant.PlanFree: 10, tenant.PlanPro: 20, tenant.PlanEnterprise: 100})
	ctx := context.Background()
	id := uuid.NewString()
	b.plans.set(id, tenant.PlanEnterprise)
	for range 4 { // 1, then a batch of 2 (spent), then one of a batch of 4
		b.api.TenantRead(ctx, id)
	}
	cc.Take()
	b.clock.Add(limit.DefaultHold)
	r := b.api.TenantRead(ctx, id)
	if calls := cc.Take(); calls["evalsha"] != 1 {
		t.Fatalf("a read after the hold sent %v, want Redis asked", calls)
	}
	// 1 + 2 + 4 taken, 3 of the 4 lapsed, then a batch of one (what was
	// spent of the lapsed one).
	if !r.Allowed || r.Remaining != 100-1-2-4-1 {
		t.Fatalf("read after the hold = %+v, want %d remaining (the lapsed requests counted)", r, 100-1-2-4-1)
	}
	for range 3 { // batches of 2, then 4
		b.api.TenantRead(ctx, id)
	}
	b.plans.set(id, tenant.PlanEnterprise)
	if err := b.api.InvalidatePlan(ctx, id); err != nil {
		t.Fatal(err)
	}
	cc.Take()
	if b.api.TenantRead(ctx, id); cc.Take()["evalsha"] == 0 {
		t.Fatal("a held batch outlived the tenant's plan change on this instance")
	}
}

// TestHeldBatchesKeepTheAllowanceExact: two instances' reads hammering one
// tenant let through its allowance, not more (every held request was
// counted before it was served), and not fewer but for batches left held.
func TestHeldBatchesKeepTheAllowanceExact(t *testing.T) {
	t.Parallel()
	b := setupAPI(t, func(o *limit.APIOptions) { o.Period = time.Hour })
	id := uuid.NewString()
	b.plans.set(id, tenant.PlanEnterprise)
	apis := []*limit.API{b.api, b.another()}
	var n atomic.Int64
	start := time.Now()
	got := hammer(t, 8, 500, func() limit.Result {
		// The goroutines' checks alternate between the two instances.
		return apis[n.Add(1)%2].TenantRead(context.Background(), id)
	})
	refill := int64(time.Since(start)*2000/time.Hour) + 1
	if got > 2000+refill || got < 2000-2*limit.DefaultHoldBatch {
		t.Fatalf("%d of 4000 reads allowed, want 2000 (+%d refill, -%d held at most)", got, refill, 2*limit.DefaultHoldBatch)
	}
}
