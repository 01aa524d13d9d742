package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert/quote"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// Job is everything a worker needs to send one chunk of a campaign.
type Job struct {
	Campaign         Campaign
	Instance         Instance
	Location         *time.Location     // the tenant's time zone
	TenantQuietHours *tenant.QuietHours // the tenant's default quiet hours
	// InstanceBlocked is why the instance must not send ("logged_out",
	// "temporary_ban", set by its webhook events), "" when it may.
	InstanceBlocked string
	// BanCode is the TemporaryBan code (nil when none was given) and
	// BlockedUntil its expiry (nil: until a new pairing).
	BanCode      *int
	BlockedUntil *time.Time
	// Lane is the instance's new-contact lane.
	Lane Lane
	// ChunkGen is the campaign's chunk generation: a message of another
	// generation is stale.
	ChunkGen int64
	// RolloutHoldFrom is when a staged rollout's hold began and
	// RolloutReleasedAt when its rest was released (nil: not yet).
	RolloutHoldFrom, RolloutReleasedAt *time.Time
	// SliceEnd, when above 0, is the seq at which this invocation stops:
	// a staged rollout holds the rest, which comes back after HoldWait.
	SliceEnd int
	HoldWait time.Duration
	// Started: loading the job started the chunk (the campaign is running).
	Started bool
	// Guard is the delivery guard's window of the instance as the load read
	// it (nil: not read).
	Guard *GuardWindowState
	// NoWebhooks: the tenant had no webhook endpoint when the job was
	// loaded, so the invocation's sent marks record no event whose
	// delivery run to nudge (an endpoint made meanwhile gets its
	// deliveries from the scheduler's relay).
	NoWebhooks bool

	// reason: the invocation's note of the campaign's reason, shared by
	// its runs.
	reason *reasonNote
}

// Lane states of an instance's new-contact lane.
const (
	LaneOpen   = ""
	LaneLocked = "locked" // a reach-out lock (WhatsApp error 463)
	LanePaused = "paused" // the delivery guard
)

// Lane is an instance's new-contact lane: while it is locked or paused no
// first message goes to a new contact (known contacts keep being sent);
// after Until one probe send may try again.
type Lane struct {
	State  string
	Until  *time.Time
	Reason string // for a person
}

// Claimed is a recipient a worker has moved pending → sending.
type Claimed struct {
	Phone      string
	Name       string
	Vars       map[string]string
	Attempts   int // including this one
	Generation int
	MessageID  string // written at claim time, before the send
	// New is a first message to a contact who never wrote to the instance.
	New bool
	// SendPhone is the number to send to: the checked WhatsApp number when
	// it differs from Phone (older Brazilian mobiles lack the 9th digit).
	SendPhone string
	// Seq is the recipient's place in the campaign.
	Seq int
}

// Which recipients a claim may take.
const (
	ClaimAny   = "any"
	ClaimKnown = "known" // only contacts who wrote to the instance
	ClaimNew   = "new"   // only the others
)

// ClaimFilter narrows a claim to what the instance may send now.
type ClaimFilter struct {
	InstanceID string
	Lane       string // ClaimAny ("" too), ClaimKnown or ClaimNew
	// NeedCheck: a new contact is taken only once a number check said it
	// is on WhatsApp.
	NeedCheck bool
	// Gen is the chunk generation of the worker's message: nothing is
	// claimed once the campaign has moved to another.
	Gen int64
	// Assigned (a pool campaign): only recipients already given to
	// InstanceID are taken.
	Assigned bool
	// NoWebhooks: the tenant has no webhook endpoint (Job.NoWebhooks), so
	// a claim carrying a sent mark need not read which endpoints its
	// event gave a delivery.
	NoWebhooks bool
}

// NumberCheck is one number's check answer: whether it is on WhatsApp and
// the number WhatsApp knows it by.
type NumberCheck struct {
	Phone      string
	OnWhatsApp bool
	SendPhone  string
}

// Store is the worker's view of storage. Every method is one statement, so
// a crash between two of them leaves a state the scheduler can settle.
type Store interface {
	// ChunkJob loads the campaign with its instance and tenant settings (as
	// they were before the start), or a NOT_FOUND error, and in the same
	// statement starts the chunk when a message of generation gen may run
	// at now: the campaign queued or running, due (scheduled at most a
	// second ahead), and its instance not blocked unless it has a pool. A
	// start moves a queued campaign to running and stamps its progress;
	// Job.Started says whether it took.
	ChunkJob(ctx context.Context, campaignID string, gen int64, now time.Time) (Job, error)
	// HasClaimable reports whether a pending recipient of seq [lo, hi) is due.
	HasClaimable(ctx context.Context, campaignID string, lo, hi int, now time.Time) (bool, error)
	// Claim moves one due pending recipient of [lo, hi) to sending, only
	// while the campaign is running, setting its message id; false when
	// there is none (or the campaign stopped).
	Claim(ctx context.Context, campaignID string, lo, hi int, now time.Time, f ClaimFilter) (Claimed, bool, error)
	// MarkSent records a successful send (never moving a status backwards).
	MarkSent(ctx context.Context, campaignID, phone string, now time.Time) error
	// MarkSentState is MarkSent and ChunkState of [lo, hi), in one
	// statement: the chunk's state as it was beside the recipient marked.
	// noWebhooks (Job.NoWebhooks): the tenant has no webhook endpoint, so
	// the mark records no event whose delivery run to nudge.
	MarkSentState(ctx context.Context, campaignID, phone string, now time.Time, lo, hi int, noWebhooks bool) (pending int, nextAt *time.Time, err error)
	// MarkSentClaim is MarkSent of sent at sentAt and Claim, in one
	// statement.
	MarkSentClaim(ctx context.Context, campaignID, sent string, sentAt time.Time, lo, hi int, now time.Time, f ClaimFilter) (Claimed, bool, error)
	// RetryLater puts a transiently failed recipient back to pending, due at at.
	RetryLater(ctx context.Context, campaignID, phone, reason string, at time.Time) error
	// MarkFailed fails a recipient with reason.
	MarkFailed(ctx context.Context, campaignID, phone, reason string, now time.Time) error
	// Unclaim undoes a claim whose send certainly did not go out.
	Unclaim(ctx context.Context, campaignID, phone string) error
	// Defer puts a claimed recipient whose send did not go out back to
	// pending without spending its attempt, due at at (nil: now).
	Defer(ctx context.Context, campaignID, phone string, at *time.Time) error
	// ChunkState returns the pending recipients of [lo, hi) and the
	// earliest next attempt among them (nil when all are due now).
	ChunkState(ctx context.Context, campaignID string, lo, hi int) (pending int, nextAt *time.Time, err error)
	// RecentOutcomes returns how many of the campaign's last n settled
	// sends failed, and how many there were.
	RecentOutcomes(ctx context.Context, campaignID string, n int) (failed, total int, err error)
	// SetReason sets the campaign's reason while it is running or queued.
	SetReason(ctx context.Context, campaignID, reason string) error
	// ClearWaiting clears the campaign's reason when it is a wait
	// ("waiting: …") and the campaign is running or queued.
	ClearWaiting(ctx context.Context, campaignID string) error
	// AutoPause pauses a queued or running campaign with reason and records
	// an event of type for alerting; false when it was not running.
	AutoPause(ctx context.Context, campaignID, event, reason string) (bool, error)
	// FinishIfSettled completes (or fails) a running campaign none of whose
	// recipients is pending or sending; noWebhooks as MarkSentState's.
	FinishIfSettled(ctx context.Context, campaignID string, now time.Time, noWebhooks bool) (Status, bool, error)
}

// Messenger sends one text through an instance.
type Messenger interface {
	SendText(ctx context.Context, inst Instance, phone, body, id string) error
}

// WuzapiMessenger sends through each instance's WuzAPI with one shared
// connection pool, or else HTTP client (either carrying the SSRF guard).
type WuzapiMessenger struct {
	Pool *wuzapi.Pool
	HTTP *http.Client
}

// client is the WuzAPI client of inst.
func (m WuzapiMessenger) client(inst Instance) *wuzapi.Client {
	if m.Pool != nil {
		return m.Pool.Client(inst.BaseURL, inst.Token)
	}
	return wuzapi.New(inst.BaseURL, inst.Token, m.HTTP)
}

// SendText sends body to phone with message id.
func (m WuzapiMessenger) SendText(ctx context.Context, inst Instance, phone, body, id string) error {
	_, err := m.client(inst).SendText(ctx, phone, body, id)
	return err
}

// SendTextWithin is SendText ended after timeout, as a context.WithTimeout
// would end it, without a context and timer of its own through the pool.
func (m WuzapiMessenger) SendTextWithin(ctx context.Context, timeout time.Duration, inst Instance, phone, body, id string) error {
	_, err := m.client(inst).SendTextWithin(ctx, timeout, phone, body, id)
	return err
}

// TimedMessenger is a Messenger that bounds a send by a timeout of its
// own, more cheaply than a context.WithTimeout around SendText.
type TimedMessenger interface {
	SendTextWithin(ctx context.Context, timeout time.Duration, inst Instance, phone, body, id string) error
}

// Worker sends campaign chunks: exactly one claim per recipient, retries of
// transient failures through the queue, auto-pause when the instance
// cannot send or too many sends fail. It never waits past the invocation's
// deadline: what it cannot finish it hands back to the queue.
type Worker struct {
	Store     Store
	Messenger Messenger
	// Media sends the campaigns that carry media; without it their
	// recipients fail.
	Media   MediaSender
	Limiter SendLimiter
	Queue   Enqueuer
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Sleep waits d or until ctx ends; a timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// Record counts a message outcome ("sent", "failed", "retried") for
	// campaign_messages_total; nothing when nil.
	Record func(status string)
	// SendTimeout bounds one WuzAPI call (default 20 s).
	SendTimeout time.Duration
	// DeadlineMargin: no new claim when less than this is left before the
	// invocation's deadline (default SendTimeout + 5 s).
	DeadlineMargin time.Duration
	// MaxWait is the longest the worker waits in-process for the limiter
	// (default 5 s); longer waits hand the chunk back with a delay.
	MaxWait time.Duration
	// FailureWindow and FailureShare: auto-pause when more than
	// FailureShare of the last FailureWindow settled sends failed
	// (defaults 20 and 0.5).
	FailureWindow int
	FailureShare  float64
	// MaxConcurrency caps the parallel sends of one chunk (the instance's
	// maxInFlight decides below it; default 16).
	MaxConcurrency int
	// Checks spaces number checks fleet-wide; the Limiter when it can, no
	// spacing when neither can.
	Checks CheckThrottle
	// Rand draws the typing jitter, uniform in [0, 1); math/rand/v2 when nil.
	Rand func() float64
	// Alert raises an operator alert (severity "warning" or "critical")
	// about subject (the instance or campaign id: alerts of different
	// subjects never hide each other); nothing when nil.
	Alert func(ctx context.Context, severity, typ, subject, message string)
	// Share, when set, gives each tenant its fair share of the worker's
	// concurrency: a chunk of a tenant over its share is handed back with
	// ShareDelay (default 15 s) instead of running.
	Share      Share
	ShareDelay time.Duration
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) sleep(ctx context.Context, d time.Duration) error {
	if w.Sleep != nil {
		return w.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Worker) record(status string) {
	if w.Record != nil {
		w.Record(status)
	}
}

func (w *Worker) defaults() (sendTimeout, margin, maxWait time.Duration, window int, share float64, conc int) {
	sendTimeout, margin, maxWait, window, share, conc = w.SendTimeout, w.DeadlineMargin, w.MaxWait, w.FailureWindow, w.FailureShare, w.MaxConcurrency
	if sendTimeout <= 0 {
		sendTimeout = 20 * time.Second
	}
	if margin <= 0 {
		margin = sendTimeout + 5*time.Second
	}
	if maxWait <= 0 {
		maxWait = 5 * time.Second
	}
	if window <= 0 {
		window = 20
	}
	if share <= 0 {
		share = 0.5
	}
	if conc <= 0 {
		conc = 16
	}
	return
}

// HandleChunk sends what is due of chunk n of the campaign. A nil error
// means the message may be deleted: either the chunk is done, or the rest
// was handed back to the queue as a new (delayed) message. An error means
// the message should be received again.
//
// It runs in four steps: start (load the campaign and decide whether this
// chunk may send now), then, in up to MaxConcurrency parallel loops, claim
// one due recipient, send to it and settle the outcome; finally hand back
// what is left of the chunk to the queue and finish the campaign when
// every recipient is settled.
//
// gen is the message's chunk generation: a message of another generation
// than the campaign's is stale (the campaign was paused and resumed, or
// enqueued again, since) and is dropped without work.
//
// A pool campaign runs one such set of loops per instance of the pool that
// can send, each on the recipients given to its instance (pool.go).
func (w *Worker) HandleChunk(ctx context.Context, campaignID string, n int, gen int64) error {
	runs, release, err := w.start(ctx, campaignID, n, gen)
	if release != nil {
		defer release(ctx)
	}
	if err != nil || len(runs) == 0 {
		return err
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() { r.sendAll(ctx) })
	}
	wg.Wait()
	for _, r := range runs {
		if r.firstErr != nil {
			return fmt.Errorf("send chunk %d of campaign %s: %w", n, campaignID, r.firstErr)
		}
	}
	if len(runs) > 1 || runs[0].pool {
		return w.handBackPool(ctx, runs)
	}
	return runs[0].handBackRest(ctx)
}

// chunkRun is one invocation's work on one chunk: what start loaded, and
// what the parallel send loops share.
type chunkRun struct {
	w          *Worker
	log        *slog.Logger
	campaignID string
	n          int
	job        Job
	c          Campaign
	lo, hi     int // the chunk's seq range [lo, hi)
	loc        *time.Location
	tpl        *Template
	policy     SendPolicy

	sendTimeout, margin, maxWait time.Duration
	window                       int
	share                        float64
	conc                         int
	deadline                     time.Time
	hasDeadline                  bool

	gate    *newGate   // what this invocation knows of the new-contact lane
	checkMu sync.Mutex // one number check at a time
	// batch: the loops claim several recipients a statement (bulkClaims);
	// nil: one a send.
	batch ClaimBatcher
	// pool: the run sends a pool campaign's recipients given to its
	// instance; an instance that cannot send hands them to the others
	// instead of pausing the campaign.
	pool bool
	// poolBlocked: why each instance of the pool that can send nothing
	// cannot ("<name>: <why>"), for the campaign's reason.
	poolBlocked []string
	// waitReason: a pool run's wait at hand-back, which handBackPool
	// writes with the other instances' into the campaign's reason.
	waitReason string
	// held: a staged rollout holds the chunk's recipients from hi on; the
	// chunk comes back for them after the job's HoldWait.
	held bool
	// state: the chunk's state read beside the run's last mark, when no
	// later write of the run can change it; left: the chunk's pending
	// recipients as the hand-back found them (-1: not known).
	state *chunkState
	left  int

	hb       handBack
	stop     atomic.Bool // a loop asks the others to stop claiming
	errMu    sync.Mutex
	firstErr error
}

// start loads the campaign and decides whether the chunk may send now. No
// run with a nil error means there is nothing to do for this message:
// the campaign is gone, not sending, paused for a blocked instance or
// handed back until its scheduled time or because its tenant holds its
// share of the worker. A pool campaign gets a run per instance that can
// send. release, when set, frees the tenant's slot of the worker.
func (w *Worker) start(ctx context.Context, campaignID string, n int, gen int64) (runs []*chunkRun, release func(context.Context), err error) {
	now := w.now()
	job, log, err := w.load(ctx, campaignID, n, gen, now)
	if err != nil || job == nil {
		return nil, nil, err
	}
	c := job.Campaign
	if c.ScheduledAt != nil && c.ScheduledAt.After(now.Add(time.Second)) {
		return nil, nil, w.enqueue(ctx, campaignID, n, gen, c.ScheduledAt.Sub(now))
	}
	release, granted := w.takeShare(ctx, log, c.TenantID)
	if !granted {
		return nil, nil, w.enqueue(ctx, campaignID, n, gen, w.shareDelay())
	}
	runs, err = w.begin(ctx, log, campaignID, n, *job, now)
	return runs, release, err
}

// takeShare asks the fair share for a slot of the worker. When the share
// cannot decide (Redis down) the chunk runs: the send limiter, which fails
// closed, still decides whether anything is sent.
func (w *Worker) takeShare(ctx context.Context, log *slog.Logger, tenantID string) (func(context.Context), bool) {
	if w.Share == nil {
		return nil, true
	}
	release, granted, err := w.Share.Take(ctx, tenantID)
	if err != nil {
		log.WarnContext(ctx, "fair share undecided; the chunk runs", "error", err.Error())
		return nil, true
	}
	if !granted {
		log.InfoContext(ctx, "tenant holds its share of the campaign worker; chunk handed back", "delay", w.shareDelay().String())
	}
	return release, granted
}

func (w *Worker) shareDelay() time.Duration {
	if w.ShareDelay > 0 {
		return w.ShareDelay
	}
	return 15 * time.Second
}

// load reads the chunk's job, starting the chunk when it may run now; a nil
// job with a nil error means the message has nothing to do (campaign gone,
// stopped, stale generation, or paused because its instance is blocked).
// A chunk that waits for its scheduled time was not started; one whose
// tenant holds its share of the worker was (the campaign is running, its
// chunk handed back).
func (w *Worker) load(ctx context.Context, campaignID string, n int, gen int64, now time.Time) (*Job, *slog.Logger, error) {
	log := w.Logger.With("campaign_id", campaignID, "chunk", n)
	job, err := w.Store.ChunkJob(ctx, campaignID, gen, now)
	if errors.Is(err, errcode.ErrNotFound) {
		log.WarnContext(ctx, "chunk of a campaign that no longer exists")
		return nil, log, nil
	}
	if err != nil {
		return nil, log, fmt.Errorf("load chunk %d of campaign %s: %w", n, campaignID, err)
	}
	c := job.Campaign
	if c.Status != Queued && c.Status != Running {
		return nil, log, nil // paused, cancelled or done: resume re-enqueues what is left
	}
	job.reason = &reasonNote{}
	if c.Reason != nil {
		job.reason.cur = *c.Reason
	}
	if gen != job.ChunkGen {
		log.InfoContext(ctx, "stale chunk message dropped", "gen", gen, "current_gen", job.ChunkGen)
		return nil, log, nil
	}
	pool := len(c.InstanceIDs) > 0
	if !pool && job.InstanceBlocked != "" && (job.BlockedUntil == nil || job.BlockedUntil.After(now)) {
		// Resumed (or still queued) while the number is logged out or banned.
		reason := BlockedReason(job.Instance.Name, job.InstanceBlocked, job.BanCode, job.BlockedUntil)
		paused, err := w.Store.AutoPause(ctx, campaignID, "instance_blocked", reason)
		if err != nil {
			return nil, log, fmt.Errorf("pause campaign %s of a blocked instance: %w", campaignID, err)
		}
		if paused {
			w.alert(ctx, "critical", "Instance blocked", job.Instance.ID,
				BlockedReason(quote.Name(job.Instance.Name), job.InstanceBlocked, job.BanCode, job.BlockedUntil))
		}
		return nil, log, nil
	}
	return &job, log, nil
}

// begin builds the chunk's runs; none when loading the job did not start
// the chunk or a staged rollout holds it.
func (w *Worker) begin(ctx context.Context, log *slog.Logger, campaignID string, n int, job Job, now time.Time) ([]*chunkRun, error) {
	if !job.Started {
		return nil, nil
	}
	job.Campaign.Status = Running
	var err error
	if job, err = w.holdRollout(ctx, job, n, now); err != nil || job.SliceEnd < 0 {
		return nil, err
	}
	if len(job.Campaign.InstanceIDs) > 0 {
		return w.startPool(ctx, log, campaignID, n, job, now)
	}
	r := w.newRun(ctx, log, campaignID, n, job)
	if r.gate, err = w.openGate(ctx, job, now); err != nil {
		return nil, fmt.Errorf("new-contact lane of chunk %d of campaign %s: %w", n, campaignID, err)
	}
	return []*chunkRun{r}, nil
}

// newRun fills in the run's settings from the worker's defaults and the job.
func (w *Worker) newRun(ctx context.Context, log *slog.Logger, campaignID string, n int, job Job) *chunkRun {
	r := &chunkRun{w: w, log: log, campaignID: campaignID, n: n, job: job, c: job.Campaign, left: -1}
	r.sendTimeout, r.margin, r.maxWait, r.window, r.share, r.conc = w.defaults()
	if r.c.ChunkSize <= 0 {
		r.c.ChunkSize = DefaultChunkSize
	}
	r.lo, r.hi = ChunkRange(n, r.c.ChunkSize)
	if job.SliceEnd > 0 && r.hi > job.SliceEnd {
		r.hi, r.held = job.SliceEnd, true
	}
	r.loc = job.Location
	if r.loc == nil {
		r.loc = time.UTC
	}
	r.tpl = ParseTemplate(r.c.Message)
	r.policy = job.Instance.Policy(r.loc)
	r.batch = r.bulkClaims()
	if job.Instance.MaxInFlight < r.conc {
		r.conc = max(job.Instance.MaxInFlight, 1)
	}
	if sendsOneAtATime(r.c.Media) {
		r.conc = 1
	}
	r.deadline, r.hasDeadline = ctx.Deadline()
	return r
}

// fail keeps the first error of any loop and stops them all.
func (r *chunkRun) fail(err error) {
	r.errMu.Lock()
	if r.firstErr == nil {
		r.firstErr = err
	}
	r.errMu.Unlock()
	r.stop.Store(true)
}

// sendAll runs the run's parallel loops until each has nothing left to
// claim, was asked to stop, or handed the chunk back.
func (r *chunkRun) sendAll(ctx context.Context) {
	var wg sync.WaitGroup
	for range r.conc {
		wg.Go(func() { r.loop(ctx) })
	}
	wg.Wait()
}

// loop claims, sends and settles one recipient at a time.
func (r *chunkRun) loop(ctx context.Context) {
	cur := &cursor{from: r.lo}
	defer r.markHeld(ctx, cur)
	defer r.releaseSlot(ctx, cur)
	for !r.stop.Load() && !r.hb.isPaced() && ctx.Err() == nil {
		if !r.step(ctx, cur) {
			return
		}
	}
}

// markHeld records the loop's last successful sends when no claim took
// them along, and puts back the recipients a bulk claim queued and the
// loop did not send.
func (r *chunkRun) markHeld(ctx context.Context, cur *cursor) {
	if len(cur.queue) > 0 || len(cur.marks) > 1 {
		r.settleHeld(ctx, cur)
		return
	}
	if len(cur.marks) == 0 {
		return
	}
	sent := cur.marks[0]
	ctx = context.WithoutCancel(ctx)
	if r.conc == 1 && !r.pool {
		// The run's only loop: nothing of the chunk changes after this
		// mark, so the chunk's state read beside it is what the hand-back
		// needs, without a statement of its own.
		pending, nextAt, err := r.w.Store.MarkSentState(ctx, r.campaignID, sent.Phone, sent.At, r.lo, r.hi, r.job.NoWebhooks)
		if err != nil {
			r.fail(err)
		} else {
			r.state = &chunkState{pending: pending, nextAt: nextAt}
		}
	} else if err := r.w.Store.MarkSent(ctx, r.campaignID, sent.Phone, sent.At); err != nil {
		r.fail(err)
	}
	cur.marks = cur.marks[:0]
}

// chunkState is the chunk's pending recipients and the earliest next
// attempt among them (nil when all are due now), as Store.ChunkState
// gives them.
type chunkState struct {
	pending int
	nextAt  *time.Time
}

// cursor is where a loop's next claim starts looking: after the last
// recipient it claimed. A claim walks the chunk in seq order, so starting
// at lo would step over every recipient already settled (and each of
// their older row versions) on every claim. Only when nothing is found
// after the cursor does the loop look from lo again, for recipients that
// became due behind it (a retry after its backoff, a deferred send).
//
// marks are the loop's successful sends not yet recorded: the next claim
// records them in its own statement (Store.MarkSentClaim: one a claim;
// ClaimBatcher.ClaimSeveral: all since the last), else markHeld when the
// loop ends. Until then they stay sending, which a retried chunk never
// sends again.
//
// queue holds the recipients a bulk claim took after the one it returned
// (ClaimSeveral), in seq order: the loop sends them one by one, each
// through the limiter as any other, while they are sendable (queueHolds:
// until claimHold after the claim, within the lane of filter, the claim's;
// and ClaimProgress before each send); any the loop does not send go back
// to pending in one statement (putBack, settleHeld). batch is the claim's
// token (0: no bulk claim unsettled), whose progress row the store keeps.
// size is how many the loop's bulk claims take (claimSize), started how
// many of the last one's it started, late whether its queue outlived
// claimHold.
//
// slot is the loop's last granted send's in-flight slot, not yet freed:
// the loop's next reservation frees it in the same call (SlotHandover),
// else releaseSlot when the loop ends. Held a little longer than the send,
// it only ever makes the in-flight limit stricter.
//
// When the slot's grant covers several sends (Units), the loop starts the
// next ones on it without asking the limiter (fromGrant); kind is what the
// grant was asked for and asked how many the loop asks for next.
type cursor struct {
	from    int
	marks   []SentMark
	slot    Reservation
	kind    string
	asked   int
	queue   []Claimed
	filter  ClaimFilter
	batch   int64
	until   time.Time
	size    int
	started int
	late    bool
}

// releaseSlot frees the loop's held in-flight slot, giving back the sends
// of its grant the loop did not start.
func (r *chunkRun) releaseSlot(ctx context.Context, cur *cursor) {
	if b, ok := r.w.Limiter.(BatchReserver); ok && cur.slot.Granted {
		b.ReleaseBatch(context.WithoutCancel(ctx), r.policy, cur.slot)
	} else if cur.slot.Release != nil {
		cur.slot.Release(context.WithoutCancel(ctx))
	}
	cur.slot = Reservation{}
}

// doneWith keeps a finished send's slot for the loop's next reservation
// when the limiter can take it over, else frees it now.
func (r *chunkRun) doneWith(ctx context.Context, cur *cursor, res Reservation) {
	if _, ok := r.w.Limiter.(SlotHandover); ok && res.Slot != "" {
		cur.slot = res
		return
	}
	if res.Release != nil {
		res.Release(context.WithoutCancel(ctx))
	}
}

// step claims, paces, types and sends one recipient and settles it; false
// when this loop should stop.
func (r *chunkRun) step(ctx context.Context, cur *cursor) bool {
	if !r.mayClaim(ctx) {
		return false
	}
	rec, probing, ok := r.claim(ctx, cur)
	if !ok {
		return false
	}
	text, _ := r.tpl.RenderFor(Recipient{Phone: rec.Phone, Name: rec.Name, Vars: rec.Vars}, r.campaignID)
	res, cont := r.reserve(ctx, cur, rec, r.identity(text), probing)
	if !res.Granted {
		cur.from = min(cur.from, rec.Seq) // it waits again, in its place
		return cont
	}
	r.pace(res.Gap)
	sendErr := r.send(ctx, rec, text)
	r.doneWith(ctx, cur, res)
	if errors.Is(sendErr, errTypingCut) {
		// The invocation ends before the send: nothing went out.
		r.unclaim(ctx, cur, rec)
		if probing {
			r.giveProbe()
		}
		return false
	}
	if wuzapi.IsReachOutLock(sendErr) {
		cur.from = min(cur.from, rec.Seq)
		if err := r.w.reachOutLock(context.WithoutCancel(ctx), r.log, r.job, rec, r.gate); err != nil {
			r.fail(err)
			return false
		}
		return true
	}
	if probing {
		r.settleProbe(ctx, sendErr)
	}
	if sendErr == nil {
		r.w.record("sent")
		cur.marks = append(cur.marks, SentMark{Phone: rec.Phone, At: r.w.now()})
	} else if failsRecipient(rec, sendErr) && !r.recordMarks(ctx, cur) {
		return false
	} else if err := r.settle(ctx, rec, sendErr); err != nil {
		r.fail(err)
		return false
	}
	if sendErr == nil && rec.New {
		if err := r.w.guardDeliveries(context.WithoutCancel(ctx), r.log, r.job, r.gate); err != nil {
			r.fail(err)
			return false
		}
	}
	if sendErr == nil && !r.hb.isPaced() {
		// Sending again: a wait an earlier invocation left is over.
		if err := r.w.clearWaiting(context.WithoutCancel(ctx), r.job); err != nil {
			r.fail(err)
			return false
		}
	}
	return !r.hb.isPaced()
}

// pace notes the gap the limiter drew with a grant: when the instance's
// next send is further off than the run may wait in process, the loops
// stop and the chunk comes back after the gap (if anything of it is
// left), rather than claim a recipient only for the limiter to refuse it
// and put it back. A shorter gap is waited in process, as a refusal's.
func (r *chunkRun) pace(gap time.Duration) {
	if gap <= 0 {
		return
	}
	now := r.w.now()
	next := now.Add(gap)
	if gap <= r.maxWait && (!r.hasDeadline || r.deadline.Sub(next) >= r.margin) {
		return
	}
	r.hb.pace(next)
}

// mayClaim reports whether the loop may try to claim now: enough time is
// left before the deadline and it is not quiet hours. Otherwise it hands
// the chunk back as needed.
func (r *chunkRun) mayClaim(ctx context.Context) bool {
	now := r.w.now()
	if r.hasDeadline && r.deadline.Sub(now) < r.margin {
		r.hb.request(0) // too little time left: another invocation continues
		return false
	}
	if quiet, until := QuietUntil(now, r.c.QuietHours, r.job.TenantQuietHours, r.loc); quiet {
		if err := r.w.setReason(ctx, r.job, "waiting: quiet hours until "+until.In(r.loc).Format(time.RFC3339)); err != nil {
			r.fail(err)
			return false
		}
		r.hb.request(until.Sub(now))
		return false
	}
	return true
}

// claim moves one due recipient of the chunk to sending: any while the
// new-contact lane is open (a new one only once its number is checked),
// known contacts only while it is closed, or the lane's single probe.
// The claim comes before the limiter, which then knows whether the send is
// a first message and its text; a refused send goes back unspent.
func (r *chunkRun) claim(ctx context.Context, cur *cursor) (rec Claimed, probing, ok bool) {
	if rec, ok, failed := r.fromQueue(ctx, cur); ok || failed {
		return rec, false, ok
	}
	if closed, _, _ := r.gate.state(); r.job.Instance.CheckNumbers && (!closed || r.gate.hasProbe()) {
		r.checkMu.Lock()
		err := r.w.checkNumbers(ctx, r.log, r.job, r.lo, r.hi, r.gate)
		r.checkMu.Unlock()
		if err != nil {
			r.fail(err)
			return rec, false, false
		}
	}
	f, probing := r.filter()
	var err error
	if r.batch != nil {
		rec, ok, err = r.claimSeveral(ctx, cur, f, probing)
	} else {
		rec, ok, err = r.claimFrom(ctx, cur, cur.from, f)
		if err == nil && !ok && cur.from > r.lo {
			cur.from = r.lo // nothing after the cursor: look behind it once
			rec, ok, err = r.claimFrom(ctx, cur, r.lo, f)
		}
		if ok {
			cur.from = rec.Seq + 1
		}
	}
	if err != nil || !ok {
		if probing {
			r.giveProbe()
		}
		if err != nil {
			r.fail(err)
		}
		return rec, false, false
	}
	return rec, probing, true
}

// claimFrom claims from seq lo on, recording the loop's held send in the
// same statement.
func (r *chunkRun) claimFrom(ctx context.Context, cur *cursor, lo int, f ClaimFilter) (Claimed, bool, error) {
	if len(cur.marks) == 0 {
		return r.w.Store.Claim(ctx, r.campaignID, lo, r.hi, r.w.now(), f)
	}
	m := cur.marks[0]
	rec, ok, err := r.w.Store.MarkSentClaim(ctx, r.campaignID, m.Phone, m.At, lo, r.hi, r.w.now(), f)
	if err == nil {
		cur.marks = cur.marks[:0]
	}
	return rec, ok, err
}

// reserve asks the send limiter for the claimed recipient's send. Refused,
// the recipient waits again with its attempt unspent: a new-contact limit
// closes the lane for this invocation (known contacts go on); any other
// wait happens in process when short, else the chunk is handed back. A
// limiter that cannot answer hands the chunk back (fail closed).
func (r *chunkRun) reserve(ctx context.Context, cur *cursor, rec Claimed, text string, probing bool) (Reservation, bool) {
	p := r.policy
	if rec.New {
		p.NewContact, p.TextHash = true, TextKey(text)
	}
	if r.fromGrant(cur, p, probing) {
		return cur.slot, true
	}
	var res Reservation
	var err error
	if b, ok := r.w.Limiter.(BatchReserver); ok {
		res, err = b.ReserveBatch(ctx, p, r.ask(cur, probing), cur.slot)
		cur.slot, cur.kind = Reservation{}, grantKind(p)
	} else if h, ok := r.w.Limiter.(SlotHandover); ok && cur.slot.Granted {
		res, err = h.ReserveReleasing(ctx, p, cur.slot)
		cur.slot = Reservation{}
	} else {
		r.releaseSlot(ctx, cur)
		res, err = r.w.Limiter.Reserve(ctx, p)
	}
	if err == nil && res.Granted {
		return res, true
	}
	if !r.unclaim(ctx, cur, rec) {
		return Reservation{}, false
	}
	if probing {
		r.giveProbe()
	}
	if err != nil {
		r.log.WarnContext(ctx, "send limiter unavailable; chunk handed back", "error", err.Error())
		_ = r.setReason(ctx, "waiting: send limiter unavailable")
		r.hb.request(30 * time.Second)
		return Reservation{}, false
	}
	wait := res.RetryAfter
	if NewContactLimit(res.Reason) {
		until := r.w.now().Add(wait)
		r.gate.close(until, fmt.Sprintf("waiting: %s on %s until %s", describeLimit(res.Reason), r.job.Instance.Name,
			until.UTC().Format(time.RFC3339)))
		return Reservation{}, true
	}
	if wait <= r.maxWait && (!r.hasDeadline || r.deadline.Sub(r.w.now().Add(wait)) >= r.margin) {
		return Reservation{}, r.w.sleep(ctx, wait) == nil
	}
	if err := r.setReason(ctx, waitingSendLimit(res.Reason)); err != nil {
		r.fail(err)
		return Reservation{}, false
	}
	r.hb.request(wait)
	return Reservation{}, false
}

// setReason sets the campaign's reason; a pool run keeps it instead for
// handBackPool, which writes every instance's at once.
func (r *chunkRun) setReason(ctx context.Context, reason string) error {
	if r.pool {
		r.errMu.Lock()
		r.waitReason = reason
		r.errMu.Unlock()
		return nil
	}
	return r.w.setReason(ctx, r.job, reason)
}

// errTypingCut marks a send that never started: the invocation ended
// while "typing…" showed.
var errTypingCut = errors.New("typing cut short")

// send shows "typing…" for the text's typing time, then sends text to the
// recipient's number (the checked one) within SendTimeout.
func (r *chunkRun) send(ctx context.Context, rec Claimed, text string) error {
	phone := rec.SendPhone
	if phone == "" {
		phone = rec.Phone
	}
	if err := r.w.typing(ctx, r.log, r.job.Instance, phone, text); err != nil {
		return errTypingCut
	}
	if m := r.c.Media; m != nil {
		if r.w.Media == nil {
			return mediaFailure(m.Kind, "this worker cannot send media")
		}
		sctx, cancel := context.WithTimeout(ctx, r.sendTimeout)
		defer cancel()
		return r.w.Media.SendMedia(sctx, r.job.Instance, phone, *m, text, rec.MessageID)
	}
	if tm, ok := r.w.Messenger.(TimedMessenger); ok {
		return tm.SendTextWithin(ctx, r.sendTimeout, r.job.Instance, phone, text, rec.MessageID)
	}
	sctx, cancel := context.WithTimeout(ctx, r.sendTimeout)
	defer cancel()
	return r.w.Messenger.SendText(sctx, r.job.Instance, phone, text, rec.MessageID)
}

// identity is what makes two messages the same for the identical-text
// cap: the text, and the file when the campaign sends media.
func (r *chunkRun) identity(text string) string {
	if r.c.Media == nil {
		return text
	}
	return "media:" + r.c.Media.ID + "\x00" + text
}

// settle records the outcome of one send: sent, retried later, or failed
// (auto-pausing the campaign when the instance cannot send or too many
// recent sends failed).
func (r *chunkRun) settle(ctx context.Context, rec Claimed, sendErr error) error {
	// The send happened (or not); recording it must not be cut short by
	// the invocation's cancellation.
	ctx = context.WithoutCancel(ctx)
	now := r.w.now()
	if sendErr == nil {
		r.w.record("sent")
		return r.w.Store.MarkSent(ctx, r.campaignID, rec.Phone, now)
	}
	reason := sendErr.Error()
	if wuzapi.ClassOf(sendErr) == wuzapi.NotReady {
		return r.pauseNotReady(ctx, rec, sendErr)
	}
	if !failsRecipient(rec, sendErr) {
		r.w.record("retried")
		return r.w.Store.RetryLater(ctx, r.campaignID, rec.Phone, reason, now.Add(Backoff(rec.Attempts)))
	}
	r.w.record("failed")
	if err := r.w.Store.MarkFailed(ctx, r.campaignID, rec.Phone, reason, now); err != nil {
		return err
	}
	return r.pauseOnFailureShare(ctx)
}

// failsRecipient reports whether settle fails the recipient of a send
// that went wrong (and reads the campaign's failure share): not when the
// instance cannot send, nor for a transient failure with attempts left
// (retried later).
func failsRecipient(rec Claimed, sendErr error) bool {
	switch wuzapi.ClassOf(sendErr) {
	case wuzapi.NotReady:
		return false
	case wuzapi.Transient:
		return rec.Attempts >= MaxAttempts
	}
	return true
}

// pauseNotReady undoes the claim of a send the instance refused before
// sending (the recipient is untouched) and auto-pauses the campaign.
func (r *chunkRun) pauseNotReady(ctx context.Context, rec Claimed, sendErr error) error {
	reason := sendErr.Error()
	r.stop.Store(true)
	if err := r.w.Store.Unclaim(ctx, r.campaignID, rec.Phone); err != nil {
		return err
	}
	if r.pool {
		return r.sessionDown(ctx, sendErr)
	}
	paused, err := r.w.Store.AutoPause(ctx, r.campaignID, "instance_not_ready", "auto-paused: instance cannot send: "+reason)
	if paused {
		r.log.WarnContext(ctx, "campaign auto-paused: instance cannot send", "error", reason)
	}
	return err
}

// pauseOnFailureShare auto-pauses the campaign when more than the failure
// share of its last window of settled sends failed.
func (r *chunkRun) pauseOnFailureShare(ctx context.Context) error {
	failed, total, err := r.w.Store.RecentOutcomes(ctx, r.campaignID, r.window)
	if err != nil {
		return err
	}
	if total < r.window || float64(failed) <= r.share*float64(total) {
		return nil
	}
	r.stop.Store(true)
	paused, err := r.w.Store.AutoPause(ctx, r.campaignID, "failure_rate",
		fmt.Sprintf("auto-paused: %d of the last %d sends failed", failed, total))
	if paused {
		r.log.WarnContext(ctx, "campaign auto-paused: too many failures", "failed", failed, "window", total)
	}
	return err
}

// handBackRest puts what is left of the chunk back on the queue (after the
// earliest delay any loop asked for, or when the earliest retry is due)
// and finishes the campaign when none of its recipients is left to send.
func (r *chunkRun) handBackRest(ctx context.Context) error {
	if err := r.planHandBack(ctx); err != nil {
		return err
	}
	if err := r.w.clearWaiting(ctx, r.job); err != nil {
		return fmt.Errorf("chunk %d of campaign %s: %w", r.n, r.campaignID, err)
	}
	return r.finishHandBack(ctx)
}

// planHandBack gives back an unused probe and decides after how long the
// chunk must run again (none when nothing is left for it).
func (r *chunkRun) planHandBack(ctx context.Context) error {
	if r.gate.hasProbe() { // the probe found no new contact to send
		if err := r.w.safety().ReleaseLaneProbe(context.WithoutCancel(ctx), r.job.Instance.ID); err != nil {
			return fmt.Errorf("chunk %d of campaign %s: %w", r.n, r.campaignID, err)
		}
	}
	if !r.hb.set && !r.stop.Load() {
		st, err := r.chunkState(ctx)
		if err != nil {
			return fmt.Errorf("chunk %d of campaign %s state: %w", r.n, r.campaignID, err)
		}
		pending, nextAt := st.pending, st.nextAt
		r.left = pending
		closed, until, reason := r.gate.state()
		paceWait, paced := r.hb.paceWait(r.w.now())
		switch {
		case pending > 0 && paced:
			// The gap the last grant drew holds the instance's next send;
			// until it passes the campaign waits for it (its new contacts
			// for their lane when that is closed).
			if !closed {
				reason = waitingSendLimit("min_delay")
			}
			if err := r.setReason(ctx, reason); err != nil {
				return fmt.Errorf("chunk %d of campaign %s: %w", r.n, r.campaignID, err)
			}
			r.hb.request(paceWait)
		case pending > 0 && closed:
			// New contacts wait for their lane; the reason says for what
			// (a pool's says it for every instance, in handBackPool).
			if err := r.setReason(ctx, reason); err != nil {
				return fmt.Errorf("chunk %d of campaign %s: %w", r.n, r.campaignID, err)
			}
			wait := until.Sub(r.w.now())
			if nextAt != nil {
				wait = min(wait, nextAt.Sub(r.w.now()))
			}
			r.hb.request(wait)
		case pending > 0 && nextAt != nil:
			r.hb.request(nextAt.Sub(r.w.now())) // retries waiting out their backoff
		case pending > 0 && ctx.Err() != nil:
			r.hb.request(0)
		}
	}
	if r.held {
		return r.holdBack(ctx)
	}
	return nil
}

// chunkState is the chunk's state as the run's last mark read it, else
// from the store.
func (r *chunkRun) chunkState(ctx context.Context) (chunkState, error) {
	if r.state != nil {
		return *r.state, nil
	}
	pending, nextAt, err := r.w.Store.ChunkState(ctx, r.campaignID, r.lo, r.hi)
	return chunkState{pending: pending, nextAt: nextAt}, err
}

// holdBack hands back a chunk whose rest a staged rollout holds: after the
// hold when this invocation settled the slice (the hold starts now, so a
// short hold is not stretched to the longest queue delay), else after the
// wait start saw.
func (r *chunkRun) holdBack(ctx context.Context) error {
	end, wait, paused, err := r.w.rolloutHold(ctx, r.job, r.w.now())
	if err != nil {
		return fmt.Errorf("chunk %d of campaign %s rollout: %w", r.n, r.campaignID, err)
	}
	if paused || end == 0 {
		wait = 0 // decided: the next invocation sends the rest or stops
	}
	r.hb.request(min(wait, r.job.HoldWait))
	return nil
}

// finishHandBack enqueues the chunk again when planned and finishes the
// campaign when none of its recipients is left to send.
func (r *chunkRun) finishHandBack(ctx context.Context) error {
	if r.hb.set {
		if err := r.w.enqueue(ctx, r.campaignID, r.n, r.job.ChunkGen, r.hb.delay); err != nil {
			return err
		}
	}
	if r.left > 0 {
		return nil // a recipient of the chunk is pending: the campaign is not settled
	}
	if _, _, err := r.w.Store.FinishIfSettled(ctx, r.campaignID, r.w.now(), r.job.NoWebhooks); err != nil {
		return fmt.Errorf("finish campaign %s: %w", r.campaignID, err)
	}
	return nil
}

// handBack collects the earliest delay after which the chunk must run again.
type handBack struct {
	mu    sync.Mutex
	set   bool
	delay time.Duration
	// paced: a grant's gap holds the instance's next send until next.
	paced bool
	next  time.Time
}

// pace notes that no send of the instance may start before next.
func (h *handBack) pace(next time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.paced || next.After(h.next) {
		h.paced, h.next = true, next
	}
}

func (h *handBack) isPaced() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.paced
}

// paceWait is how long after now the paced next send may start.
func (h *handBack) paceWait(now time.Time) (time.Duration, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.next.Sub(now), h.paced
}

func (h *handBack) request(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if d > MaxQueueDelay {
		d = MaxQueueDelay
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.set || d < h.delay {
		h.set, h.delay = true, d
	}
}

// enqueue hands chunk n back to the queue in generation gen: the chain of
// one live message per chunk goes on.
func (w *Worker) enqueue(ctx context.Context, campaignID string, n int, gen int64, delay time.Duration) error {
	if err := w.Queue.EnqueueChunks(context.WithoutCancel(ctx), campaignID, gen, []int{n}, delay); err != nil {
		return fmt.Errorf("hand chunk %d of campaign %s back: %w", n, campaignID, err)
	}
	return nil
}
