package limit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// Defaults for the requests that carry no tenant.
const (
	DefaultClientPerMinute  = 100  // per client IP
	DefaultWebhookPerMinute = 6000 // per WuzAPI instance's webhook
)

// PlanCacheKey is the cache_key label of the plan cache's hit and miss
// counters, and the Redis key's stem (tenant:plan:{id}).
const PlanCacheKey = "tenant:plan"

// FailOpenCacheKey is the cache_key label under which
// redis_cache_misses_total counts the checks let through because Redis could
// not answer (fail open).
const FailOpenCacheKey = "rate_limit"

// Defaults of a held batch (APIOptions.HoldBatch, Hold).
const (
	DefaultHoldBatch = 16
	DefaultHold      = 100 * time.Millisecond
)

// Labels of rate_limit_rejections_total{plan} for requests without a tenant.
const (
	RejectClient  = "anonymous" // per client IP
	RejectWebhook = "webhook"   // per instance webhook
)

// APIOptions configure an API limiter. Redis and Plans are required.
type APIOptions struct {
	Redis redis.UniversalClient
	// Plans loads a tenant's plan from the source of truth (Postgres) when
	// neither cache has it.
	Plans   func(ctx context.Context, tenantID string) (tenant.Plan, error)
	Metrics *telemetry.Metrics // fresh set when nil
	Logger  *slog.Logger       // discards when nil
	// OnFailOpen is called when the limiter lets a request through because
	// Redis could not answer; at most once per Backoff per instance.
	OnFailOpen func(ctx context.Context, err error)
	// Prefix is put before every Redis key (tests isolate themselves with it).
	Prefix string
	// Timeout bounds one Redis check (default 100 ms): a hung Redis costs a
	// request at most this much before it is let through.
	Timeout time.Duration
	// Backoff is how long the limiter stops asking Redis after a failure
	// (default 1 s).
	Backoff time.Duration
	// LocalPlanTTL is how long a plan stays in the in-process cache (default
	// 5 s); every use is still checked against the tenant's plan version in
	// Redis, in the same round trip as the limit.
	LocalPlanTTL time.Duration
	// RedisPlanTTL is the life of tenant:plan:{id} (default 300 s).
	RedisPlanTTL time.Duration
	// PerMinute is a plan's allowance; Plan.RequestsPerMinute when nil.
	PerMinute func(tenant.Plan) int
	// ClientPerMinute and WebhookPerMinute default to 100 and 6,000.
	ClientPerMinute, WebhookPerMinute int
	// Period is the window of every allowance: one minute when
	// zero. Tests stretch it to make refill during the test negligible.
	Period time.Duration
	// HoldBatch is the most requests of a tenant under the largest plan an
	// instance takes from Redis at once for its reads (TenantRead), to
	// spend in-process within Hold (heldBatch); default 16, 1: one at a
	// time, as Tenant.
	HoldBatch int
	// Hold is how long after asking an instance may spend a held batch
	// (default 100 ms).
	Hold time.Duration
	// Now is the clock of the in-process cache and the backoff (not of the
	// limit itself, which is Redis's); time.Now when nil.
	Now func() time.Time
}

// Result is one limiter decision.
type Result struct {
	Allowed bool
	// Limit is the allowance per Period (a minute) that was applied.
	Limit int
	// Remaining is how many more requests would pass right now.
	Remaining int
	// RetryAfter is, when refused, the wait until one request would pass.
	RetryAfter time.Duration
	// ResetAfter is the wait until the full allowance is back.
	ResetAfter time.Duration
	// Plan is the tenant's plan that set Limit (tenant checks only; empty when
	// failed open without a cached plan).
	Plan tenant.Plan
	// FailedOpen says Redis could not decide and the request was let through
	// uncounted; Limit, Remaining and the resets are then meaningless.
	FailedOpen bool
}

// API is the fleet-wide API rate limiter: GCRA with a burst of the whole
// minute's allowance (as go-redis/redis_rate), one Redis round trip per check
// but for a bucket Redis has refused: until the instant the refusal
// stated, that bucket's checks are refused in-process (denials); and for
// the reads of a tenant under the largest plan, served from batches of
// its allowance taken at once (heldBatch).
// It is safe for concurrent use.
type API struct {
	opts      APIOptions
	log       *slog.Logger
	metrics   *telemetry.Metrics
	now       func() time.Time
	planArgs  []any // plan, limit pairs for the script
	freeLimit int
	maxLimit  int // the largest allowance of any plan

	denied denials   // buckets Redis refused, until the stated instant
	held   heldBatch // batches of allowance taken for reads, per bucket

	downUntil atomic.Int64 // unix nanoseconds; Redis is skipped until then

	mu    sync.Mutex
	plans map[string]planEntry
}

type planEntry struct {
	plan    tenant.Plan
	version string
	expires time.Time
}

// NewAPI builds an API limiter.
func NewAPI(opts APIOptions) *API {
	if opts.Timeout <= 0 {
		opts.Timeout = 100 * time.Millisecond
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.LocalPlanTTL <= 0 {
		opts.LocalPlanTTL = 5 * time.Second
	}
	if opts.RedisPlanTTL <= 0 {
		opts.RedisPlanTTL = 300 * time.Second
	}
	if opts.PerMinute == nil {
		opts.PerMinute = tenant.Plan.RequestsPerMinute
	}
	if opts.Period <= 0 {
		opts.Period = time.Minute
	}
	if opts.HoldBatch <= 0 {
		opts.HoldBatch = DefaultHoldBatch
	}
	if opts.Hold <= 0 {
		opts.Hold = DefaultHold
	}
	if opts.ClientPerMinute <= 0 {
		opts.ClientPerMinute = DefaultClientPerMinute
	}
	if opts.WebhookPerMinute <= 0 {
		opts.WebhookPerMinute = DefaultWebhookPerMinute
	}
	opts.Redis = honourDeadlines(opts.Redis)
	a := &API{opts: opts, log: opts.Logger, metrics: opts.Metrics, now: opts.Now, plans: map[string]planEntry{}}
	a.held.max, a.held.hold = opts.HoldBatch, opts.Hold
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.metrics == nil {
		a.metrics = telemetry.NewMetrics()
	}
	if a.now == nil {
		a.now = time.Now
	}
	for _, p := range []tenant.Plan{tenant.PlanFree, tenant.PlanPro, tenant.PlanEnterprise} {
		a.planArgs = append(a.planArgs, string(p), opts.PerMinute(p))
	}
	a.freeLimit = opts.PerMinute(tenant.PlanFree)
	a.maxLimit = max(opts.PerMinute(tenant.PlanFree), opts.PerMinute(tenant.PlanPro), opts.PerMinute(tenant.PlanEnterprise))
	return a
}

// gcraScript is GCRA (as go-redis/redis_rate's allowN, burst = rate) on
// microseconds from Redis's own clock, extended so that a tenant's check
// also resolves the tenant's plan in the same round trip:
//
//	KEYS[1] rate:…{id}: "TAT:allowance", the theoretical arrival time in µs
//	        and the allowance it was computed under
//	KEYS[2] tenant:plan:{id}, KEYS[3] tenant:plan:ver:{id} (tenant checks only)
//	ARGV[1] period µs, ARGV[2] allowance per period (tenant: the default)
//	ARGV[3] plan the caller has (in-process cache, or Postgres when ARGV[5]=1)
//	ARGV[4] plan version the caller's plan belongs to
//	ARGV[5] "1": ARGV[3] was just read from Postgres; store it for ARGV[6] s;
//	        "2": Postgres failed, apply ARGV[3] without storing it
//	ARGV[7] requests wanted at once (a held batch; 1 or absent: one)
//	ARGV[8] hold µs: how long the caller may spend a batch after sending
//	ARGV[9..] plan, allowance pairs
//
// The caller's in-process plan is used only while the version key still
// holds the version it was read under; PATCH of a plan bumps the version, so
// every instance's next request falls back to Redis, then Postgres.
//
// A batch (ARGV[7] > 1) is granted only while the bucket's debt (TAT - now)
// is at least the hold, and as many of it as the allowance has room for
// now, all counted at once: see heldBatch for why that is never looser
// than counting each request when it is served.
//
// Reply: {"miss", version} when the plan is nowhere but Postgres; {"stale"}
// when the plan changed while the caller read Postgres; else {"ok", allowed,
// remaining, retry µs, reset µs, plan, version, source, allowance, granted}.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local plan, ver, source = '', '', ''
if #KEYS == 3 then
  ver = redis.call('GET', KEYS[3]) or '0'
  if ARGV[5] == '1' then
    if ver ~= ARGV[4] then return {'stale'} end
    redis.call('SET', KEYS[2], ARGV[3], 'EX', tonumber(ARGV[6]))
    plan, source = ARGV[3], 'db'
  elseif ARGV[5] == '2' then
    plan, source = ARGV[3], 'fallback'
  elseif ARGV[3] ~= '' and ARGV[4] == ver then
    plan, source = ARGV[3], 'local'
  else
    local p = redis.call('GET', KEYS[2])
    if not p then return {'miss', ver} end
    plan, source = p, 'redis'
  end
  for i = 9, #ARGV, 2 do
    if ARGV[i] == plan then limit = tonumber(ARGV[i + 1]) end
  end
end
local interval = period / limit
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local at, was = string.match(stored, '^(%d+):(%d+)$')
  at, was = tonumber(at), tonumber(was)
  if at and at > now then
    tat = at
    -- The allowance changed (a new plan): the requests already made keep
    -- counting, each now worth the new interval, but a downgrade never
    -- owes more than one full window.
    if was ~= limit then tat = math.min(now + (at - now) * was / limit, now + period) end
  end
end
local n = 1
local want = tonumber(ARGV[7]) or 1
if want > 1 and tat - now >= tonumber(ARGV[8]) then
  n = math.min(want, math.floor((period - (tat - now)) / interval))
  while n > 1 and period - (tat + n * interval - now) < 0 do n = n - 1 end
  if n < 1 then n = 1 end
end
local new_tat = tat + n * interval
local diff = period - (new_tat - now)
if diff < 0 then
  return {'ok', 0, 0, math.ceil(-diff), math.ceil(tat - now), plan, ver, source, limit, 0}
end
new_tat = math.ceil(new_tat)
redis.call('SET', KEYS[1], string.format('%.0f:%d', new_tat, limit), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {'ok', 1, math.floor(diff / interval), 0, new_tat - now, plan, ver, source, limit, n}
`)

// Tenant checks one request of a tenant against its plan's allowance. It
// never fails: when Redis cannot answer, the request is let through
// (Result.FailedOpen) and the failure is logged and reported to OnFailOpen.
func (a *API) Tenant(ctx context.Context, tenantID string) Result {
	return a.tenant(ctx, tenantID, false)
}

// TenantRead is Tenant for a request that changes nothing (GET, HEAD): under
// the largest plan's allowance it may be served from a batch this instance
// holds (heldBatch), without a round trip; a request that writes always asks
// Redis, so its plan (the caps it checks) is fresh.
func (a *API) TenantRead(ctx context.Context, tenantID string) Result {
	return a.tenant(ctx, tenantID, true)
}

func (a *API) tenant(ctx context.Context, tenantID string, read bool) Result {
	rateKey := a.opts.Prefix + "rate:tenant:{" + tenantID + "}"
	now := a.now()
	if read {
		// Held requests were counted before Redis refused any later one.
		if res, ok := a.held.spend(rateKey, now); ok {
			return res
		}
	}
	if res, ok := a.denied.get(rateKey, now); ok {
		a.metrics.RateLimitRejections.WithLabelValues(string(res.Plan)).Inc()
		return res
	}
	hint, hasHint := a.localPlan(tenantID)
	if a.skipRedis() {
		return a.skipped(hint.plan)
	}
	want := 1
	if read && hasHint && a.opts.PerMinute(hint.plan) >= a.maxLimit {
		want = a.held.want(rateKey)
	}
	cctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	keys := []string{
		rateKey,
		a.opts.Prefix + PlanCacheKey + ":{" + tenantID + "}",
		a.opts.Prefix + PlanCacheKey + ":ver:{" + tenantID + "}",
	}
	plan, version, fill := "", "", "0"
	if hasHint {
		plan, version = string(hint.plan), hint.version
	}
	// A plan change between our Postgres read and our write is answered
	// "stale" and retried: miss, stale, miss, ok is the longest sensible
	// exchange.
	for range 5 {
		sent := a.now()
		args := append([]any{int64(a.opts.Period / time.Microsecond), a.freeLimit, plan, version, fill,
			int64(a.opts.RedisPlanTTL / time.Second), want, int64(a.opts.Hold / time.Microsecond)}, a.planArgs...)
		reply, err := gcraScript.Run(cctx, a.opts.Redis, keys, args...).Slice()
		if err == nil && len(reply) == 0 {
			err = errors.New("empty script reply")
		}
		if err != nil {
			return a.failOpen(ctx, fmt.Errorf("rate limit tenant %s: %w", tenantID, err), hint.plan)
		}
		switch reply[0] {
		case "miss":
			p, err := a.opts.Plans(cctx, tenantID)
			if err != nil {
				// Postgres failed, Redis works: limit this request under the
				// last plan known here (free when none), and store nothing.
				a.log.WarnContext(ctx, "tenant plan not loaded; limiting under a fallback plan",
					"tenant_id", tenantID, "error", err.Error())
				plan, fill = string(tenant.PlanFree), "2"
				if hint.plan.Valid() {
					plan = string(hint.plan)
				}
				continue
			}
			plan, version, fill = string(p), fmt.Sprint(reply[1]), "1"
			continue
		case "stale":
			plan, version, fill = "", "", "0"
			continue
		}
		return a.tenantAnswer(ctx, tenantID, rateKey, reply, sent, hint.plan, read)
	}
	return a.failOpen(ctx, fmt.Errorf("rate limit tenant %s: plan kept changing", tenantID), hint.plan)
}

// tenantAnswer reads an "ok" reply of a tenant's check sent at sent: the
// plan cache's counts, the plan stored here, a refusal or a batch held.
func (a *API) tenantAnswer(ctx context.Context, tenantID, rateKey string, reply []any, sent time.Time, hint tenant.Plan, read bool) Result {
	res, granted, err := a.decode(reply)
	if err != nil {
		return a.failOpen(ctx, fmt.Errorf("rate limit tenant %s: %w", tenantID, err), hint)
	}
	switch reply[7] {
	case "db", "fallback":
		a.metrics.CacheMisses.WithLabelValues(PlanCacheKey).Inc()
	default: // "local" or "redis"
		a.metrics.CacheHits.WithLabelValues(PlanCacheKey).Inc()
	}
	res.Plan = tenant.Plan(fmt.Sprint(reply[5]))
	if reply[7] != "fallback" {
		a.storePlan(tenantID, res.Plan, fmt.Sprint(reply[6]))
	}
	if !res.Allowed {
		a.metrics.RateLimitRejections.WithLabelValues(string(res.Plan)).Inc()
		if res.Limit >= a.maxLimit {
			// No plan change can let this tenant through sooner.
			a.denied.put(rateKey, res, sent)
		}
		return res
	}
	if read && res.Limit >= a.maxLimit {
		res = a.held.put(rateKey, res, granted, sent)
	}
	return res
}

// Client checks one request without a tenant against its client IP's
// allowance (ClientPerMinute). An IPv6 client is counted by its /64, the
// block one subscriber gets, so rotating addresses inside it gains nothing.
// Fails open like Tenant.
func (a *API) Client(ctx context.Context, ip string) Result {
	return a.check(ctx, "rate:ip:{"+clientKey(ip)+"}", a.opts.ClientPerMinute, RejectClient)
}

// clientKey is the address a client's allowance is kept under.
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// Webhook checks one WuzAPI webhook call against its instance's allowance
// (WebhookPerMinute). Fails open like Tenant.
func (a *API) Webhook(ctx context.Context, instanceID string) Result {
	return a.check(ctx, "rate:webhook:{"+instanceID+"}", a.opts.WebhookPerMinute, RejectWebhook)
}

func (a *API) check(ctx context.Context, key string, perMinute int, label string) Result {
	full := a.opts.Prefix + key
	now := a.now()
	if res, ok := a.denied.get(full, now); ok {
		a.metrics.RateLimitRejections.WithLabelValues(label).Inc()
		return res
	}
	if a.skipRedis() {
		return a.skipped("")
	}
	cctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	reply, err := gcraScript.Run(cctx, a.opts.Redis, []string{full},
		int64(a.opts.Period/time.Microsecond), perMinute).Slice()
	if err == nil {
		var res Result
		if res, _, err = a.decode(reply); err == nil {
			if !res.Allowed {
				a.metrics.RateLimitRejections.WithLabelValues(label).Inc()
				a.denied.put(full, res, now) // these allowances never change
			}
			return res
		}
	}
	return a.failOpen(ctx, fmt.Errorf("rate limit %s: %w", key, err), "")
}

// decode reads an "ok" reply of gcraScript: the decision and how many
// requests it granted at once (0 when refused).
func (a *API) decode(reply []any) (Result, int, error) {
	if len(reply) != 10 || reply[0] != "ok" {
		return Result{}, 0, fmt.Errorf("unexpected script reply %v", reply)
	}
	var n [6]int64
	for j, i := range [...]int{1, 2, 3, 4, 8, 9} {
		v, ok := reply[i].(int64)
		if !ok {
			return Result{}, 0, fmt.Errorf("unexpected script reply %v", reply)
		}
		n[j] = v
	}
	return Result{
		Allowed:    n[0] == 1,
		Remaining:  int(n[1]),
		RetryAfter: time.Duration(n[2]) * time.Microsecond,
		ResetAfter: time.Duration(n[3]) * time.Microsecond,
		Limit:      int(n[4]),
	}, int(n[5]), nil
}

// denials remembers, per instance, the buckets (rate keys) Redis refused
// and until when, so that a bucket's further requests before that instant
// are refused here without a round trip to Redis. The rule that makes it
// exact: under one allowance, GCRA's refusal holds until the instant it
// states (now + RetryAfter) — a refusal changes nothing in Redis, and the
// theoretical arrival time only moves later, when a request is allowed —
// so Redis would refuse every request of the bucket before that instant,
// whichever instance asked. The instant is counted from when the check was
// sent, before Redis took its own time, so it is never later than Redis's.
// A plan change is the one thing that moves the instant earlier (an
// upgrade), so a tenant's refusal is remembered only under the largest
// allowance any plan has (no upgrade exists), and InvalidatePlan forgets
// it here; a downgrade on another instance refuses at least as long, and
// this instance reports the old allowance in its headers until the
// remembered instant (one interval: 30 ms at 2,000 a minute). The client
// and webhook allowances are fixed. A remembered refusal answers as Redis
// would: Remaining 0, RetryAfter and ResetAfter counted down from the
// stored instants, the same Limit and Plan, and a rejection counted.
type denials struct {
	mu sync.Mutex
	m  map[string]denial
}

type denial struct {
	res          Result
	until, reset time.Time
}

// maxDenials bounds the remembered refusals; expired ones go first.
const maxDenials = 10000

// get returns the refusal of key remembered for now, if any.
func (d *denials) get(key string, now time.Time) (Result, bool) {
	d.mu.Lock()
	e, ok := d.m[key]
	d.mu.Unlock()
	if !ok || !now.Before(e.until) {
		return Result{}, false
	}
	res := e.res
	res.RetryAfter = e.until.Sub(now)
	res.ResetAfter = max(e.reset.Sub(now), res.RetryAfter)
	return res, true
}

// put remembers a refusal of key that Redis decided after sent.
func (d *denials) put(key string, res Result, sent time.Time) {
	if res.Allowed || res.FailedOpen || res.RetryAfter <= 0 {
		return
	}
	e := denial{res: res, until: sent.Add(res.RetryAfter), reset: sent.Add(res.ResetAfter)}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]denial{}
	}
	if len(d.m) >= maxDenials {
		for k, old := range d.m {
			if !sent.Before(old.until) {
				delete(d.m, k)
			}
		}
		if len(d.m) >= maxDenials {
			clear(d.m)
		}
	}
	d.m[key] = e
}

// forget drops the refusal of key.
func (d *denials) forget(key string) {
	d.mu.Lock()
	delete(d.m, key)
	d.mu.Unlock()
}

// InvalidatePlan forgets a tenant's cached plan everywhere: it deletes
// tenant:plan:{id} and bumps the tenant's plan version, which every
// instance's next check compares its in-process plan with. Call it after the
// new plan is committed to Postgres.
func (a *API) InvalidatePlan(ctx context.Context, tenantID string) error {
	a.mu.Lock()
	delete(a.plans, tenantID)
	a.mu.Unlock()
	a.denied.forget(a.opts.Prefix + "rate:tenant:{" + tenantID + "}")
	a.held.forget(a.opts.Prefix + "rate:tenant:{" + tenantID + "}")
	verKey := a.opts.Prefix + PlanCacheKey + ":ver:{" + tenantID + "}"
	_, err := a.opts.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, a.opts.Prefix+PlanCacheKey+":{"+tenantID+"}")
		p.Incr(ctx, verKey)
		// The version outlives any cached copy by far; expiring it keeps
		// deleted tenants from leaving keys forever.
		p.Expire(ctx, verKey, 30*24*time.Hour)
		return nil
	})
	if err != nil {
		return fmt.Errorf("invalidate plan of tenant %s: %w", tenantID, err)
	}
	return nil
}

func (a *API) localPlan(id string) (planEntry, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.plans[id]
	if !ok || !a.now().Before(e.expires) {
		return planEntry{}, false
	}
	return e, true
}

// maxLocalPlans bounds the in-process cache; expired entries go first.
const maxLocalPlans = 10000

func (a *API) storePlan(id string, p tenant.Plan, version string) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.plans[id]; ok && e.plan == p && e.version == version && now.Before(e.expires) {
		return // confirmed: keep the expiry, so the entry is re-read from Redis every LocalPlanTTL
	}
	if len(a.plans) >= maxLocalPlans {
		for k, e := range a.plans {
			if !now.Before(e.expires) {
				delete(a.plans, k)
			}
		}
		if len(a.plans) >= maxLocalPlans {
			clear(a.plans)
		}
	}
	a.plans[id] = planEntry{plan: p, version: version, expires: now.Add(a.opts.LocalPlanTTL)}
}

func (a *API) skipRedis() bool {
	return a.now().UnixNano() < a.downUntil.Load()
}

// failOpen lets a request through uncounted when the limiter cannot decide.
func (a *API) failOpen(ctx context.Context, err error, plan tenant.Plan) Result {
	if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		// Not the client going away: Redis (or Postgres) is in trouble.
		a.downUntil.Store(a.now().Add(a.opts.Backoff).UnixNano())
		a.log.WarnContext(ctx, "rate limiter failing open", "error", err.Error(), "backoff", a.opts.Backoff.String())
		if a.opts.OnFailOpen != nil {
			a.opts.OnFailOpen(ctx, err)
		}
	}
	return a.skipped(plan)
}

// skipped is a check let through without Redis, counted as a miss of
// cache_key="rate_limit".
func (a *API) skipped(plan tenant.Plan) Result {
	a.metrics.CacheMisses.WithLabelValues(FailOpenCacheKey).Inc()
	return Result{Allowed: true, FailedOpen: true, Plan: plan}
}

// honourDeadlines returns a client that gives up when the context's deadline
// passes. go-redis ignores deadlines (waiting out ReadTimeout, 3 s by default)
// unless ContextTimeoutEnabled is set, and a limiter that must answer within
// its Timeout cannot wait that long; so a client without it gets a twin that
// has it, sharing nothing but the settings (not its hooks: the functions'
// shared client, built by app.Open, has the setting and is used as it is).
func honourDeadlines(c redis.UniversalClient) redis.UniversalClient {
	rc, ok := c.(*redis.Client)
	if !ok || rc.Options().ContextTimeoutEnabled {
		return c
	}
	o := *rc.Options()
	o.ContextTimeoutEnabled = true
	o.PushNotificationProcessor = nil // the client put its own in; the twin builds one
	if o.MaintNotificationsConfig != nil {
		mc := *o.MaintNotificationsConfig
		o.MaintNotificationsConfig = &mc
	}
	return redis.NewClient(&o)
}

// Seconds rounds d up to whole seconds, as the RateLimit-* headers count.
func Seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
