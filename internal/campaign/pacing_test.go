package campaign_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// stmtCounter is a pgx tracer that records every statement the store
// sends, batched ones too.
type stmtCounter struct {
	mu    sync.Mutex
	stmts []string
}

func (c *stmtCounter) add(sql string) {
	c.mu.Lock()
	c.stmts = append(c.stmts, sql)
	c.mu.Unlock()
}

func (c *stmtCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.add(d.SQL)
	return ctx
}
func (c *stmtCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *stmtCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (c *stmtCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.add(d.SQL)
}
func (c *stmtCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// take returns the statements recorded since the last take, each cut to
// its first line that is not a comment.
func (c *stmtCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.stmts))
	for _, s := range c.stmts {
		line := ""
		for l := range strings.SplitSeq(s, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
				line = l
				break
			}
		}
		out = append(out, line[:min(len(line), 90)])
	}
	c.stmts = nil
	return out
}

// gapLimiter grants a send once the gap drawn with the last grant has
// passed, on the test's clock, and says the gap with each grant.
type gapLimiter struct {
	mu       sync.Mutex
	now      func() time.Time
	gap      time.Duration
	next     time.Time
	reserves int
}

func (l *gapLimiter) Reserve(context.Context, campaign.SendPolicy) (campaign.Reservation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserves++
	now := l.now()
	if now.Before(l.next) {
		return campaign.Reservation{RetryAfter: l.next.Sub(now), Reason: "min_delay"}, nil
	}
	l.next = now.Add(l.gap)
	return campaign.Reservation{Granted: true, Gap: l.gap, Release: func(context.Context) {}}, nil
}

// TestSafePacingOneSendPerInvocation: at safe pacing (a gap longer than
// the worker waits in process) an invocation sends one recipient and
// hands the chunk back for the gap the grant drew, without claiming the
// next recipient for the limiter to refuse and putting it back, and
// without writing the campaign's reason again while it stays the same.
// Its statements: the job with its start and the delivery guard's window
// (each send is a first message), the claim, and the mark with the chunk's
// state.
func TestSafePacingOneSendPerInvocation(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	lim := &gapLimiter{now: e.clock.Now, gap: time.Minute}
	e.worker.Limiter = lim
	ps := phones(3)
	id := e.campaign(t, "hi", ps)
	want := []int{4, 3, 5} // the first writes the reason; the last clears it and finishes the campaign
	var gen int64
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT chunk_gen FROM campaigns WHERE id = $1", id).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		e.stmts.take()
		lim.reserves = 0
		if err := e.worker.HandleChunk(context.Background(), id, 0, gen); err != nil {
			t.Fatal(err)
		}
		stmts := e.stmts.take()
		q := e.queue.take()
		c := e.get(t, id)
		if len(e.fake.Sends()) != i+1 || lim.reserves != 1 {
			t.Fatalf("invocation %d: %d sends, %d reservations, want %d and 1", i, len(e.fake.Sends()), lim.reserves, i+1)
		}
		if len(stmts) != want[i] {
			t.Errorf("invocation %d: %d statements, want %d:\n%s", i, len(stmts), want[i], strings.Join(stmts, "\n"))
		}
		if i < len(ps)-1 {
			if len(q) != 1 || q[0].delay != time.Minute || c.Status != campaign.Running || c.Reason == nil || *c.Reason != "waiting: send limit (min_delay)" {
				t.Fatalf("invocation %d: handed back %v, campaign %s %v; want after 1m, running, waiting for the gap", i, q, c.Status, c.Reason)
			}
			e.clock.Add(time.Minute)
			continue
		}
		if len(q) != 0 || c.Status != campaign.Completed || c.Reason != nil {
			t.Fatalf("last invocation: handed back %v, campaign %s %v; want completed without a reason", q, c.Status, c.Reason)
		}
	}
	assertOnce(t, e.fake, ps)
}
