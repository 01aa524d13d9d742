package campaign_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit/limittest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestWorkerHandsSlotsOver runs a chunk on the real limiter with
// maxInFlight 1: each send's in-flight slot is freed by the loop's next
// reservation in the same script call, so the chunk costs Redis one round
// trip a send and one release at the end, not a reservation and a release
// a send; every recipient is sent once and no slot is left taken.
func TestWorkerHandsSlotsOver(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	cc := &limittest.Commands{}
	rdb.AddHook(cc)
	prefix := "test:" + uuid.NewString() + ":"
	e.worker.Limiter = limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: prefix, Now: e.clock.Now})
	e.set(t, "messages_per_minute = 1000, hourly_cap = 1000")
	ps := phones(6)
	id := e.campaign(t, "hi {{name}}", ps)
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	calls := cc.Take()
	if calls["evalsha"]+calls["eval"] != len(ps) || calls["zrem"] != 1 {
		t.Errorf("%d sends cost Redis %v, want %d script calls and one zrem (the last slot's release)", len(ps), calls, len(ps))
	}
	if n := rdb.ZCard(context.Background(), prefix+"send:{"+e.inst.ID+"}:leases").Val(); n != 0 {
		t.Errorf("%d in-flight slots left taken after the chunk, want none", n)
	}
}

// TestWorkerReservesSeveralSendsAtOnce runs a chunk on the real limiter at
// bulk limits (no gap, no typing): each reservation covers up to 16 sends
// of one kind (here first messages of one text), started one after
// another on one in-flight slot, so 40 sends cost Redis three grants and
// one release (which gives back the last grant's 8 sends never started)
// instead of 40 grants; every recipient is sent once, the day counts 40
// sends, and no slot is left taken.
func TestWorkerReservesSeveralSendsAtOnce(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	cc := &limittest.Commands{}
	rdb.AddHook(cc)
	prefix := "test:" + uuid.NewString() + ":"
	s := limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: prefix, Now: e.clock.Now})
	e.worker.Limiter = s
	e.set(t, "messages_per_minute = 1000, hourly_cap = 1000, new_contacts_per_hour = 200, new_contacts_per_day = 500, identical_per_hour = 1000")
	ps := phones(40)
	id := e.campaign(t, "hi", ps)
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	calls := cc.Take()
	if calls["evalsha"]+calls["eval"] != 4 || calls["zrem"] != 0 {
		t.Errorf("%d sends cost Redis %v, want 4 script calls (3 grants of 16, 16 and 16, the release of the last) and no zrem", len(ps), calls)
	}
	p := e.inst.Policy(time.UTC)
	p.NewContact = true
	if d, err := s.Today(context.Background(), p); err != nil || d.Sent != len(ps) || d.NewContacts != len(ps) {
		t.Errorf("the day counts %+v (%v), want %d sends, all first messages", d, err, len(ps))
	}
	if n := rdb.ZCard(context.Background(), prefix+"send:{"+e.inst.ID+"}:leases").Val(); n != 0 {
		t.Errorf("%d in-flight slots left taken after the chunk, want none", n)
	}
}

// nudgeCount is a webhook.Nudger that counts its nudges.
type nudgeCount struct {
	mu sync.Mutex
	n  int
}

func (c *nudgeCount) Nudge(context.Context, string, time.Duration) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return nil
}

// TestWorkerReadsNoEndpointsWithoutAny: for a tenant without a webhook
// endpoint (the chunk's job says so) the claims that carry the previous
// send's mark are sent alone, without the read of the endpoints their
// events gave a delivery, and so are the campaign's finish and a mark that
// no claim carries: none of 10 sends' statements reads them (11 times with
// a read a claim and the finish's).
func TestWorkerReadsNoEndpointsWithoutAny(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	stmts := &stmtCounter{}
	nudges := &nudgeCount{}
	db, err := postgres.Open(context.Background(), e.db.Pool.Config().ConnString(), postgres.Options{MaxConns: 4, Tracer: stmts, Webhooks: nudges})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	e.worker.Store = db
	ps := phones(10)
	e.set(t, "messages_per_minute = 1000, hourly_cap = 1000")
	id := e.campaign(t, "hi", ps)
	stmts.take()
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	if reads, all := endpointReads(stmts); reads != 0 || nudges.n != 0 {
		t.Errorf("%d sends and the finish read the noted endpoints %d times (%d nudges), want none:\n%s",
			len(ps), reads, nudges.n, strings.Join(all, "\n"))
	}
	// The invocation's last mark, when no claim carries it (each send at
	// safe pacing), reads them only for a tenant that has endpoints.
	ctx := context.Background()
	for _, noWebhooks := range []bool{true, false} {
		if _, _, err := db.MarkSentState(ctx, id, ps[0], time.Now(), 0, len(ps), noWebhooks); err != nil {
			t.Fatal(err)
		}
		want := map[bool]int{true: 0, false: 1}[noWebhooks]
		if reads, all := endpointReads(stmts); reads != want {
			t.Errorf("mark with noWebhooks %v read the noted endpoints %d times, want %d:\n%s", noWebhooks, reads, want, strings.Join(all, "\n"))
		}
	}
}

// endpointReads takes the statements counted so far and says how many of
// them read the endpoints noted by webhook events.
func endpointReads(stmts *stmtCounter) (int, []string) {
	reads := 0
	all := stmts.take()
	for _, s := range all {
		if strings.HasPrefix(s, "SELECT coalesce(current_setting") {
			reads++
		}
	}
	return reads, all
}
