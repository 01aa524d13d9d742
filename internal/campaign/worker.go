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
}

// Claimed is a recipient a worker has moved pending → sending.
type Claimed struct {
	Phone      string
	Name       string
	Vars       map[string]string
	Attempts   int // including this one
	Generation int
	MessageID  string // written at claim time, before the send
}

// Store is the worker's view of storage. Every method is one statement, so
// a crash between two of them leaves a state the scheduler can settle.
type Store interface {
	// ChunkJob loads the campaign with its instance and tenant settings, or
	// a NOT_FOUND error.
	ChunkJob(ctx context.Context, campaignID string) (Job, error)
	// StartChunk moves a queued campaign to running, stamps its progress,
	// clears a stale "waiting" reason and returns its state.
	StartChunk(ctx context.Context, campaignID string, now time.Time) (Status, error)
	// HasClaimable reports whether a pending recipient of seq [lo, hi) is due.
	HasClaimable(ctx context.Context, campaignID string, lo, hi int, now time.Time) (bool, error)
	// Claim moves one due pending recipient of [lo, hi) to sending, only
	// while the campaign is running, setting its message id; false when
	// there is none (or the campaign stopped).
	Claim(ctx context.Context, campaignID string, lo, hi int, now time.Time) (Claimed, bool, error)
	// MarkSent records a successful send (never moving a status backwards).
	MarkSent(ctx context.Context, campaignID, phone string, now time.Time) error
	// RetryLater puts a transiently failed recipient back to pending, due at at.
	RetryLater(ctx context.Context, campaignID, phone, reason string, at time.Time) error
	// MarkFailed fails a recipient with reason.
	MarkFailed(ctx context.Context, campaignID, phone, reason string, now time.Time) error
	// Unclaim undoes a claim whose send certainly did not go out.
	Unclaim(ctx context.Context, campaignID, phone string) error
	// ChunkState returns the pending recipients of [lo, hi) and the
	// earliest next attempt among them (nil when all are due now).
	ChunkState(ctx context.Context, campaignID string, lo, hi int) (pending int, nextAt *time.Time, err error)
	// RecentOutcomes returns how many of the campaign's last n settled
	// sends failed, and how many there were.
	RecentOutcomes(ctx context.Context, campaignID string, n int) (failed, total int, err error)
	// SetReason sets the campaign's reason while it is running or queued.
	SetReason(ctx context.Context, campaignID, reason string) error
	// AutoPause pauses a queued or running campaign with reason and records
	// an event of type for alerting; false when it was not running.
	AutoPause(ctx context.Context, campaignID, event, reason string) (bool, error)
	// FinishIfSettled completes (or fails) a running campaign none of whose
	// recipients is pending or sending.
	FinishIfSettled(ctx context.Context, campaignID string, now time.Time) (Status, bool, error)
}

// Messenger sends one text through an instance.
type Messenger interface {
	SendText(ctx context.Context, inst Instance, phone, body, id string) error
}

// WuzapiMessenger sends through each instance's WuzAPI with one shared
// HTTP client (carrying the SSRF guard).
type WuzapiMessenger struct{ HTTP *http.Client }

// SendText sends body to phone with message id.
func (m WuzapiMessenger) SendText(ctx context.Context, inst Instance, phone, body, id string) error {
	_, err := wuzapi.New(inst.BaseURL, inst.Token, m.HTTP).SendText(ctx, phone, body, id)
	return err
}

// Worker sends campaign chunks: exactly one claim per recipient, retries of
// transient failures through the queue, auto-pause when the instance
// cannot send or too many sends fail. It never waits past the invocation's
// deadline: what it cannot finish it hands back to the queue.
type Worker struct {
	Store     Store
	Messenger Messenger
	Limiter   SendLimiter
	Queue     Enqueuer
	Logger    *slog.Logger
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

// handBack collects the earliest delay after which the chunk must run again.
type handBack struct {
	mu    sync.Mutex
	set   bool
	delay time.Duration
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

// HandleChunk sends what is due of chunk n of the campaign. A nil error
// means the message may be deleted: either the chunk is done, or the rest
// was handed back to the queue as a new (delayed) message. An error means
// the message should be received again.
func (w *Worker) HandleChunk(ctx context.Context, campaignID string, n int) error {
	log := w.Logger.With("campaign_id", campaignID, "chunk", n)
	job, err := w.Store.ChunkJob(ctx, campaignID)
	if errors.Is(err, errcode.ErrNotFound) {
		log.WarnContext(ctx, "chunk of a campaign that no longer exists")
		return nil
	}
	if err != nil {
		return fmt.Errorf("load chunk %d of campaign %s: %w", n, campaignID, err)
	}
	c := job.Campaign
	if c.Status != Queued && c.Status != Running {
		return nil // paused, cancelled or done: resume re-enqueues what is left
	}
	if job.InstanceBlocked != "" {
		// Resumed (or still queued) while the number is logged out or banned.
		if _, err := w.Store.AutoPause(ctx, campaignID, "instance_blocked", "auto-paused: the instance is blocked ("+job.InstanceBlocked+")"); err != nil {
			return fmt.Errorf("pause campaign %s of a blocked instance: %w", campaignID, err)
		}
		return nil
	}
	now := w.now()
	if c.ScheduledAt != nil && c.ScheduledAt.After(now.Add(time.Second)) {
		return w.enqueue(ctx, campaignID, n, c.ScheduledAt.Sub(now))
	}
	st, err := w.Store.StartChunk(ctx, campaignID, now)
	if err != nil {
		return fmt.Errorf("start chunk %d of campaign %s: %w", n, campaignID, err)
	}
	if st != Running {
		return nil
	}

	sendTimeout, margin, maxWait, window, share, conc := w.defaults()
	if c.ChunkSize <= 0 {
		c.ChunkSize = DefaultChunkSize
	}
	lo, hi := ChunkRange(n, c.ChunkSize)
	loc := job.Location
	if loc == nil {
		loc = time.UTC
	}
	tpl := ParseTemplate(c.Message)
	policy := job.Instance.Policy(loc)
	if job.Instance.MaxInFlight < conc {
		conc = max(job.Instance.MaxInFlight, 1)
	}

	var (
		hb       handBack
		stop     atomic.Bool
		errMu    sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		stop.Store(true)
	}
	deadline, hasDeadline := ctx.Deadline()

	loop := func() {
		// After a successful claim more recipients are likely due, so the
		// peek that keeps a reservation from being wasted is skipped: at
		// most one reservation per loop is spent at the chunk's end.
		claimedLast := false
		for !stop.Load() && ctx.Err() == nil {
			now := w.now()
			if hasDeadline && deadline.Sub(now) < margin {
				hb.request(0) // too little time left: another invocation continues
				return
			}
			if quiet, until := QuietUntil(now, c.QuietHours, job.TenantQuietHours, loc); quiet {
				if err := w.Store.SetReason(ctx, campaignID, "waiting: quiet hours until "+until.In(loc).Format(time.RFC3339)); err != nil {
					fail(err)
					return
				}
				hb.request(until.Sub(now))
				return
			}
			if !claimedLast {
				ok, err := w.Store.HasClaimable(ctx, campaignID, lo, hi, now)
				if err != nil || !ok {
					if err != nil {
						fail(err)
					}
					return
				}
			}
			claimedLast = false
			res, err := w.Limiter.Reserve(ctx, policy)
			if err != nil {
				// Fail closed: nothing is sent without the limiter.
				log.WarnContext(ctx, "send limiter unavailable; chunk handed back", "error", err.Error())
				_ = w.Store.SetReason(ctx, campaignID, "waiting: send limiter unavailable")
				hb.request(30 * time.Second)
				return
			}
			if !res.Granted {
				wait := res.RetryAfter
				if wait <= maxWait && (!hasDeadline || deadline.Sub(w.now().Add(wait)) >= margin) {
					if err := w.sleep(ctx, wait); err != nil {
						return
					}
					continue
				}
				if err := w.Store.SetReason(ctx, campaignID, "waiting: send limit ("+res.Reason+")"); err != nil {
					fail(err)
					return
				}
				hb.request(wait)
				return
			}
			release := func() {
				if res.Release != nil {
					res.Release(context.WithoutCancel(ctx))
				}
			}
			rec, ok, err := w.Store.Claim(ctx, campaignID, lo, hi, w.now())
			if err != nil || !ok {
				release()
				if err != nil {
					fail(err)
				}
				return
			}
			claimedLast = true
			text, _ := tpl.Render(Recipient{Phone: rec.Phone, Name: rec.Name, Vars: rec.Vars}, SeedKey(campaignID, rec.Phone))
			sctx, cancel := context.WithTimeout(ctx, sendTimeout)
			sendErr := w.Messenger.SendText(sctx, job.Instance, rec.Phone, text, rec.MessageID)
			cancel()
			release()
			if err := w.settle(ctx, log, campaignID, rec, sendErr, window, share, &stop); err != nil {
				fail(err)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for range conc {
		wg.Go(loop)
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("send chunk %d of campaign %s: %w", n, campaignID, firstErr)
	}

	if !hb.set && !stop.Load() {
		pending, nextAt, err := w.Store.ChunkState(ctx, campaignID, lo, hi)
		if err != nil {
			return fmt.Errorf("chunk %d of campaign %s state: %w", n, campaignID, err)
		}
		switch {
		case pending > 0 && nextAt != nil:
			hb.request(nextAt.Sub(w.now())) // retries waiting out their backoff
		case pending > 0 && ctx.Err() != nil:
			hb.request(0)
		}
	}
	if hb.set {
		if err := w.enqueue(ctx, campaignID, n, hb.delay); err != nil {
			return err
		}
	}
	if _, _, err := w.Store.FinishIfSettled(ctx, campaignID, w.now()); err != nil {
		return fmt.Errorf("finish campaign %s: %w", campaignID, err)
	}
	return nil
}

func (w *Worker) enqueue(ctx context.Context, campaignID string, n int, delay time.Duration) error {
	if err := w.Queue.EnqueueChunks(context.WithoutCancel(ctx), campaignID, []int{n}, delay); err != nil {
		return fmt.Errorf("hand chunk %d of campaign %s back: %w", n, campaignID, err)
	}
	return nil
}

// settle records the outcome of one send.
func (w *Worker) settle(ctx context.Context, log *slog.Logger, campaignID string, rec Claimed, sendErr error, window int, share float64, stop *atomic.Bool) error {
	// The send happened (or not); recording it must not be cut short by
	// the invocation's cancellation.
	ctx = context.WithoutCancel(ctx)
	now := w.now()
	if sendErr == nil {
		w.record("sent")
		return w.Store.MarkSent(ctx, campaignID, rec.Phone, now)
	}
	reason := sendErr.Error()
	switch wuzapi.ClassOf(sendErr) {
	case wuzapi.NotReady:
		// The instance refused before sending: the recipient is untouched.
		stop.Store(true)
		if err := w.Store.Unclaim(ctx, campaignID, rec.Phone); err != nil {
			return err
		}
		paused, err := w.Store.AutoPause(ctx, campaignID, "instance_not_ready", "auto-paused: instance cannot send: "+reason)
		if paused {
			log.WarnContext(ctx, "campaign auto-paused: instance cannot send", "error", reason)
		}
		return err
	case wuzapi.Transient:
		if rec.Attempts < MaxAttempts {
			w.record("retried")
			return w.Store.RetryLater(ctx, campaignID, rec.Phone, reason, now.Add(Backoff(rec.Attempts)))
		}
	}
	w.record("failed")
	if err := w.Store.MarkFailed(ctx, campaignID, rec.Phone, reason, now); err != nil {
		return err
	}
	failed, total, err := w.Store.RecentOutcomes(ctx, campaignID, window)
	if err != nil {
		return err
	}
	if total >= window && float64(failed) > share*float64(total) {
		stop.Store(true)
		paused, err := w.Store.AutoPause(ctx, campaignID, "failure_rate",
			fmt.Sprintf("auto-paused: %d of the last %d sends failed", failed, total))
		if paused {
			log.WarnContext(ctx, "campaign auto-paused: too many failures", "failed", failed, "window", total)
		}
		return err
	}
	return nil
}
