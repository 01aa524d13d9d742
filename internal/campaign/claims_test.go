package campaign_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// bulkClaimMax is the most recipients a bulk claim takes: a grant's most
// sends.
const bulkClaimMax = 16

// takeRaw returns the statements recorded since the last take, whole.
func (c *stmtCounter) takeRaw() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.stmts
	c.stmts = nil
	return out
}

// countStmts says how many of stmts contain each of the fragments.
func countStmts(stmts []string, fragments ...string) []int {
	out := make([]int, len(fragments))
	for _, s := range stmts {
		for i, f := range fragments {
			if strings.Contains(s, f) {
				out[i]++
			}
		}
	}
	return out
}

// The statements' fragments the tests count: a claim of several (with the
// sends it records), a claim of one, and the put-back of what a loop
// claimed and did not send (with the sends it records).
const (
	claimsSQL  = "LIMIT $13"
	claimSQL   = "LIMIT 1\n    FOR UPDATE OF r SKIP LOCKED"
	putBackSQL = "phone = ANY ($4::text[])"
)

// setupBulk is a worker on the real limiter at bulk limits (no gap, no
// typing, budgets that do not bind unless the test sets them), with
// maxInFlight loops, and the instance's columns set as given.
func setupBulk(t *testing.T, maxInFlight int, set string) (*env, *limit.Sender) {
	t.Helper()
	e := setupWorker(t, maxInFlight)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	s := limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "test:" + uuid.NewString() + ":", Now: e.clock.Now})
	e.worker.Limiter = s
	e.set(t, "messages_per_minute = 1000, hourly_cap = 1000, daily_cap = 1000, new_contacts_per_hour = 200, "+
		"new_contacts_per_day = 500, identical_per_hour = 1000")
	if set != "" {
		e.set(t, set)
	}
	return e, s
}

// statuses counts the campaign's recipients by status and fails the test
// when one left pending has spent an attempt.
func (e *env) statuses(t *testing.T, id string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for p, r := range e.recipients(t, id) {
		out[r.Status]++
		if r.Status == "pending" && r.Attempts != 0 {
			t.Errorf("recipient %s is pending with %d attempts spent, want its attempt unspent", p, r.Attempts)
		}
	}
	return out
}

// TestWorkerClaimsSeveralAtOnce: at bulk limits a loop claims as many
// recipients as a grant covers (16) in one statement, which also records
// the sends made since the last: 100 sends cost 7 claims (16 × 6 + 4)
// and the one that finds nothing left (it records the last 4 sends), not
// one claim a send. Everyone is sent once and ends sent, none left
// sending; nothing is put back.
func TestWorkerClaimsSeveralAtOnce(t *testing.T) {
	t.Parallel()
	e, _ := setupBulk(t, 1, "")
	ps := phones(100)
	id := e.campaign(t, "hi {{name}}", ps)
	e.stmts.take()
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	stmts := e.stmts.takeRaw()
	n := countStmts(stmts, claimsSQL, claimSQL, putBackSQL)
	if n[0] != 8 || n[1] != 0 || n[2] != 0 {
		t.Errorf("100 sends made %d claims of several, %d of one and %d put-backs, want 8, 0 and 0 (%d statements in all)",
			n[0], n[1], n[2], len(stmts))
	}
	if st := e.statuses(t, id); st["sent"] != 100 {
		t.Errorf("recipients by status %v, want 100 sent", st)
	}
	if c := e.get(t, id); c.Status != campaign.Completed || c.Counts.Sent != 100 {
		t.Errorf("campaign %s %+v, want completed with 100 sent", c.Status, c.Counts)
	}
}

// TestWorkerClaimsOneAtATimeWhenPaced: with a gap between two sends (or
// typing) every claim takes one recipient, as before, on the real limiter
// too.
func TestWorkerClaimsOneAtATimeWhenPaced(t *testing.T) {
	t.Parallel()
	for _, set := range []string{"min_delay_ms = 1000, max_delay_ms = 2000", "typing = true"} {
		e, _ := setupBulk(t, 1, set)
		e.worker.Sleep = func(_ context.Context, d time.Duration) error { e.clock.Add(d); return nil }
		ps := phones(3)
		id := e.campaign(t, "hi", ps)
		e.stmts.take()
		for range 10 {
			e.run(t, id, 0)
			e.clock.Add(3 * time.Second)
			if e.get(t, id).Status == campaign.Completed {
				break
			}
		}
		assertOnce(t, e.fake, ps)
		if n := countStmts(e.stmts.takeRaw(), claimsSQL, claimSQL); n[0] != 0 || n[1] < len(ps) {
			t.Errorf("%s: %d claims of several and %d of one, want none and one a send", set, n[0], n[1])
		}
	}
}

// TestWorkerPutsBackWhatItClaimedAndDidNotSend: whatever ends a bulk
// loop's sends before its claimed recipients are all sent, the sends it
// made are recorded and the others are pending again with their attempt
// unspent, in one statement, before the invocation ends; none is left
// sending, and a later invocation sends each of them once.
func TestWorkerPutsBackWhatItClaimedAndDidNotSend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		set  string
		// deadline: the invocation has an hour, the clock is real time.
		deadline bool
		// prep before the run; third at the third send (nil: nothing).
		prep, third func(t *testing.T, e *env, id string)
		// sent: sends before the loop stops; reason: the campaign's after.
		sent   int
		reason string
	}{
		{name: "deadline", deadline: true, sent: 3, third: func(_ *testing.T, e *env, _ string) {
			e.clock.Add(50 * time.Minute) // 10 minutes left, the margin is 15
		}},
		{name: "quiet hours", sent: 3, reason: "waiting: quiet hours until", third: func(_ *testing.T, e *env, _ string) {
			e.clock.Add(31 * time.Minute) // 12:31 in São Paulo
		}},
		{name: "per-minute limit", set: "messages_per_minute = 5", sent: 5, reason: "waiting: send limit (per_minute)"},
		{name: "new-contact budget closes the lane", set: "new_contacts_per_hour = 4", sent: 4,
			reason: "waiting: hourly new-contact budget"},
		{name: "instance not ready", sent: 2, reason: "auto-paused: instance cannot send", prep: func(_ *testing.T, e *env, _ string) {
			e.fake.Script(phones(20)[2], wuzapitest.Reply{Status: 500, Error: "error sending message: websocket not connected"})
		}},
		{name: "pause, seen after the claim's hold", sent: 3, reason: "paused by the tenant", third: func(t *testing.T, e *env, id string) {
			if _, err := e.db.Transition(context.Background(), e.tenant.ID, id, campaign.ActPause); err != nil {
				t.Error(err)
			}
			e.clock.Add(time.Second)
		}},
		// Within the claim's hold: each queued send reads the campaign's
		// state first, so the pause stops the loop before its next send,
		// as a claim a send did.
		{name: "pause, seen at the next queued send", sent: 3, reason: "paused by the tenant", third: func(t *testing.T, e *env, id string) {
			if _, err := e.db.Transition(context.Background(), e.tenant.ID, id, campaign.ActPause); err != nil {
				t.Error(err)
			}
		}},
		{name: "instance blocked, seen at the next queued send", sent: 3, third: func(t *testing.T, e *env, id string) {
			if _, err := e.db.Pool.Exec(context.Background(), `UPDATE instances SET blocked_reason = 'logged_out', blocked_until = NULL
WHERE id = (SELECT instance_id FROM campaigns WHERE id = $1)`, id); err != nil {
				t.Error(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := setupBulk(t, 1, tc.set)
			e.worker.DeadlineMargin = 15 * time.Minute
			ps := phones(20)
			// 15:00 UTC is 12:00 in São Paulo: quiet from 12:30.
			id := e.campaign(t, "hi", ps, func(nc *campaign.NewCampaign) {
				nc.Campaign.QuietHours = &tenant.QuietHours{Start: "12:30", End: "13:30"}
			})
			if tc.prep != nil {
				tc.prep(t, e, id)
			}
			ctx := context.Background()
			if tc.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Hour)
				defer cancel()
				e.clock.t = time.Now()
				if _, err := e.db.Pool.Exec(ctx, "UPDATE campaigns SET quiet_hours = NULL WHERE id = $1", id); err != nil {
					t.Fatal(err)
				}
			}
			n := 0
			e.fake.OnSend(func(wuzapitest.Send) {
				if n++; n == 3 && tc.third != nil {
					tc.third(t, e, id)
				}
			})
			e.stmts.take()
			if err := e.worker.HandleChunk(ctx, id, 0, 0); err != nil {
				t.Fatalf("HandleChunk: %v", err)
			}
			if got := len(e.fake.Delivered()); got != tc.sent {
				t.Errorf("%d sent, want %d", got, tc.sent)
			}
			st := e.statuses(t, id)
			if st["sent"] != tc.sent || st["sending"] != 0 || st["pending"] != len(ps)-tc.sent {
				t.Errorf("recipients by status %v, want %d sent and the other %d pending", st, tc.sent, len(ps)-tc.sent)
			}
			if n := countStmts(e.stmts.takeRaw(), putBackSQL); n[0] != 1 {
				t.Errorf("%d put-backs, want 1", n[0])
			}
			if c := e.get(t, id); tc.reason != "" && (c.Reason == nil || !strings.HasPrefix(*c.Reason, tc.reason)) {
				t.Errorf("campaign %s, reason %v, want %q…", c.Status, c.Reason, tc.reason)
			}
		})
	}
}

// TestWorkerSendsTheClaimedOnlyWhileTheLaneAllows: a reach-out lock on a
// bulk loop's third send closes the new-contact lane; the new contacts it
// had claimed go back to pending unspent (the locked one too) instead of
// being sent, and the known contacts are still sent.
func TestWorkerSendsTheClaimedOnlyWhileTheLaneAllows(t *testing.T) {
	t.Parallel()
	e, _ := setupBulk(t, 1, "")
	ps := phones(12)
	for _, p := range ps[6:] {
		e.know(t, p)
	}
	e.fake.Script(ps[2], wuzapitest.Reply{Status: 500, Error: "error sending message: server returned error 463"})
	id := e.campaign(t, "hi", ps)
	e.run(t, id, 0)
	got := e.fake.Delivered()
	for i, p := range ps {
		want := 1
		if i >= 2 && i < 6 {
			want = 0
		}
		if len(got[p]) != want {
			t.Errorf("recipient %d (known: %v) got %d messages, want %d", i, i >= 6, len(got[p]), want)
		}
	}
	if st := e.statuses(t, id); st["sent"] != 8 || st["pending"] != 4 {
		t.Errorf("recipients by status %v, want 8 sent and 4 pending", st)
	}
}

// TestWorkerBulkCountsItsSendsBeforeAFailureShare: the failure share a
// failed send reads counts the bulk loop's successful sends before it,
// which its next claim would otherwise record: of ok ×4, fail ×3 on a
// window of 4 the campaign pauses at the seventh send (3 of the last 4
// failed), not later.
func TestWorkerBulkCountsItsSendsBeforeAFailureShare(t *testing.T) {
	t.Parallel()
	e, _ := setupBulk(t, 1, "")
	e.worker.FailureWindow, e.worker.FailureShare = 4, 0.5
	ps := phones(12)
	for _, p := range ps[4:] {
		e.fake.Script(p, wuzapitest.Reply{Status: 400, Error: "bad"})
	}
	id := e.campaign(t, "hi", ps)
	// Each send 10 ms after the last: the last outcomes are in order.
	e.fake.OnSend(func(wuzapitest.Send) { e.clock.Add(10 * time.Millisecond) })
	e.run(t, id, 0)
	c := e.get(t, id)
	if c.Status != campaign.Paused || c.Reason == nil || *c.Reason != "auto-paused: 3 of the last 4 sends failed" || len(e.fake.Sends()) != 7 {
		t.Fatalf("campaign %s %v after %d sends, want paused for 3 of the last 4 after 7", c.Status, c.Reason, len(e.fake.Sends()))
	}
	if st := e.statuses(t, id); st["sent"] != 4 || st["failed"] != 3 || st["pending"] != 5 {
		t.Errorf("recipients by status %v, want 4 sent, 3 failed, 5 pending", st)
	}
}

// TestWorkerBulkConcurrentRedelivery: every chunk delivered four times at
// once, with four loops each, all claiming several recipients a
// statement: each recipient is sent once (180 new contacts, within the
// hour's budget of 200).
func TestWorkerBulkConcurrentRedelivery(t *testing.T) {
	t.Parallel()
	e, _ := setupBulk(t, 4, "")
	ps := phones(180)
	id := e.campaign(t, "hi {{name}}", ps)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		for chunk := range 2 {
			wg.Go(func() { errs <- e.worker.HandleChunk(context.Background(), id, chunk, 0) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	assertOnce(t, e.fake, ps)
	if c := e.get(t, id); c.Status != campaign.Completed || c.Counts.Sent != len(ps) {
		t.Fatalf("campaign %s %+v", c.Status, c.Counts)
	}
	if n := countStmts(e.stmts.takeRaw(), claimsSQL); n[0] == 0 {
		t.Error("no claim of several")
	}
}

// dyingStore is the worker's store until it dies: then every statement of
// the worker's own fails, as with the database gone mid-invocation.
type dyingStore struct {
	*postgres.DB
	dead atomic.Bool
}

var errGone = errors.New("the database is gone")

func (d *dyingStore) ClaimSeveral(ctx context.Context, campaignID string, marks []campaign.SentMark, lo, hi, k int, now time.Time, f campaign.ClaimFilter, batch, prev int64) ([]campaign.Claimed, error) {
	if d.dead.Load() {
		return nil, errGone
	}
	return d.DB.ClaimSeveral(ctx, campaignID, marks, lo, hi, k, now, f, batch, prev)
}

func (d *dyingStore) ClaimProgress(ctx context.Context, campaignID string, batch int64, seq int, now time.Time, f campaign.ClaimFilter) (bool, error) {
	if d.dead.Load() {
		return false, errGone
	}
	return d.DB.ClaimProgress(ctx, campaignID, batch, seq, now, f)
}

func (d *dyingStore) SettleClaims(ctx context.Context, campaignID string, marks []campaign.SentMark, unsent []string, batch int64, noWebhooks bool) error {
	if d.dead.Load() {
		return errGone
	}
	return d.DB.SettleClaims(ctx, campaignID, marks, unsent, batch, noWebhooks)
}

func (d *dyingStore) SettleClaimsState(ctx context.Context, campaignID string, marks []campaign.SentMark, unsent []string, batch int64, lo, hi int, noWebhooks bool) (int, *time.Time, error) {
	if d.dead.Load() {
		return 0, nil, errGone
	}
	return d.DB.SettleClaimsState(ctx, campaignID, marks, unsent, batch, lo, hi, noWebhooks)
}

// TestBulkCrashLeavesOnlyTheStartedUnknown: a worker that loses its
// database during its fourth send (the third queued one) can record
// nothing more: the 16 recipients its claim took stay sending, and a
// redelivery meanwhile sends none of them. A minute after the claim the
// scheduler's sweep puts the twelve whose sends never started back to
// pending with their attempt unspent, enqueuing the campaign again (they
// are then sent once each); after the stuck-send timeout the four whose
// sends started are unknown (three went out unrecorded, one was in
// flight).
func TestBulkCrashLeavesOnlyTheStartedUnknown(t *testing.T) {
	t.Parallel()
	e, _ := setupBulk(t, 1, "")
	ds := &dyingStore{DB: e.db}
	e.worker.Store = ds
	ps := phones(40)
	id := e.campaign(t, "hi", ps)
	n := 0
	e.fake.OnSend(func(wuzapitest.Send) {
		if n++; n == 4 {
			ds.dead.Store(true)
		}
	})
	if err := e.worker.HandleChunk(context.Background(), id, 0, 0); !errors.Is(err, errGone) {
		t.Fatalf("HandleChunk = %v, want the database's loss", err)
	}
	if st := e.statuses(t, id); st["sending"] != bulkClaimMax || st["pending"] != len(ps)-bulkClaimMax {
		t.Fatalf("after the loss: recipients by status %v, want %d sending, the rest pending", st, bulkClaimMax)
	}
	e.fake.OnSend(nil)
	e.worker.Store = e.db
	e.run(t, id, 0) // the redelivered chunk: the 24 never claimed
	s := &campaign.Scheduler{Store: e.db, Queue: e.queue, Logger: e.worker.Logger, StuckAfter: 15 * time.Minute}
	e.queue.take()
	// Two minutes on, long before the stuck-send timeout: the claim's
	// never started come back, the started stay sending.
	if err := s.SettleStuck(context.Background(), e.clock.Now().Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st := e.statuses(t, id); st["sending"] != 4 || st["pending"] != bulkClaimMax-4 {
		t.Fatalf("after the sweep of the claims: recipients by status %v, want 4 sending (started) and %d pending", st, bulkClaimMax-4)
	}
	if msgs := e.queue.take(); len(msgs) == 0 {
		t.Fatal("the campaign was not enqueued again after the sweep")
	}
	e.run(t, id, 0)
	if err := s.SettleStuck(context.Background(), e.clock.Now().Add(16*time.Minute)); err != nil {
		t.Fatal(err)
	}
	d := e.fake.Delivered()
	for p, s := range d {
		if len(s) != 1 {
			t.Errorf("%s got %d messages", p, len(s))
		}
	}
	if len(d) != len(ps) {
		t.Errorf("%d recipients messaged, want %d (each once)", len(d), len(ps))
	}
	if st := e.statuses(t, id); st["unknown"] != 4 || st["sent"] != len(ps)-4 {
		t.Errorf("at the end: recipients by status %v, want 4 unknown and the rest sent", st)
	}
}

// TestStuckSweepRequeuesOnlyItsChunks: a loop lost its database during
// its 4th send (its claim of 16 stays sending); two minutes later, while
// another loop of the campaign is live, the scheduler's sweep puts the
// claim's 12 never-started recipients back. The live loop is not stopped
// (the campaign's chunk generation stays 0) and finishes its chunk; only
// the chunk that got recipients back is enqueued, in generation 0. When
// the swept batch is in the live loop's own chunk, the live loop takes
// them and the message for it finds nothing and hands nothing back.
// Everyone is messaged once; the 4 started are unknown at the stuck-send
// timeout.
func TestStuckSweepRequeuesOnlyItsChunks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		recipients          int
		crashChunk, live    int
		sentAfterLive       int // recipients sent once the live loop is done
		sendsOfQueuedChunks int
	}{
		{"stale batch in another chunk", 120, 1, 0, 100, 16},
		{"stale batch in the live loop's chunk", 40, 0, 0, 36, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := setupBulk(t, 1, "")
			ctx := context.Background()
			ps := phones(tc.recipients)
			id := e.campaign(t, "hi", ps)
			crashBulkLoop(t, e, id, tc.crashChunk)
			e.clock.Add(2 * time.Minute)
			s := &campaign.Scheduler{Store: e.db, Queue: e.queue, Logger: e.worker.Logger, StuckAfter: 15 * time.Minute}
			// The sweep runs during the live loop's 5th send.
			var (
				mu       sync.Mutex
				sweepErr error
				n        int
			)
			e.fake.OnSend(func(wuzapitest.Send) {
				mu.Lock()
				defer mu.Unlock()
				if n++; n == 5 {
					sweepErr = s.SettleStuck(ctx, e.clock.Now())
				}
			})
			e.run(t, id, tc.live)
			e.fake.OnSend(nil)
			mu.Lock()
			defer mu.Unlock()
			if sweepErr != nil || n < 5 {
				t.Fatalf("sweep during the live loop: %v after %d sends", sweepErr, n)
			}
			if st := e.statuses(t, id); st["sent"] != tc.sentAfterLive || st["sending"] != 4 {
				t.Fatalf("after the live loop: recipients by status %v, want %d sent (the live loop not stopped by the sweep) and 4 sending",
					st, tc.sentAfterLive)
			}
			if gen := chunkGen(t, e, id); gen != 0 {
				t.Errorf("chunk generation %d after the sweep, want 0 (unchanged)", gen)
			}
			msgs := e.queue.take()
			if want := []enqueued{{id: id, chunk: tc.crashChunk}}; !slices.Equal(msgs, want) {
				t.Fatalf("enqueued %+v, want %+v (the swept batch's chunk only, generation 0)", msgs, want)
			}
			before := len(e.fake.Sends())
			for _, m := range msgs {
				if err := e.worker.HandleChunk(ctx, m.id, m.chunk, m.gen); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(e.fake.Sends()) - before; got != tc.sendsOfQueuedChunks {
				t.Errorf("the requeued chunk sent %d, want %d", got, tc.sendsOfQueuedChunks)
			}
			if msgs := e.queue.take(); len(msgs) != 0 {
				t.Errorf("the requeued chunk handed back %+v, want nothing", msgs)
			}
			if err := s.SettleStuck(ctx, e.clock.Now().Add(16*time.Minute)); err != nil {
				t.Fatal(err)
			}
			assertOnce(t, e.fake, ps)
			if st := e.statuses(t, id); st["unknown"] != 4 || st["sent"] != len(ps)-4 {
				t.Errorf("at the end: recipients by status %v, want 4 unknown and the rest sent", st)
			}
		})
	}
}

// kickStore is the store a kick sees; after its first call (a new
// generation, or the list of pending chunks) it runs between, once.
type kickStore struct {
	*postgres.DB
	calls   int
	between func()
}

func (k *kickStore) after() {
	if k.calls++; k.calls == 1 {
		k.between()
	}
}

func (k *kickStore) PendingChunks(ctx context.Context, campaignID string, chunkSize int) ([]int, error) {
	defer k.after()
	return k.DB.PendingChunks(ctx, campaignID, chunkSize)
}

func (k *kickStore) NextChunkGen(ctx context.Context, campaignID string) (int64, error) {
	defer k.after()
	return k.DB.NextChunkGen(ctx, campaignID)
}

// TestStuckSweepDuringAKickLosesNoChunk: the sweep puts back the
// never-started of a chunk that has no other pending recipient (all 16
// were in the lost claim) while the campaign is kicked (a resume): between
// the kick's two steps. Whatever the order, a message of that chunk is
// in the queue in the generation the kick left, and everyone is sent once
// (when the kick listed the chunks before it started its generation, the
// sweep's message was in the old one and the kick's list without the
// chunk: the 12 waited for the stalled campaigns' job).
func TestStuckSweepDuringAKickLosesNoChunk(t *testing.T) {
	t.Parallel()
	e, _ := setupBulk(t, 1, "")
	ctx := context.Background()
	ps := phones(116) // chunk 1: 16 recipients, one claim
	id := e.campaign(t, "hi", ps)
	crashBulkLoop(t, e, id, 1)
	e.clock.Add(2 * time.Minute)
	s := &campaign.Scheduler{Store: e.db, Queue: e.queue, Logger: e.worker.Logger, StuckAfter: 15 * time.Minute}
	var sweepErr error
	ks := &kickStore{DB: e.db, between: func() { sweepErr = s.SettleStuck(ctx, e.clock.Now()) }}
	if err := campaign.Kick(ctx, ks, e.queue, id, campaign.DefaultChunkSize, nil, e.clock.Now()); err != nil || sweepErr != nil {
		t.Fatalf("kick: %v, sweep: %v", err, sweepErr)
	}
	gen := chunkGen(t, e, id)
	msgs := e.queue.take()
	if !slices.Contains(msgs, enqueued{id: id, chunk: 1, gen: gen}) {
		t.Fatalf("enqueued %+v: no message of chunk 1 in generation %d", msgs, gen)
	}
	for len(msgs) > 0 {
		for _, m := range msgs {
			if err := e.worker.HandleChunk(ctx, m.id, m.chunk, m.gen); err != nil {
				t.Fatal(err)
			}
		}
		msgs = e.queue.take()
	}
	if err := s.SettleStuck(ctx, e.clock.Now().Add(16*time.Minute)); err != nil {
		t.Fatal(err)
	}
	assertOnce(t, e.fake, ps)
	if st := e.statuses(t, id); st["unknown"] != 4 || st["sent"] != len(ps)-4 {
		t.Errorf("at the end: recipients by status %v, want 4 unknown and the rest sent", st)
	}
}

// crashBulkLoop runs chunk n with a worker that loses its database during
// its 4th send: its claim of 16 stays sending, 3 sent unrecorded and the
// 4th in flight.
func crashBulkLoop(t *testing.T, e *env, id string, n int) {
	t.Helper()
	store := e.worker.Store
	ds := &dyingStore{DB: e.db}
	e.worker.Store = ds
	sends := 0
	e.fake.OnSend(func(wuzapitest.Send) {
		if sends++; sends == 4 {
			ds.dead.Store(true)
		}
	})
	if err := e.worker.HandleChunk(context.Background(), id, n, 0); !errors.Is(err, errGone) {
		t.Fatalf("HandleChunk = %v, want the database's loss", err)
	}
	e.fake.OnSend(nil)
	e.worker.Store = store
	if st := e.statuses(t, id); st["sending"] != bulkClaimMax {
		t.Fatalf("after the loss: recipients by status %v, want %d sending", st, bulkClaimMax)
	}
}

func chunkGen(t *testing.T, e *env, id string) int64 {
	t.Helper()
	var gen int64
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT chunk_gen FROM campaigns WHERE id = $1", id).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	return gen
}

// claimCount is the worker's store, counting its claims of several and
// the recipients they took.
type claimCount struct {
	*postgres.DB
	mu            sync.Mutex
	claims, taken int
}

func (c *claimCount) ClaimSeveral(ctx context.Context, campaignID string, marks []campaign.SentMark, lo, hi, k int, now time.Time, f campaign.ClaimFilter, batch, prev int64) ([]campaign.Claimed, error) {
	got, err := c.DB.ClaimSeveral(ctx, campaignID, marks, lo, hi, k, now, f, batch, prev)
	c.mu.Lock()
	c.claims++
	c.taken += len(got)
	c.mu.Unlock()
	return got, err
}

// TestWorkerClaimsWhatItSendsWithinTheHold: with slow sends (300 ms each
// on the test's clock) a claim of 16 outlives its second after four
// sends; the loop's next claims take as many as it started within the
// hold, doubling again while their queues are sent in time, so it claims
// not many more recipients than it sends (each one put back costs two
// row writes for nothing): 40 sends take 68 claimed recipients, where
// claims of 16 each took 136. Everyone is sent once, none left sending.
func TestWorkerClaimsWhatItSendsWithinTheHold(t *testing.T) {
	t.Parallel()
	e, _ := setupBulk(t, 1, "")
	cc := &claimCount{DB: e.db}
	e.worker.Store = cc
	ps := phones(40)
	id := e.campaign(t, "hi", ps)
	e.fake.OnSend(func(wuzapitest.Send) { e.clock.Add(300 * time.Millisecond) })
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	if cc.taken > 2*len(ps) {
		t.Errorf("%d claims took %d recipients for %d sends, want at most %d", cc.claims, cc.taken, len(ps), 2*len(ps))
	}
	if st := e.statuses(t, id); st["sent"] != len(ps) {
		t.Errorf("recipients by status %v, want all sent", st)
	}
}
