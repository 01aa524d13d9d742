package limit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit/limittest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// sharedRedis is the local Redis every test shares; each test keeps to keys
// under its own random prefix.
func sharedRedis(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", PoolSize: 64})
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis on 127.0.0.1:6379: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

// plans is a fake Postgres: tenant plans, with a count of reads.
type plans struct {
	mu    sync.Mutex
	plan  map[string]tenant.Plan
	reads atomic.Int64
	// during, when set, runs inside the next read (a concurrent admin change).
	during func()
}

func (p *plans) set(id string, pl tenant.Plan) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plan[id] = pl
}

func (p *plans) load(_ context.Context, id string) (tenant.Plan, error) {
	p.reads.Add(1)
	p.mu.Lock()
	pl, ok := p.plan[id]
	during := p.during
	p.during = nil
	p.mu.Unlock()
	if during != nil {
		during()
	}
	if !ok {
		return "", errors.New("no such tenant")
	}
	return pl, nil
}

// clock is an injected clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type apiBundle struct {
	api     *limit.API
	plans   *plans
	metrics *telemetry.Metrics
	clock   *clock
	opts    limit.APIOptions
}

func setupAPI(t *testing.T, mutate ...func(*limit.APIOptions)) apiBundle {
	t.Helper()
	b := apiBundle{plans: &plans{plan: map[string]tenant.Plan{}}, metrics: telemetry.NewMetrics(), clock: newClock()}
	b.opts = limit.APIOptions{
		Redis:   sharedRedis(t),
		Plans:   b.plans.load,
		Metrics: b.metrics,
		Prefix:  prefix(),
		Now:     b.clock.Now,
		// A loaded test machine may take longer than the production
		// timeout; a fail-open would let a check through uncounted.
		Timeout: 10 * time.Second,
	}
	for _, m := range mutate {
		m(&b.opts)
	}
	b.api = limit.NewAPI(b.opts)
	return b
}

// another is a second function instance: its own in-process cache and
// metrics, the same Redis and Postgres.
func (b apiBundle) another() *limit.API {
	o := b.opts
	o.Metrics = telemetry.NewMetrics()
	return limit.NewAPI(o)
}

func (b apiBundle) hits() float64 {
	return testutil.ToFloat64(b.metrics.CacheHits.WithLabelValues(limit.PlanCacheKey))
}

func (b apiBundle) misses() float64 {
	return testutil.ToFloat64(b.metrics.CacheMisses.WithLabelValues(limit.PlanCacheKey))
}

// hammer sends n checks from each of g goroutines and counts those allowed.
// A check that failed open fails the test: it was not counted.
func hammer(t *testing.T, g, n int, check func() limit.Result) (allowed int64) {
	t.Helper()
	var count, open atomic.Int64
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for range n {
				r := check()
				if r.FailedOpen {
					open.Add(1)
				}
				if r.Allowed {
					count.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if open.Load() > 0 {
		t.Fatalf("%d checks failed open", open.Load())
	}
	return count.Load()
}

func TestTenantAllowanceIsExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		plan  tenant.Plan
		limit int
	}{
		{tenant.PlanFree, 100},
		{tenant.PlanPro, 500},
		{tenant.PlanEnterprise, 2000},
	}
	for _, tt := range tests {
		t.Run(string(tt.plan), func(t *testing.T) {
			t.Parallel()
			// An hour's window makes the refill during the test (a few
			// checks at most) negligible, so the allowance itself is counted.
			b := setupAPI(t, func(o *limit.APIOptions) { o.Period = time.Hour })
			id := uuid.NewString()
			b.plans.set(id, tt.plan)
			const goroutines = 8
			perG := tt.limit * 2 / goroutines
			start := time.Now()
			got := hammer(t, goroutines, perG, func() limit.Result { return b.api.Tenant(context.Background(), id) })
			elapsed := time.Since(start)
			// GCRA lets through the burst plus one per emission interval.
			refill := int64(elapsed*time.Duration(tt.limit)/time.Hour) + 1
			if got < int64(tt.limit) || got > int64(tt.limit)+refill || float64(got) > float64(tt.limit)*1.01 {
				t.Fatalf("%d of %d checks allowed in %v, want %d (+%d refill, ±1 %%)", got, goroutines*perG, elapsed, tt.limit, refill)
			}
			rejected := testutil.ToFloat64(b.metrics.RateLimitRejections.WithLabelValues(string(tt.plan)))
			if int64(rejected) != int64(goroutines*perG)-got {
				t.Fatalf("rate_limit_rejections_total{plan=%s} = %v, want %d", tt.plan, rejected, int64(goroutines*perG)-got)
			}
			if r := b.plans.reads.Load(); r < 1 || r > goroutines {
				t.Fatalf("plan read from Postgres %d times, want 1 (at most one per concurrent cold start)", r)
			}
		})
	}
}

func TestClientAndWebhookAllowances(t *testing.T) {
	t.Parallel()
	b := setupAPI(t, func(o *limit.APIOptions) { o.Period = time.Hour })
	tests := []struct {
		name  string
		limit int
		check func(context.Context, string) limit.Result
		label string
	}{
		{"client ip", limit.DefaultClientPerMinute, b.api.Client, limit.RejectClient},
		{"webhook", limit.DefaultWebhookPerMinute, b.api.Webhook, limit.RejectWebhook},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, other := uuid.NewString(), uuid.NewString()
			got := hammer(t, 8, tt.limit/8+10, func() limit.Result { return tt.check(context.Background(), key) })
			if got < int64(tt.limit) || float64(got) > float64(tt.limit)*1.01 {
				t.Fatalf("%d allowed, want %d ±1 %%", got, tt.limit)
			}
			if r := tt.check(context.Background(), other); !r.Allowed || r.Remaining != tt.limit-1 {
				t.Fatalf("another key shares the allowance: %+v", r)
			}
			if testutil.ToFloat64(b.metrics.RateLimitRejections.WithLabelValues(tt.label)) == 0 {
				t.Fatalf("no rejection counted under plan=%s", tt.label)
			}
		})
	}
}

func TestClientAddresses(t *testing.T) {
	t.Parallel()
	b := setupAPI(t, func(o *limit.APIOptions) { o.ClientPerMinute, o.Period = 2, time.Hour })
	ctx := context.Background()
	tests := []struct {
		name    string
		a, b    string
		sharing bool
	}{
		{"one IPv6 /64", "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"two IPv6 /64s", "2001:db8:1:3::1", "2001:db8:1:4::1", false},
		{"IPv4-mapped is IPv4", "::ffff:192.0.2.77", "192.0.2.77", true},
		{"two IPv4 addresses", "192.0.2.78", "192.0.2.79", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.api.Client(ctx, tt.a)
			r := b.api.Client(ctx, tt.b)
			if want := map[bool]int{true: 0, false: 1}[tt.sharing]; r.Remaining != want {
				t.Fatalf("%s after %s: %d remaining, want %d (sharing=%v)", tt.b, tt.a, r.Remaining, want, tt.sharing)
			}
		})
	}
}

func TestResultFields(t *testing.T) {
	t.Parallel()
	// An hour's window, so no refill happens between the checks below.
	b := setupAPI(t, func(o *limit.APIOptions) { o.Period = time.Hour })
	ip := "198.51.100." + uuid.NewString()[:3]
	interval := time.Hour / limit.DefaultClientPerMinute // 36 s
	for i := 1; i <= limit.DefaultClientPerMinute; i++ {
		r := b.api.Client(context.Background(), ip)
		if !r.Allowed || r.Limit != 100 || r.Remaining != 100-i || r.RetryAfter != 0 {
			t.Fatalf("check %d = %+v, want allowed with %d remaining", i, r, 100-i)
		}
		// The full allowance is back once every used interval has passed.
		// (Less the time the loop has taken: a loaded machine may need seconds.)
		if want := time.Duration(i) * interval; r.ResetAfter > want || r.ResetAfter < want-10*time.Second {
			t.Fatalf("check %d: reset after %v, want about %v", i, r.ResetAfter, want)
		}
	}
	r := b.api.Client(context.Background(), ip)
	if r.Allowed || r.Remaining != 0 || r.RetryAfter <= interval-10*time.Second || r.RetryAfter > interval ||
		r.ResetAfter > time.Hour || r.ResetAfter < time.Hour-10*time.Second {
		t.Fatalf("101st check = %+v, want refused, retry in about %v, reset in about an hour", r, interval)
	}
	if s := limit.Seconds(r.RetryAfter); s != int((r.RetryAfter+time.Second-1)/time.Second) || s < 1 {
		t.Fatalf("Seconds(%v) = %d, want it rounded up", r.RetryAfter, s)
	}
}

func TestSeconds(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int{-time.Second: 0, 0: 0, time.Microsecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, time.Minute: 60} {
		if got := limit.Seconds(d); got != want {
			t.Errorf("Seconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestPlanCacheTiers(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	id := uuid.NewString()
	b.plans.set(id, tenant.PlanPro)
	ctx := context.Background()

	r := b.api.Tenant(ctx, id)
	if r.Plan != tenant.PlanPro || r.Limit != 500 || b.plans.reads.Load() != 1 || b.misses() != 1 || b.hits() != 0 {
		t.Fatalf("cold check: %+v, reads=%d hits=%v misses=%v; want pro from Postgres, one miss", r, b.plans.reads.Load(), b.hits(), b.misses())
	}
	if v, err := b.opts.Redis.Get(ctx, b.opts.Prefix+"tenant:plan:{"+id+"}").Result(); err != nil || v != "pro" {
		t.Fatalf("tenant:plan:{id} = %q, %v; want pro", v, err)
	}
	if ttl := b.opts.Redis.TTL(ctx, b.opts.Prefix+"tenant:plan:{"+id+"}").Val(); ttl <= 290*time.Second || ttl > 300*time.Second {
		t.Fatalf("tenant:plan:{id} TTL = %v, want 300 s", ttl)
	}

	b.api.Tenant(ctx, id) // in-process
	b.clock.Add(6 * time.Second)
	b.api.Tenant(ctx, id) // in-process entry expired: Redis
	if b.plans.reads.Load() != 1 || b.hits() != 2 || b.misses() != 1 {
		t.Fatalf("warm checks: reads=%d hits=%v misses=%v; want 1 read, 2 hits", b.plans.reads.Load(), b.hits(), b.misses())
	}

	other := b.another()
	if r := other.Tenant(ctx, id); r.Plan != tenant.PlanPro || b.plans.reads.Load() != 1 {
		t.Fatalf("second instance: %+v after %d reads; want pro from Redis", r, b.plans.reads.Load())
	}

	// The admin changes the plan: committed to Postgres, then invalidated.
	b.plans.set(id, tenant.PlanEnterprise)
	if err := b.api.InvalidatePlan(ctx, id); err != nil {
		t.Fatal(err)
	}
	for name, api := range map[string]*limit.API{"this instance": b.api, "another instance": other} {
		if r := api.Tenant(ctx, id); r.Plan != tenant.PlanEnterprise || r.Limit != 2000 {
			t.Fatalf("%s after the plan change: %+v, want enterprise 2000", name, r)
		}
	}
	if b.plans.reads.Load() != 2 {
		t.Fatalf("Postgres reads = %d, want 2 (one after the invalidation)", b.plans.reads.Load())
	}
}

func TestPlanChangeKeepsTheCount(t *testing.T) {
	t.Parallel()
	b := setupAPI(t, func(o *limit.APIOptions) { o.Period = time.Hour })
	ctx := context.Background()
	id := uuid.NewString()
	b.plans.set(id, tenant.PlanFree)
	if got := hammer(t, 1, 120, func() limit.Result { return b.api.Tenant(ctx, id) }); got != 100 {
		t.Fatalf("free: %d allowed, want 100", got)
	}
	b.plans.set(id, tenant.PlanPro)
	if err := b.api.InvalidatePlan(ctx, id); err != nil {
		t.Fatal(err)
	}
	// The 100 requests made count against pro's 500.
	if r := b.api.Tenant(ctx, id); !r.Allowed || r.Limit != 500 || r.Remaining != 399 {
		t.Fatalf("after the upgrade: %+v, want allowed with 399 left", r)
	}
	b.plans.set(id, tenant.PlanFree)
	if err := b.api.InvalidatePlan(ctx, id); err != nil {
		t.Fatal(err)
	}
	// 101 of pro's requests are more than free's whole window: refused
	// until one interval of free (36 s in an hour's window) has passed,
	// not for the whole overspend.
	r := b.api.Tenant(ctx, id)
	if r.Allowed || r.Limit != 100 || r.RetryAfter > 36*time.Second || r.ResetAfter > time.Hour {
		t.Fatalf("after the downgrade: %+v, want refused for at most one interval", r)
	}
}

func TestPlanChangeDuringPostgresRead(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	id := uuid.NewString()
	b.plans.set(id, tenant.PlanFree)
	// The admin's change commits and invalidates while this instance is
	// reading the old plan: the old plan must not be written to Redis.
	b.plans.during = func() {
		b.plans.set(id, tenant.PlanPro)
		if err := b.another().InvalidatePlan(context.Background(), id); err != nil {
			t.Error(err)
		}
	}
	if r := b.api.Tenant(context.Background(), id); r.Plan != tenant.PlanPro {
		t.Fatalf("plan = %q, want pro (the stale read is retried)", r.Plan)
	}
	if v := b.opts.Redis.Get(context.Background(), b.opts.Prefix+"tenant:plan:{"+id+"}").Val(); v != "pro" {
		t.Fatalf("tenant:plan:{id} = %q, want pro", v)
	}
}

func TestPostgresDownDoesNotFailOpen(t *testing.T) {
	t.Parallel()
	var alerts atomic.Int64
	b := setupAPI(t, func(o *limit.APIOptions) {
		o.OnFailOpen = func(context.Context, error) { alerts.Add(1) }
		o.Period = time.Hour
	})
	id := uuid.NewString() // unknown to the fake Postgres: every read fails
	for i := 1; i <= 101; i++ {
		r := b.api.Tenant(context.Background(), id)
		if r.FailedOpen || r.Limit != 100 || r.Allowed != (i <= 100) {
			t.Fatalf("check %d without a plan: %+v, want the free allowance applied", i, r)
		}
	}
	if alerts.Load() != 0 || b.misses() != 101 {
		t.Fatalf("alerts=%d misses=%v, want no fail-open and every check a miss", alerts.Load(), b.misses())
	}
	if n := b.opts.Redis.Exists(context.Background(), b.opts.Prefix+"tenant:plan:{"+id+"}").Val(); n != 0 {
		t.Fatal("a fallback plan was cached")
	}
}

func TestFailOpen(t *testing.T) {
	t.Parallel()
	srv := limittest.Start(t)
	var calls atomic.Int64
	b := setupAPI(t, func(o *limit.APIOptions) {
		o.Redis = srv.Client(t)
		o.OnFailOpen = func(context.Context, error) { calls.Add(1) }
		o.Timeout = time.Second
	})
	id := uuid.NewString()
	b.plans.set(id, tenant.PlanFree)
	ctx := context.Background()
	if r := b.api.Tenant(ctx, id); !r.Allowed || r.FailedOpen || r.Remaining != 99 {
		t.Fatalf("with Redis up: %+v", r)
	}

	srv.Kill()
	for i := range 3 {
		r := b.api.Tenant(ctx, id)
		if !r.Allowed || !r.FailedOpen || r.Plan != tenant.PlanFree {
			t.Fatalf("check %d with Redis down: %+v, want allowed, failed open, plan from the in-process cache", i, r)
		}
		if r := b.api.Client(ctx, "203.0.113.9"); !r.Allowed || !r.FailedOpen {
			t.Fatalf("client check %d with Redis down: %+v", i, r)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("OnFailOpen called %d times, want once per backoff", calls.Load())
	}
	if got := testutil.ToFloat64(b.metrics.CacheMisses.WithLabelValues(limit.FailOpenCacheKey)); got != 6 {
		t.Fatalf("redis_cache_misses_total{cache_key=rate_limit} = %v, want 6 (every check let through)", got)
	}
	b.clock.Add(2 * time.Second) // past the backoff: Redis is asked again
	if r := b.api.Webhook(ctx, id); !r.FailedOpen || calls.Load() != 2 {
		t.Fatalf("after the backoff: %+v, OnFailOpen calls %d; want a second failure reported", r, calls.Load())
	}
}

func TestTimeoutFailsOpen(t *testing.T) {
	t.Parallel()
	// CLIENT PAUSE makes Redis accept commands and answer none: a hung Redis.
	srv := limittest.Start(t)
	limited := srv.Client(t)
	b := setupAPI(t, func(o *limit.APIOptions) {
		o.Redis = limited
		o.Timeout = 50 * time.Millisecond
	})
	if err := srv.Client(t).Do(context.Background(), "CLIENT", "PAUSE", "2000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := b.api.Client(context.Background(), "192.0.2.7")
	if !r.FailedOpen || time.Since(start) > time.Second {
		t.Fatalf("hung Redis: %+v after %v, want failed open within the timeout", r, time.Since(start))
	}
}

// TestRefusalRemembered: a bucket Redis refused is refused by this instance
// until the instant Redis stated, without asking Redis again, with the
// answer Redis would give; a tenant only under the largest allowance (an
// upgrade could let a smaller one through sooner), and forgotten here when
// its plan changes.
func TestRefusalRemembered(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	cc := &limittest.Commands{}
	rdb.AddHook(cc)
	allowance := map[tenant.Plan]int{tenant.PlanFree: 1, tenant.PlanPro: 2, tenant.PlanEnterprise: 3}
	b := setupAPI(t, func(o *limit.APIOptions) {
		o.Redis = rdb
		o.Period = time.Hour // no refill during the test
		o.PerMinute = func(p tenant.Plan) int { return allowance[p] }
		o.ClientPerMinute = 2
	})
	ctx := context.Background()
	ent, pro := uuid.NewString(), uuid.NewString()
	b.plans.set(ent, tenant.PlanEnterprise)
	b.plans.set(pro, tenant.PlanPro)
	rejections := func(label string) float64 {
		return testutil.ToFloat64(b.metrics.RateLimitRejections.WithLabelValues(label))
	}

	var first limit.Result
	for i := range 4 {
		first = b.api.Tenant(ctx, ent)
		if first.Allowed != (i < 3) {
			t.Fatalf("check %d = %+v", i+1, first)
		}
	}
	cc.Take()
	b.clock.Add(time.Second)
	for i := range 5 {
		r := b.api.Tenant(ctx, ent)
		if r.Allowed || r.FailedOpen || r.Limit != 3 || r.Remaining != 0 || r.Plan != tenant.PlanEnterprise ||
			r.RetryAfter > first.RetryAfter-time.Second || r.RetryAfter < first.RetryAfter-2*time.Second ||
			r.ResetAfter > first.ResetAfter-time.Second || r.ResetAfter < first.ResetAfter-2*time.Second {
			t.Fatalf("remembered refusal %d = %+v, want refused as the first (%+v) a second later", i+1, r, first)
		}
	}
	if calls := cc.Take(); len(calls) != 0 {
		t.Fatalf("remembered refusals sent %v to Redis, want nothing", calls)
	}
	if got := rejections(string(tenant.PlanEnterprise)); got != 6 {
		t.Fatalf("rate_limit_rejections_total{plan=enterprise} = %v, want 6", got)
	}
	b.clock.Add(first.RetryAfter) // past the instant: Redis is asked again
	if r := b.api.Tenant(ctx, ent); r.Allowed || cc.Take()["evalsha"] != 1 {
		t.Fatalf("after the stated instant: %+v, want Redis asked (it has not refilled: its clock did not move)", r)
	}
	b.plans.set(ent, tenant.PlanEnterprise)
	if err := b.api.InvalidatePlan(ctx, ent); err != nil {
		t.Fatal(err)
	}
	cc.Take()
	if b.api.Tenant(ctx, ent); cc.Take()["evalsha"] == 0 {
		t.Fatal("a refusal outlived the tenant's plan change on this instance")
	}

	// Pro has a larger plan above it: each refusal is Redis's own.
	for range 2 {
		b.api.Tenant(ctx, pro)
	}
	cc.Take()
	for i := range 3 {
		if r := b.api.Tenant(ctx, pro); r.Allowed {
			t.Fatalf("pro check %d over the allowance: %+v", i+3, r)
		}
	}
	if calls := cc.Take(); calls["evalsha"] != 3 {
		t.Fatalf("3 refusals under pro sent %v, want 3 evalsha", calls)
	}

	// A client address's allowance never changes: remembered.
	ip := "192.0.2.200"
	for i := range 3 {
		if r := b.api.Client(ctx, ip); r.Allowed != (i < 2) {
			t.Fatalf("client check %d = %+v", i+1, r)
		}
	}
	cc.Take()
	for range 3 {
		if r := b.api.Client(ctx, ip); r.Allowed || r.Limit != 2 || r.Remaining != 0 || r.RetryAfter <= 0 {
			t.Fatalf("remembered client refusal = %+v", r)
		}
	}
	if calls := cc.Take(); len(calls) != 0 {
		t.Fatalf("remembered client refusals sent %v to Redis, want nothing", calls)
	}
	if got := rejections(limit.RejectClient); got != 4 {
		t.Fatalf("rate_limit_rejections_total{plan=anonymous} = %v, want 4", got)
	}
}
