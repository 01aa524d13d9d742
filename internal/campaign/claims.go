package campaign

import (
	"context"
	randv2 "math/rand/v2"
	"time"
)

// SentMark is a send a loop made and has not recorded yet: the
// recipient's phone and when the send went out. Until it is recorded the
// recipient stays sending, which no claim takes again.
type SentMark struct {
	Phone string
	At    time.Time
}

// ClaimBatcher is a Store that claims several recipients of a chunk in one
// statement: the bulk worker's claim, when the instance's limits grant
// several sends at once (no gap between two sends, no typing).
type ClaimBatcher interface {
	// ClaimSeveral records marks as MarkSent does and claims up to k due
	// pending recipients of [lo, hi) as Claim does, in one statement; the
	// claimed come back in seq order (none when nothing qualifies or the
	// campaign stopped). The claimed belong to batch (a token the loop
	// draws), whose progress starts at the first one's send; the progress
	// of the loop's previous batch prev (0: none), settled by now, goes.
	ClaimSeveral(ctx context.Context, campaignID string, marks []SentMark, lo, hi, k int, now time.Time, f ClaimFilter, batch, prev int64) ([]Claimed, error)
	// ClaimProgress comes before the send of a queued recipient (seq of
	// batch): true, and the batch's progress advanced to seq, while the
	// campaign runs f.Gen on an instance that is not blocked (what the
	// claim read) and the batch's progress is still kept; false, nothing
	// written, otherwise: the send must not start. After a crash, the
	// batch's recipients after its progress go back to pending, the others
	// become unknown (all of them when the progress is lost).
	ClaimProgress(ctx context.Context, campaignID string, batch int64, seq int, now time.Time, f ClaimFilter) (bool, error)
	// SettleClaims records marks as MarkSent does and puts the claimed
	// recipients unsent (phones) of batch back to pending, due now,
	// without spending their attempt (as Defer does), in one statement
	// that drops the batch's progress (batch 0: no recipient goes back).
	// noWebhooks as MarkSentState's.
	SettleClaims(ctx context.Context, campaignID string, marks []SentMark, unsent []string, batch int64, noWebhooks bool) error
	// SettleClaimsState is SettleClaims and ChunkState of [lo, hi) as it
	// is after it, in one statement.
	SettleClaimsState(ctx context.Context, campaignID string, marks []SentMark, unsent []string, batch int64, lo, hi int, noWebhooks bool) (pending int, nextAt *time.Time, err error)
}

// claimHold is how long after their claim the recipients a bulk claim
// queued may still start their sends; those not started by then go back
// to pending and are claimed again, as a grant's sends start within a
// second of being counted. Each queued send reads the campaign's state
// and the instance's block first (ClaimProgress), so a pause, a cancel or
// a block stops the loop before its next send, as with a claim a send.
const claimHold = time.Second

// grantsSeveral reports whether the instance's limits let one grant cover
// several sends: no gap drawn between two sends and no typing (a grant's
// sends must start within its Until).
func (r *chunkRun) grantsSeveral() bool {
	return r.policy.MinDelay <= 0 && r.policy.MaxDelay <= 0 && !r.job.Instance.Typing
}

// bulkClaims is the run's store when its loops claim several recipients a
// statement: the store can, the limiter grants several sends at once and
// the instance's limits let it; nil otherwise (one claim a send).
func (r *chunkRun) bulkClaims() ClaimBatcher {
	b, ok := r.w.Store.(ClaimBatcher)
	if _, several := r.w.Limiter.(BatchReserver); !ok || !several || !r.grantsSeveral() {
		return nil
	}
	return b
}

// claimSize is how many recipients a bulk claim takes: the loop's size
// (batchSends until a claim's queue outlives claimHold: then as many as
// the loop started within it, doubling again with each claim whose queue
// did not), and no more than the loop's live grant has left to start when
// that grant covers fewer sends than it asked for (the instance's windows
// had no room for more), so that a claim does not take recipients only
// for the limiter to refuse them and the loop to put them back. A grant of
// one send asked for one (texts that change from recipient to recipient,
// each first message a kind of its own) says nothing of the windows.
func (r *chunkRun) claimSize(cur *cursor) int {
	switch {
	case cur.late:
		cur.size = max(cur.started, 1)
	case cur.size > 0:
		cur.size = min(2*cur.size, batchSends)
	default:
		cur.size = batchSends
	}
	cur.late = false
	if g := cur.slot; g.Granted && g.Units < cur.asked {
		return min(cur.size, max(g.Units-g.Used, 1))
	}
	return cur.size
}

// claimSeveral claims up to claimSize recipients in one statement that
// records the loop's unrecorded sends, from the cursor on (from the
// chunk's start when nothing is left after it). It returns the first and
// queues the others, to be sent within claimHold. A claim that comes back
// short took all that was left after the cursor: the next one starts at
// the chunk's start.
func (r *chunkRun) claimSeveral(ctx context.Context, cur *cursor, f ClaimFilter, probing bool) (Claimed, bool, error) {
	k := 1
	if !probing {
		k = r.claimSize(cur)
	}
	batch := newBatch()
	recs, err := r.batch.ClaimSeveral(ctx, r.campaignID, cur.marks, cur.from, r.hi, k, r.w.now(), f, batch, cur.batch)
	if err != nil {
		return Claimed{}, false, err
	}
	cur.marks, cur.batch = cur.marks[:0], 0
	if len(recs) == 0 && cur.from > r.lo {
		cur.from = r.lo
		if recs, err = r.batch.ClaimSeveral(ctx, r.campaignID, nil, r.lo, r.hi, k, r.w.now(), f, batch, 0); err != nil {
			return Claimed{}, false, err
		}
	}
	if len(recs) == 0 {
		return Claimed{}, false, nil
	}
	cur.from = recs[len(recs)-1].Seq + 1
	if len(recs) < k {
		cur.from = r.lo
	}
	cur.queue, cur.filter, cur.until, cur.started, cur.batch = recs[1:], f, r.w.now().Add(claimHold), 1, batch
	return recs[0], true, nil
}

// newBatch draws a bulk claim's batch token (never 0, which means none).
func newBatch() int64 {
	for {
		if b := randv2.Int64(); b != 0 {
			return b
		}
	}
}

// fromQueue takes the loop's next queued recipient while the queue holds
// (queueHolds) and the store says its send may start (ClaimProgress: the
// campaign still runs, the instance is not blocked); otherwise it puts the
// queue back, noting a queue that outlived claimHold (the loop's next
// claims take fewer), and the loop claims again: a claim that finds the
// campaign stopped ends it. ok: rec was taken; failed: a statement failed
// (the run failed).
func (r *chunkRun) fromQueue(ctx context.Context, cur *cursor) (rec Claimed, ok, failed bool) {
	if len(cur.queue) == 0 {
		return rec, false, false
	}
	if r.queueHolds(cur) {
		may, err := r.batch.ClaimProgress(ctx, r.campaignID, cur.batch, cur.queue[0].Seq, r.w.now(), cur.filter)
		if err != nil {
			// The queue stays sending: its progress says the sends up
			// to the last one started, so the rest go back after the
			// stuck-send timeout.
			r.fail(err)
			return rec, false, true
		}
		if may {
			rec, cur.queue = cur.queue[0], cur.queue[1:]
			cur.started++
			return rec, true, false
		}
	}
	cur.late = !r.w.now().Before(cur.until)
	return rec, false, !r.putBack(ctx, cur, nil)
}

// queueHolds reports whether the loop's queued recipients may still be
// sent: within claimHold of their claim, and none a new contact while the
// new-contact lane is closed (another loop's refusal, a reach-out lock or
// the delivery guard may have closed it since the claim).
func (r *chunkRun) queueHolds(cur *cursor) bool {
	if !r.w.now().Before(cur.until) {
		return false
	}
	if closed, _, _ := r.gate.state(); !closed || cur.filter.Lane == ClaimKnown {
		return true
	}
	for _, q := range cur.queue {
		if q.New {
			return false
		}
	}
	return true
}

// putBack records the loop's unrecorded sends and puts its claimed
// recipients not sent (rec when given, and the queue) back to pending
// with their attempts unspent, in one statement; the cursor goes back to
// the first of them. False (the run failed) when the statement failed:
// they stay sending, and become unknown.
func (r *chunkRun) putBack(ctx context.Context, cur *cursor, rec *Claimed) bool {
	unsent := make([]string, 0, len(cur.queue)+1)
	if rec != nil {
		unsent = append(unsent, rec.Phone)
		cur.from = min(cur.from, rec.Seq)
	}
	for _, q := range cur.queue {
		unsent = append(unsent, q.Phone)
		cur.from = min(cur.from, q.Seq)
	}
	if len(unsent) == 0 && len(cur.marks) == 0 {
		return true
	}
	err := r.batch.SettleClaims(context.WithoutCancel(ctx), r.campaignID, cur.marks, unsent, cur.batch, r.job.NoWebhooks)
	cur.queue, cur.marks, cur.batch = nil, cur.marks[:0], 0
	if err != nil {
		r.fail(err)
		return false
	}
	return true
}

// recordMarks records a bulk loop's unrecorded sends before a failed send
// is settled, so that the failure share it reads counts them; false when
// the store failed. A loop of one claim a send has none here: its claim
// recorded the last.
func (r *chunkRun) recordMarks(ctx context.Context, cur *cursor) bool {
	if len(cur.marks) == 0 || r.batch == nil {
		return true
	}
	err := r.batch.SettleClaims(context.WithoutCancel(ctx), r.campaignID, cur.marks, nil, 0, r.job.NoWebhooks)
	cur.marks = cur.marks[:0]
	if err != nil {
		r.fail(err)
		return false
	}
	return true
}

// unclaim puts a claimed recipient whose send did not go out back to
// pending with its attempt unspent; a bulk loop's queue and unrecorded
// sends go in the same statement. False when the store failed.
func (r *chunkRun) unclaim(ctx context.Context, cur *cursor, rec Claimed) bool {
	if r.batch != nil {
		return r.putBack(ctx, cur, &rec)
	}
	if err := r.w.Store.Defer(context.WithoutCancel(ctx), r.campaignID, rec.Phone, nil); err != nil {
		r.fail(err)
		return false
	}
	return true
}

// settleHeld is markHeld for a bulk loop that ends with several sends
// unrecorded or recipients queued: one statement records the sends and
// puts the queued back, with the chunk's state when it is the run's only
// loop.
func (r *chunkRun) settleHeld(ctx context.Context, cur *cursor) {
	ctx = context.WithoutCancel(ctx)
	if r.conc != 1 || r.pool {
		r.putBack(ctx, cur, nil)
		return
	}
	unsent := make([]string, len(cur.queue))
	for i, q := range cur.queue {
		unsent[i] = q.Phone
	}
	pending, nextAt, err := r.batch.SettleClaimsState(ctx, r.campaignID, cur.marks, unsent, cur.batch, r.lo, r.hi, r.job.NoWebhooks)
	cur.queue, cur.marks, cur.batch = nil, cur.marks[:0], 0
	if err != nil {
		r.fail(err)
		return
	}
	r.state = &chunkState{pending: pending, nextAt: nextAt}
}
