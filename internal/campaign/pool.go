package campaign

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert/quote"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// PoolMember is one instance of a campaign's pool with what stops it
// sending.
type PoolMember struct {
	Instance     Instance
	Blocked      string // "logged_out", "temporary_ban" or ""
	BanCode      *int
	BlockedUntil *time.Time
	// Connected and LoggedIn are the last session check (nil: never checked).
	Connected, LoggedIn *bool
	Lane                Lane
}

// PoolStore is the storage of pool campaigns. *postgres.DB implements it.
type PoolStore interface {
	// PoolMembers returns the campaign's pool in order.
	PoolMembers(ctx context.Context, campaignID string) ([]PoolMember, error)
	// AssignPool gives the chunk's pending recipients an instance: a
	// contact known to one of senders goes to it; a recipient with no
	// instance, on one not in senders, or new to its instance when that one
	// is not in fresh, moves (known ones to their instance, new ones to
	// slots in seq order). Only pending recipients change.
	AssignPool(ctx context.Context, campaignID string, lo, hi int, senders, fresh, slots []string) (int, error)
	// MarkSessionDown records that a send found the instance not connected
	// or not paired.
	MarkSessionDown(ctx context.Context, instanceID string, notConnected, notPaired bool, at time.Time) error
}

// blocked reports whether the member may send nothing at now: banned,
// logged out, or its last session check saw it disconnected or unpaired.
func (m PoolMember) blocked(now time.Time) bool {
	if m.Blocked != "" && (m.BlockedUntil == nil || m.BlockedUntil.After(now)) {
		return true
	}
	return (m.Connected != nil && !*m.Connected) || (m.LoggedIn != nil && !*m.LoggedIn)
}

// mayReachNew reports whether the member may message new contacts at now:
// its lane is open, or its wait ended and its probe may go.
func (m PoolMember) mayReachNew(now time.Time) bool {
	return m.Lane.State == LaneOpen || (m.Lane.Until != nil && !m.Lane.Until.After(now))
}

// blockedNote says why the member can send nothing, and what to do, for a
// pool campaign's reason: "<name>: <why>".
func (m PoolMember) blockedNote(now time.Time) string {
	return m.blockedNoteNamed(now, m.Instance.Name)
}

// blockedNoteNamed is blockedNote with the instance called name (an alert
// text names it quoted).
func (m PoolMember) blockedNoteNamed(now time.Time, name string) string {
	if m.Blocked != "" && (m.BlockedUntil == nil || m.BlockedUntil.After(now)) {
		switch m.Blocked {
		case "temporary_ban":
			why := "temporarily banned by WhatsApp"
			if m.BanCode != nil {
				why += " (" + wuzapi.BanReason(*m.BanCode) + ")"
			}
			if m.BlockedUntil != nil {
				why += " until " + m.BlockedUntil.UTC().Format(time.RFC3339)
			}
			return name + ": " + why
		case "logged_out":
			return name + ": logged out of WhatsApp; pair it again (QR code) and set its webhook again"
		}
		return name + ": blocked (" + m.Blocked + ")"
	}
	return name + ": not connected to WhatsApp; connect it (or pair it again)"
}

// runNote is a pool run's wait for its campaign's reason, "<name>:
// <why>": the run's own reason without its "waiting: " head and its " on
// <name>" (the name leads instead).
func runNote(name, reason string) string {
	reason = strings.TrimPrefix(reason, "waiting: ")
	reason = strings.Replace(reason, " on "+name, "", 1)
	return name + ": " + reason
}

// poolReason is a pool campaign's reason: each instance that waits or
// cannot send, with why, in pool order, after head ("waiting: ",
// "auto-paused: no instance of the pool can send: ").
func poolReason(head string, notes []string) string {
	return head + strings.Join(notes, "; ")
}

// poolPlan is which members send this invocation and where new contacts go.
type poolPlan struct {
	senders []PoolMember // may send (not banned, logged out or disconnected)
	fresh   []string     // senders that may also message new contacts
	slots   []string     // the instance of each successive new contact to place
}

// planPool sorts the members and lays out n slots for new contacts: each
// to the fresh member with the most new-contact budget left today (ties in
// pool order), counting down as it goes, so a pool with equal budgets takes
// turns. A member with no budget left today takes new contacts only when
// no member has any. Budgets the limiter cannot read count as equal.
func (w *Worker) planPool(ctx context.Context, members []PoolMember, loc *time.Location, n int, now time.Time) poolPlan {
	var p poolPlan
	type cand struct {
		id   string
		left int
	}
	var fresh []cand
	reader, _ := w.Limiter.(BudgetReader)
	for _, m := range members {
		if m.blocked(now) {
			continue
		}
		p.senders = append(p.senders, m)
		if !m.mayReachNew(now) {
			continue
		}
		c := cand{id: m.Instance.ID}
		if reader != nil {
			if t, err := reader.Today(ctx, m.Instance.Policy(loc)); err == nil {
				c.left = t.NewContactsLeft()
			}
		}
		fresh = append(fresh, c)
	}
	if anyLeft := func() bool {
		for _, c := range fresh {
			if c.left > 0 {
				return true
			}
		}
		return false
	}(); anyLeft {
		kept := fresh[:0]
		for _, c := range fresh {
			if c.left > 0 {
				kept = append(kept, c)
			}
		}
		fresh = kept
	}
	for _, c := range fresh {
		p.fresh = append(p.fresh, c.id)
	}
	for range n {
		if len(fresh) == 0 {
			break
		}
		best := 0
		for i, c := range fresh {
			if c.left > fresh[best].left {
				best = i
			}
		}
		p.slots = append(p.slots, fresh[best].id)
		fresh[best].left--
	}
	return p
}

// startPool starts a chunk of a pool campaign: it places the chunk's
// recipients on the pool's instances and returns one run per instance that
// can send, each claiming only its own recipients with its own limits and
// new-contact lane. With no instance able to send, the campaign pauses.
func (w *Worker) startPool(ctx context.Context, log *slog.Logger, campaignID string, n int, job Job, now time.Time) ([]*chunkRun, error) {
	ps, ok := w.Store.(PoolStore)
	if !ok {
		return nil, fmt.Errorf("campaign %s has a pool but the store has no pools", campaignID)
	}
	members, err := ps.PoolMembers(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	loc := job.Location
	if loc == nil {
		loc = time.UTC
	}
	size := job.Campaign.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	plan := w.planPool(ctx, members, loc, size, now)
	if len(plan.senders) == 0 {
		return nil, w.pausePool(ctx, campaignID, members, now)
	}
	ids := make([]string, len(plan.senders))
	for i, m := range plan.senders {
		ids[i] = m.Instance.ID
	}
	lo, hi := ChunkRange(n, size)
	if job.SliceEnd > 0 {
		hi = min(hi, job.SliceEnd) // a staged rollout holds the rest
	}
	if _, err := ps.AssignPool(ctx, campaignID, lo, hi, ids, plan.fresh, plan.slots); err != nil {
		return nil, err
	}
	runs := make([]*chunkRun, 0, len(plan.senders))
	var blocked []string
	for _, m := range members {
		if m.blocked(now) {
			blocked = append(blocked, m.blockedNote(now))
		}
	}
	for _, m := range plan.senders {
		mj := job
		mj.Instance, mj.Lane, mj.InstanceBlocked, mj.BanCode, mj.BlockedUntil = m.Instance, m.Lane, "", nil, nil
		r := w.newRun(ctx, log.With("instance_id", m.Instance.ID), campaignID, n, mj)
		r.pool, r.poolBlocked = true, blocked
		if r.gate, err = w.openGate(ctx, mj, now); err != nil {
			return nil, fmt.Errorf("new-contact lane of %s in chunk %d of campaign %s: %w", m.Instance.ID, n, campaignID, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// pausePool pauses a pool campaign none of whose instances can send, with
// every instance's reason.
func (w *Worker) pausePool(ctx context.Context, campaignID string, members []PoolMember, now time.Time) error {
	paused, err := w.Store.AutoPause(ctx, campaignID, "instance_blocked", pausedPoolReason(members, now, nil))
	if err != nil {
		return fmt.Errorf("pause pool campaign %s: %w", campaignID, err)
	}
	if paused {
		w.alert(ctx, "critical", "Pool blocked", campaignID, pausedPoolReason(members, now, quote.Name))
	}
	return nil
}

// pausedPoolReason is the reason of a pool campaign none of whose members
// can send, each member named by name(its name) (as it is when name is nil).
func pausedPoolReason(members []PoolMember, now time.Time, name func(string) string) string {
	if len(members) == 0 {
		return "auto-paused: the campaign's pool has no instance"
	}
	notes := make([]string, len(members))
	for i, m := range members {
		n := m.Instance.Name
		if name != nil {
			n = name(n)
		}
		notes[i] = m.blockedNoteNamed(now, n)
	}
	return poolReason("auto-paused: no instance of the pool can send: ", notes) + "; resume the campaign once one can"
}

// sessionDown records, for a pool, that the run's instance refused a send
// because it is not connected or not paired, and hands the chunk back at
// once: the next invocation moves its recipients to the pool's others.
func (r *chunkRun) sessionDown(ctx context.Context, sendErr error) error {
	kind := wuzapi.KindOf(sendErr)
	notPaired := kind == wuzapi.KindNotPaired
	ps, _ := r.w.Store.(PoolStore)
	if ps != nil {
		if err := ps.MarkSessionDown(ctx, r.job.Instance.ID, !notPaired, notPaired, r.w.now()); err != nil {
			return err
		}
	}
	r.log.WarnContext(ctx, "pool instance cannot send; its recipients move to the others", "error", sendErr.Error())
	r.hb.request(0)
	return nil
}

// handBackPool plans each run's hand-back and puts the chunk back once,
// after the earliest delay any run asked for, and sets the campaign's
// reason to every instance's wait (and those that cannot send), so no
// instance's reason hides another's. A run whose new-contact lane
// closed during this invocation (a reach-out lock, the delivery guard)
// brings the chunk back at once, so its new contacts move to the others. A
// chunk with recipients left that no run can take comes back in a minute.
func (w *Worker) handBackPool(ctx context.Context, runs []*chunkRun) error {
	first := runs[0]
	stopped := false
	var notes []string
	for _, r := range runs {
		if err := r.planHandBack(ctx); err != nil {
			return err
		}
		if r.waitReason != "" {
			notes = append(notes, runNote(r.job.Instance.Name, r.waitReason))
		}
		if r.gate.laneClosedHere() {
			first.hb.request(0)
		}
		if r.hb.set {
			first.hb.request(r.hb.delay)
		}
		stopped = stopped || r.stop.Load()
	}
	if len(notes) > 0 {
		if err := w.setReason(ctx, first.job, poolReason("waiting: ", append(notes, first.poolBlocked...))); err != nil {
			return fmt.Errorf("chunk %d of campaign %s: %w", first.n, first.campaignID, err)
		}
	}
	if !first.hb.set && !stopped {
		pending, _, err := w.Store.ChunkState(ctx, first.campaignID, first.lo, first.hi)
		if err != nil {
			return fmt.Errorf("chunk %d of campaign %s state: %w", first.n, first.campaignID, err)
		}
		if pending > 0 {
			first.hb.request(time.Minute)
		}
	}
	if err := w.clearWaiting(ctx, first.job); err != nil {
		return fmt.Errorf("chunk %d of campaign %s: %w", first.n, first.campaignID, err)
	}
	return first.finishHandBack(ctx)
}
