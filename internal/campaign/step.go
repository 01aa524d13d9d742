package campaign

import (
	"context"
	randv2 "math/rand/v2"
	"strings"
)

func defaultRand() float64 { return randv2.Float64() }

// filter is what the next claim may take: known contacts only while the
// new-contact lane is closed, except for the lane's single probe.
func (r *chunkRun) filter() (f ClaimFilter, probing bool) {
	f = ClaimFilter{InstanceID: r.job.Instance.ID, Lane: ClaimAny, NeedCheck: r.job.Instance.CheckNumbers, Gen: r.job.ChunkGen,
		Assigned: r.pool, NoWebhooks: r.job.NoWebhooks}
	if closed, _, _ := r.gate.state(); closed {
		f.Lane = ClaimKnown
		if r.gate.takeProbe() {
			f.Lane, probing = ClaimNew, true
		}
	}
	return f, probing
}

// giveProbe hands an unused probe back to the invocation.
func (r *chunkRun) giveProbe() {
	r.gate.mu.Lock()
	r.gate.probe = true
	r.gate.mu.Unlock()
}

// settleProbe reopens the lane after a probe that went out; a probe that
// failed otherwise gives the probe back for a later try.
func (r *chunkRun) settleProbe(ctx context.Context, sendErr error) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if sendErr == nil {
		err = r.w.safety().OpenNewLane(ctx, r.job.Instance.ID, r.w.now())
		r.log.InfoContext(ctx, "probe sent: new-contact sending reopened")
	} else {
		err = r.w.safety().ReleaseLaneProbe(ctx, r.job.Instance.ID)
	}
	if err != nil {
		r.log.WarnContext(ctx, "lane probe not settled; it frees itself in minutes", "error", err.Error())
	}
}

// describeLimit names a new-contact limit for a person.
func describeLimit(reason string) string {
	switch reason {
	case LimitNewPerHour:
		return "hourly new-contact budget"
	case LimitNewPerDay:
		return "daily new-contact budget"
	case LimitIdenticalText:
		return "identical-text limit"
	}
	return reason
}

// batchSends is the most sends a loop asks the limiter for at once.
const batchSends = 16

// grantKind is what a grant's sends may be used for: known contacts, or
// first messages of one text.
func grantKind(p SendPolicy) string {
	if p.NewContact {
		return "new:" + p.TextHash
	}
	return "known"
}

// sameKind reports whether kind is grantKind(p), without building it.
func sameKind(kind string, p SendPolicy) bool {
	if !p.NewContact {
		return kind == "known"
	}
	rest, ok := strings.CutPrefix(kind, "new:")
	return ok && rest == p.TextHash
}

// fromGrant starts the send of p on the loop's held grant when it covers
// another send of p's kind, still in time (Until): no limiter call. A
// probe always asks the limiter.
func (r *chunkRun) fromGrant(cur *cursor, p SendPolicy, probing bool) bool {
	g := &cur.slot
	if probing || !g.Granted || g.Used >= g.Units || !sameKind(cur.kind, p) || !r.w.now().Before(g.Until) {
		return false
	}
	g.Used++
	return true
}

// ask is how many sends the loop's next reservation asks for (nextAsk),
// noted for the reservation after it.
func (r *chunkRun) ask(cur *cursor, probing bool) int {
	n := r.nextAsk(cur, probing)
	if !probing && r.grantsSeveral() {
		cur.asked = n
	}
	return n
}

// nextAsk is how many sends the loop's next reservation asks for: several
// only when the instance draws no gap between sends and shows no typing
// (a grant's sends must start within its Until), and no more than the
// loop's last grant of several used when it gave some back (a text that
// changes from recipient to recipient, sends slower than Until), growing
// again while grants are used up.
func (r *chunkRun) nextAsk(cur *cursor, probing bool) int {
	if probing || !r.grantsSeveral() {
		return 1
	}
	switch g := cur.slot; {
	case cur.asked == 0:
		return batchSends
	case g.Granted && g.Used < g.Units:
		return max(g.Used, 1)
	case g.Granted:
		return min(2*max(g.Units, 1), batchSends)
	}
	return cur.asked
}
