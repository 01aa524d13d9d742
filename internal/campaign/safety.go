package campaign

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert/quote"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// SafetyStore is the storage of the rules that keep numbers alive: the
// new-contact lane of an instance, its number-check cache and the delivery
// guard's window. *postgres.DB implements it.
type SafetyStore interface {
	// LockNewLane locks the instance's new-contact lane after a reach-out
	// lock; fresh is false when a lock was already running.
	LockNewLane(ctx context.Context, instanceID string, now time.Time) (lane Lane, fresh bool, err error)
	// PauseNewLane pauses the open lane until probeAt; false when it was
	// already closed.
	PauseNewLane(ctx context.Context, instanceID, reason string, now, probeAt time.Time) (bool, error)
	// TakeLaneProbe takes the single probe send of a closed lane whose
	// wait has ended; ReleaseLaneProbe gives it back unused; OpenNewLane
	// reopens the lane after a successful probe (the delivery guard then
	// counts only sends after now).
	TakeLaneProbe(ctx context.Context, instanceID string, now time.Time) (bool, error)
	ReleaseLaneProbe(ctx context.Context, instanceID string) error
	OpenNewLane(ctx context.Context, instanceID string, now time.Time) error
	// RecentNewDeliveries counts the instance's last n first messages sent
	// before `before`, and how many of them were delivered; next is the
	// earliest first message sent at or after `before` (nil: none), the
	// next one that can enter that window.
	RecentNewDeliveries(ctx context.Context, instanceID string, before time.Time, n int) (delivered, total int, next *time.Time, err error)
	// UncheckedNew lists up to limit pending new contacts of the chunk
	// without a number check newer than since.
	UncheckedNew(ctx context.Context, campaignID string, lo, hi int, instanceID string, limit int, since time.Time) ([]string, error)
	// SaveNumberChecks caches check answers for the tenant and skips the
	// chunk's recipients that are not on WhatsApp, returning how many.
	SaveNumberChecks(ctx context.Context, tenantID, campaignID string, lo, hi int, checks []NumberCheck, at time.Time) (int, error)
}

// NumberChecker asks WuzAPI which phones are on WhatsApp.
type NumberChecker interface {
	CheckNumbers(ctx context.Context, inst Instance, phones []string) ([]NumberCheck, error)
}

// Typist shows "typing…" in the chat with phone.
type Typist interface {
	Typing(ctx context.Context, inst Instance, phone string) error
}

// CheckThrottle spaces number checks of one instance fleet-wide.
type CheckThrottle interface {
	TakeCheckSlot(ctx context.Context, instanceID string) (ok bool, wait time.Duration, err error)
}

// CheckNumbers asks the instance's WuzAPI about phones (at most
// wuzapi.MaxCheckBatch). A phone WuzAPI does not answer about is left out
// (unknown, checked again later).
func (m WuzapiMessenger) CheckNumbers(ctx context.Context, inst Instance, phones []string) ([]NumberCheck, error) {
	users, err := m.client(inst).CheckUsers(ctx, phones)
	if err != nil {
		return nil, err
	}
	out := make([]NumberCheck, 0, len(users))
	for _, p := range phones {
		u, ok := users[p]
		if !ok {
			continue
		}
		c := NumberCheck{Phone: p, OnWhatsApp: u.IsInWhatsapp}
		if c.OnWhatsApp {
			c.SendPhone = u.Phone()
		}
		out = append(out, c)
	}
	return out, nil
}

// Typing sets the chat presence to composing.
func (m WuzapiMessenger) Typing(ctx context.Context, inst Instance, phone string) error {
	return m.client(inst).ChatPresence(ctx, phone, wuzapi.Composing)
}

// Typing time: 40 ms per character of the final text, ±30 % jitter,
// within [MinTyping, MaxTyping].
const (
	TypingPerChar = 40 * time.Millisecond
	TypingJitter  = 0.3
	MinTyping     = time.Second
	MaxTyping     = 8 * time.Second
)

// TypingDuration is how long "typing…" shows before text goes out; r is a
// uniform draw in [0, 1) for the jitter.
func TypingDuration(text string, r float64) time.Duration {
	base := float64(utf8.RuneCountInString(text)) * float64(TypingPerChar)
	d := time.Duration(math.Round(base * (1 - TypingJitter + 2*TypingJitter*r)))
	return min(max(d, MinTyping), MaxTyping)
}

// BlockedReason is the campaign reason for an instance that may not send:
// what happened and what to do.
func BlockedReason(instanceName, blocked string, banCode *int, until *time.Time) string {
	switch blocked {
	case "temporary_ban":
		why := "temporarily banned by WhatsApp"
		if banCode != nil {
			why = "temporarily banned by WhatsApp: " + wuzapi.BanReason(*banCode)
		}
		if until != nil {
			return fmt.Sprintf("auto-paused: %s is %s, until %s; resume the campaign after that", instanceName, why, until.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("auto-paused: %s is %s; resume the campaign once it is lifted", instanceName, why)
	case "logged_out":
		return fmt.Sprintf("auto-paused: %s was logged out of WhatsApp; pair it again (QR code), set its webhook again, then resume", instanceName)
	}
	return fmt.Sprintf("auto-paused: the instance is blocked (%s)", blocked)
}

// Delivery guard: among an instance's last GuardWindow first messages older
// than GuardAge, fewer than GuardMinDelivered delivered pauses the lane
// for GuardProbeAfter.
const (
	GuardWindow       = 10
	GuardAge          = 15 * time.Minute
	GuardMinDelivered = 4
	GuardProbeAfter   = 6 * time.Hour
)

// newGate is what one chunk invocation learned about the new-contact lane:
// once closed, its loops claim known contacts only.
type newGate struct {
	mu     sync.Mutex
	closed bool
	until  time.Time
	reason string
	probe  bool // this invocation holds the lane's probe
	// laneHere: the instance's lane itself closed during this invocation
	// (a reach-out lock or the delivery guard), not a budget wait.
	laneHere bool
	// guardClearUntil: the delivery guard found nothing to pause and its
	// window cannot change before then (guardRecheck).
	guardClearUntil time.Time
}

// closeLane closes the gate because the instance's lane closed now.
func (g *newGate) closeLane(until time.Time, reason string) {
	g.close(until, reason)
	g.mu.Lock()
	g.laneHere = true
	g.mu.Unlock()
}

func (g *newGate) laneClosedHere() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.laneHere
}

func (g *newGate) close(until time.Time, reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed || until.Before(g.until) {
		g.until = until
	}
	g.closed, g.reason = true, reason
}

func (g *newGate) state() (closed bool, until time.Time, reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed, g.until, g.reason
}

func (g *newGate) hasProbe() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.probe
}

// takeProbe reports whether the caller may claim the probe's new contact
// (only once per invocation).
func (g *newGate) takeProbe() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.probe {
		return false
	}
	g.probe = false
	return true
}

// GuardWindowState is the delivery guard's window of an instance read at
// At: of its last GuardWindow first messages sent before At less GuardAge
// (and since its lane last reopened), Total and how many were Delivered;
// Next is its earliest first message sent since (nil: none).
type GuardWindowState struct {
	InstanceID       string
	At               time.Time
	Delivered, Total int
	Next             *time.Time
}

// clear reports whether the window holds no reason to pause.
func (s GuardWindowState) clear() bool {
	return s.Total < GuardWindow || s.Delivered >= GuardMinDelivered
}

// openGate starts an invocation's gate from the instance's lane: a closed
// lane whose wait has ended gives one probe, if no other worker took it.
// A guard window the load read with no reason to pause holds as the
// guard's own read would (guardRecheck), so the invocation's first
// messages read it again only once it may have changed.
func (w *Worker) openGate(ctx context.Context, job Job, now time.Time) (*newGate, error) {
	g := &newGate{}
	if s := job.Guard; s != nil && s.InstanceID == job.Instance.ID && s.clear() {
		g.guardClearUntil = guardRecheck(s.At, s.Next)
	}
	l := job.Lane
	if l.State == LaneOpen {
		return g, nil
	}
	if l.Until != nil && !l.Until.After(now) {
		ok, err := w.safety().TakeLaneProbe(ctx, job.Instance.ID, now)
		if err != nil {
			return nil, err
		}
		g.probe = ok
	}
	until := now.Add(MaxQueueDelay)
	if l.Until != nil && l.Until.After(now) {
		until = *l.Until
	}
	reason := l.Reason
	if reason == "" {
		reason = "waiting: new-contact sending of " + job.Instance.Name + " is " + l.State
	}
	g.close(until, reason)
	return g, nil
}

func (w *Worker) safety() SafetyStore {
	if s, ok := w.Store.(SafetyStore); ok {
		return s
	}
	return noSafety{}
}

// noSafety is the lane store of a Store without one: the lane is always
// open and nothing is cached.
type noSafety struct{}

func (noSafety) LockNewLane(context.Context, string, time.Time) (Lane, bool, error) {
	return Lane{}, false, nil
}
func (noSafety) PauseNewLane(context.Context, string, string, time.Time, time.Time) (bool, error) {
	return false, nil
}
func (noSafety) TakeLaneProbe(context.Context, string, time.Time) (bool, error) { return false, nil }
func (noSafety) ReleaseLaneProbe(context.Context, string) error                 { return nil }
func (noSafety) OpenNewLane(context.Context, string, time.Time) error           { return nil }
func (noSafety) RecentNewDeliveries(context.Context, string, time.Time, int) (int, int, *time.Time, error) {
	return 0, 0, nil, nil
}
func (noSafety) UncheckedNew(context.Context, string, int, int, string, int, time.Time) ([]string, error) {
	return nil, nil
}
func (noSafety) SaveNumberChecks(context.Context, string, string, int, int, []NumberCheck, time.Time) (int, error) {
	return 0, nil
}

// NumberCheckTTL is how long a number check answer is trusted.
const NumberCheckTTL = 30 * 24 * time.Hour

// checkNumbers makes sure the chunk's next new contacts have a number
// check: one /user/check of at most wuzapi.MaxCheckBatch phones, at most
// one per instance per throttle interval fleet-wide. Recipients not on
// WhatsApp become skipped. When it cannot check, the gate closes: nothing
// goes out unchecked.
func (w *Worker) checkNumbers(ctx context.Context, log *slog.Logger, job Job, lo, hi int, g *newGate) error {
	checker, ok := w.Messenger.(NumberChecker)
	if !job.Instance.CheckNumbers || !ok {
		return nil
	}
	now := w.now()
	phones, err := w.safety().UncheckedNew(ctx, job.Campaign.ID, lo, hi, job.Instance.ID, wuzapi.MaxCheckBatch, now.Add(-NumberCheckTTL))
	if err != nil || len(phones) == 0 {
		return err
	}
	if t := w.checkThrottle(); t != nil {
		ok, wait, err := t.TakeCheckSlot(ctx, job.Instance.ID)
		if err != nil {
			g.close(now.Add(30*time.Second), "waiting: number check unavailable")
			return nil //nolint:nilerr // the gate closes for 30 s instead: the chunk waits, it does not fail
		}
		if !ok {
			g.close(now.Add(wait), "waiting: number check")
			return nil
		}
	}
	sendTimeout, _, _, _, _, _ := w.defaults()
	cctx, cancel := context.WithTimeout(ctx, sendTimeout)
	checks, err := checker.CheckNumbers(cctx, job.Instance, phones)
	cancel()
	if err != nil {
		log.WarnContext(ctx, "number check failed; new contacts wait", "error", err.Error())
		g.close(now.Add(30*time.Second), "waiting: number check failed on "+job.Instance.Name)
		return nil
	}
	skipped, err := w.safety().SaveNumberChecks(context.WithoutCancel(ctx), job.Instance.TenantID, job.Campaign.ID, lo, hi, checks, now)
	if skipped > 0 {
		log.InfoContext(ctx, "recipients not on WhatsApp skipped", "skipped", skipped)
	}
	return err
}

func (w *Worker) checkThrottle() CheckThrottle {
	if w.Checks != nil {
		return w.Checks
	}
	if t, ok := w.Limiter.(CheckThrottle); ok {
		return t
	}
	return nil
}

// typing shows "typing…" for the text's typing time before a send. A
// presence that fails is logged and the send goes on: the send itself
// will say whether the instance can send.
func (w *Worker) typing(ctx context.Context, log *slog.Logger, inst Instance, phone, text string) error {
	t, ok := w.Messenger.(Typist)
	if !inst.Typing || !ok {
		return nil
	}
	sendTimeout, _, _, _, _, _ := w.defaults()
	tctx, cancel := context.WithTimeout(ctx, sendTimeout)
	err := t.Typing(tctx, inst, phone)
	cancel()
	if err != nil {
		log.WarnContext(ctx, "typing presence failed", "error", err.Error())
		return nil
	}
	return w.sleep(ctx, TypingDuration(text, w.rand()))
}

func (w *Worker) rand() float64 {
	if w.Rand != nil {
		return w.Rand()
	}
	return defaultRand()
}

// reachOutLock handles a send WhatsApp refused with a reach-out lock: the
// recipient waits again with its attempt unspent, the instance's
// new-contact lane locks, known contacts keep going.
func (w *Worker) reachOutLock(ctx context.Context, log *slog.Logger, job Job, rec Claimed, g *newGate) error {
	if err := w.Store.Defer(ctx, job.Campaign.ID, rec.Phone, nil); err != nil {
		return err
	}
	lane, fresh, err := w.safety().LockNewLane(ctx, job.Instance.ID, w.now())
	if err != nil {
		return err
	}
	until := w.now().Add(MaxQueueDelay)
	if lane.Until != nil {
		until = *lane.Until
	}
	g.closeLane(until, lane.Reason)
	if fresh {
		log.WarnContext(ctx, "reach-out lock: new-contact sending stopped", "instance_id", job.Instance.ID, "until", until.Format(time.RFC3339))
		w.alert(ctx, "warning", "New-contact lock", job.Instance.ID, fmt.Sprintf("WhatsApp stopped %s from messaging new contacts until %s (error 463); known contacts keep being sent.",
			quote.Name(job.Instance.Name), until.UTC().Format(time.RFC3339)))
	}
	if len(job.Campaign.InstanceIDs) > 0 {
		return nil // a pool's reason lists every instance's wait at hand-back
	}
	return w.setReason(ctx, job, lane.Reason)
}

// guardDeliveries pauses the instance's new-contact lane when too few of
// its recent first messages were delivered. A verdict not to pause holds
// until a first message can enter the window (guardRecheck): until then
// the invocation asks again for nothing.
func (w *Worker) guardDeliveries(ctx context.Context, log *slog.Logger, job Job, g *newGate) error {
	now := w.now()
	g.mu.Lock()
	fresh := now.Before(g.guardClearUntil)
	g.mu.Unlock()
	if fresh {
		return nil
	}
	delivered, total, next, err := w.safety().RecentNewDeliveries(ctx, job.Instance.ID, now.Add(-GuardAge), GuardWindow)
	if err != nil {
		return err
	}
	if (GuardWindowState{Delivered: delivered, Total: total}).clear() {
		g.mu.Lock()
		g.guardClearUntil = guardRecheck(now, next)
		g.mu.Unlock()
		return nil
	}
	reason := fmt.Sprintf("paused: only %d of %d recent first messages were delivered", delivered, total)
	paused, err := w.safety().PauseNewLane(ctx, job.Instance.ID, reason, now, now.Add(GuardProbeAfter))
	if err != nil {
		return err
	}
	g.closeLane(now.Add(GuardProbeAfter), reason)
	if paused {
		log.WarnContext(ctx, "delivery guard: new-contact sending paused", "delivered", delivered, "window", total)
		w.alert(ctx, "warning", "Low delivery", job.Instance.ID, fmt.Sprintf("%s: new-contact sending %s; resume it from the instance once the number is healthy.", quote.Name(job.Instance.Name), reason))
	}
	return nil
}

// guardSlack covers first messages another worker had sent but not yet
// recorded when the guard looked (their sent time is taken before the
// write commits).
const guardSlack = time.Minute

// guardRecheck is when a guard verdict not to pause, reached at now, may
// no longer hold: when the earliest first message not yet in the window
// (next), or one recorded late, grows older than GuardAge. Until then the
// window's sends are the same; a delivery receipt or a reopened lane can
// only keep the verdict (more delivered, or fewer in the window).
func guardRecheck(now time.Time, next *time.Time) time.Time {
	at := now.Add(-guardSlack)
	if next != nil && next.Before(at) {
		at = *next
	}
	return at.Add(GuardAge)
}

func (w *Worker) alert(ctx context.Context, severity, typ, subject, message string) {
	if w.Alert != nil {
		w.Alert(context.WithoutCancel(ctx), severity, typ, subject, message)
	}
}
