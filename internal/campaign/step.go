package campaign

import (
	"context"
	randv2 "math/rand/v2"
)

func defaultRand() float64 { return randv2.Float64() }

// filter is what the next claim may take: known contacts only while the
// new-contact lane is closed, except for the lane's single probe.
func (r *chunkRun) filter() (f ClaimFilter, probing bool) {
	f = ClaimFilter{InstanceID: r.job.Instance.ID, Lane: ClaimAny, NeedCheck: r.job.Instance.CheckNumbers, Gen: r.job.ChunkGen,
		Assigned: r.pool}
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
