package limit

import (
	"sync"
	"time"
)

// heldBatch keeps, per bucket (rate key), requests of a tenant's allowance
// that this instance took from Redis at once and spends in-process, so a
// busy tenant's reads cost one round trip per batch instead of one each.
//
// The rule that keeps the fleet's limit exact or stricter: the script
// grants n requests at Redis's instant t0 only while the bucket's debt
// (TAT - t0) is at least the hold h, as many as the allowance has room for
// at t0 (TAT + n·interval - t0 <= period), and counts them all at once
// (TAT += n·interval); this instance spends them before sent + h, and
// sent (its clock, before the request left) is not after t0, so every one
// is served in [t0, t0+h], no later than the TAT before the grant. Count
// the batch as n requests arriving at t0+h: GCRA's TAT is the same (the
// TAT already exceeds t0+h), each request is served no later than that
// instant (serving a request earlier never raises GCRA's TAT), and the
// room was checked at t0, before any of them is served (a stricter
// admission than at each request's own instant). Counting a request before
// another that comes earlier only raises the TAT. So Redis's TAT is never
// below the TAT of GCRA run over the requests actually served, at the
// instants they were served: every other check is at least as strict as an
// exact limiter's, and the requests served conform to the allowance. Held
// requests the instance does not spend within the hold lapse: counted,
// never served, which is stricter still (they return to the allowance as
// any spent request does, one interval each). They are not given back:
// taking requests out of the TAT is exact only while no other request
// found the bucket idle in between, which the script cannot tell.
//
// Only reads (TenantRead) of a tenant under the largest plan's allowance
// hold batches, as only such refusals are remembered (denials): no upgrade
// exists to apply at once. InvalidatePlan drops the batch on the instance
// that changed the plan; a downgrade made on another instance is applied
// here at this instance's next check with Redis, at most the hold (100 ms)
// later: until then its reads show the old plan and allowance, as a
// remembered refusal does. A held request answers as Redis would have at
// the grant: Remaining is the grant's plus the requests still held,
// RateLimit-Reset counted down from the grant's.
//
// Sizing: an instance asks for one request first; a batch spent within half
// the hold makes the next ask twice as many (up to max), one spent within the
// hold the same, one that lapsed only what was spent of it; so a held batch
// tracks the instance's own rate over the hold, and what lapses is bounded by
// one batch per fall of that rate.
type heldBatch struct {
	max  int
	hold time.Duration

	mu sync.Mutex
	m  map[string]*held
}

type held struct {
	want  int    // requests to ask for next
	n     int    // granted in the current batch
	left  int    // of it, not yet served
	res   Result // the grant's answer (Remaining after the whole batch)
	sent  time.Time
	reset time.Time // the grant's RateLimit-Reset instant
}

// maxHeld bounds the buckets held; expired ones go first.
const maxHeld = 10000

// want is how many requests to ask for on key's next check.
func (h *heldBatch) want(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.m[key]; ok {
		return e.want
	}
	return 1
}

// spend serves one request of key from its held batch, if one is held and
// its hold has not passed.
func (h *heldBatch) spend(key string, now time.Time) (Result, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.m[key]
	if !ok || e.left == 0 {
		return Result{}, false
	}
	if !now.Before(e.sent.Add(h.hold)) {
		e.want = max(e.n-e.left, 1) // lapsed: ask for what was spent
		e.left = 0
		return Result{}, false
	}
	e.left--
	res := e.res
	res.Remaining += e.left
	res.ResetAfter = max(e.reset.Sub(now), 0)
	if e.left == 0 {
		e.want = e.n
		if now.Sub(e.sent) < h.hold/2 {
			e.want = min(2*e.n, h.max)
		}
	}
	return res, true
}

// put records a grant of n requests of key, asked for at sent, whose first
// is being served, and returns that request's answer.
func (h *heldBatch) put(key string, res Result, n int, sent time.Time) Result {
	if h.max <= 1 || n < 1 {
		return res
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.m[key]
	if !ok {
		if h.m == nil {
			h.m = map[string]*held{}
		}
		if len(h.m) >= maxHeld {
			h.evict(sent)
		}
		e = &held{want: 1}
		h.m[key] = e
	}
	if n == 1 {
		// Served at once: ask for two next time (the script grants fewer
		// while the bucket's debt is under the hold).
		e.want = min(max(e.want, 2), h.max)
		return res
	}
	g := held{want: e.want, n: n, left: n - 1, res: res, sent: sent, reset: sent.Add(res.ResetAfter)}
	if e.left > 0 && sent.Before(e.sent.Add(h.hold)) {
		// Another request of this instance took a batch meanwhile: keep
		// both, spent within the older one's hold, answered with the
		// fewer remaining (the later grant's) and the later reset.
		g.n, g.left, g.sent = e.n+n, e.left+n-1, minTime(e.sent, sent)
		g.res.Remaining = min(e.res.Remaining, res.Remaining)
		if e.reset.After(g.reset) {
			g.reset = e.reset
		}
	}
	*e = g
	res.Remaining = g.res.Remaining + g.left
	res.ResetAfter = max(g.reset.Sub(sent), 0)
	return res
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// evict drops the buckets whose batches are spent or past their hold, or
// every bucket when none is.
func (h *heldBatch) evict(now time.Time) {
	for k, e := range h.m {
		if e.left == 0 || !now.Before(e.sent.Add(h.hold)) {
			delete(h.m, k)
		}
	}
	if len(h.m) >= maxHeld {
		clear(h.m)
	}
}

// forget drops key's held batch: it lapses.
func (h *heldBatch) forget(key string) {
	h.mu.Lock()
	delete(h.m, key)
	h.mu.Unlock()
}
