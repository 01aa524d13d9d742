package campaign_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// addInstance gives the test tenant another instance on the fake WuzAPI,
// with its own token and permissive limits.
func (e *env) addInstance(t *testing.T, name, token string) campaign.Instance {
	t.Helper()
	e.fake.AddUser(token, wuzapitest.Ready)
	inst, err := e.db.CreateInstance(context.Background(), campaign.Instance{ID: newUUID(t, e.db), TenantID: e.tenant.ID, Name: name,
		BaseURL: e.fake.URL, Token: token, MessagesPerMinute: 1000, HourlyCap: 1000, DailyCap: 1000, MaxInFlight: 1,
		NewContactsPerDay: 4, NewContactsPerHour: 100, IdenticalPerHour: 100}, []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func (e *env) poolCampaign(t *testing.T, ps []string, pool ...campaign.Instance) string {
	t.Helper()
	return e.campaign(t, "oi {{name}}", ps, func(nc *campaign.NewCampaign) {
		nc.Campaign.InstanceID = pool[0].ID
		for _, p := range pool {
			nc.Campaign.InstanceIDs = append(nc.Campaign.InstanceIDs, p.ID)
		}
	})
}

func (e *env) knows(t *testing.T, inst campaign.Instance, phone string) {
	t.Helper()
	if err := e.db.RememberContact(context.Background(), inst.ID, phone, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

// sentBy maps each phone that received a message to the token that sent it.
func sentBy(t *testing.T, fake *wuzapitest.Server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p, ss := range fake.Delivered() {
		if len(ss) != 1 {
			t.Fatalf("%s received %d messages, want 1", p, len(ss))
		}
		out[p] = ss[0].Token
	}
	return out
}

// TestPoolStickyAndBalanced: a contact who wrote to one instance of the
// pool is sent by it; new contacts go to the instance with the most
// new-contact budget left today (read from the send limiter), taking turns
// when budgets are equal; each instance's own limits apply.
func TestPoolStickyAndBalanced(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	sender := limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "test:" + uuid.NewString() + ":", Now: e.clock.Now})
	e.worker.Limiter = sender
	a, b, c := e.addInstance(t, "a", "tokA"), e.addInstance(t, "b", "tokB"), e.addInstance(t, "c", "tokC")
	// a has 1 new contact left today (3 of 4 spent), b and c 4.
	for range 3 {
		p := a.Policy(time.UTC)
		p.NewContact, p.TextHash = true, campaign.TextKey(uuid.NewString())
		res, err := sender.Reserve(context.Background(), p)
		if err != nil || !res.Granted {
			t.Fatalf("spend a's budget: %+v %v", res, err)
		}
		res.Release(context.Background())
	}
	ps := phones(8) // 0 wrote to a, 1 wrote to c (and to b, earlier), 2–7 are new
	e.knows(t, a, ps[0])
	e.knows(t, b, ps[1])
	e.clock.Add(time.Minute)
	e.knows(t, c, ps[1])
	id := e.poolCampaign(t, ps, a, b, c)
	e.run(t, id, 0)

	by := sentBy(t, e.fake)
	want := map[string]string{ps[0]: "tokA", ps[1]: "tokC", ps[2]: "tokB", ps[3]: "tokC", ps[4]: "tokB", ps[5]: "tokC", ps[6]: "tokB", ps[7]: "tokC"}
	for p, tok := range want {
		if by[p] != tok {
			t.Fatalf("%s sent by %q, want %q (all: %v)", p, by[p], tok, by)
		}
	}
	// b and c spent their 4 new contacts... b 3, c 3 (ps[1] was known to c).
	rs := e.recipients(t, id)
	if rs[ps[0]].InstanceID == nil || *rs[ps[0]].InstanceID != a.ID || rs[ps[2]].InstanceID == nil || *rs[ps[2]].InstanceID != b.ID {
		t.Fatalf("recipients' instances: %+v %+v", rs[ps[0]], rs[ps[2]])
	}
	if got := e.get(t, id); got.Status != campaign.Completed {
		t.Fatalf("campaign %s %v, want completed", got.Status, got.Reason)
	}
}

// TestPoolMovesOffLockedInstance: a reach-out lock on one instance moves
// its not-yet-sent new contacts to the others (each recipient claimed once,
// sent once); contacts who wrote to it stay with it, and it still sends
// them.
func TestPoolMovesOffLockedInstance(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	a, b := e.addInstance(t, "a", "tokA"), e.addInstance(t, "b", "tokB")
	ps := phones(5) // 4 wrote to a; the others are new: a's first new one meets a 463
	e.knows(t, a, ps[4])
	e.fake.Script(ps[0], wuzapitest.Reply{Status: 500, Error: lock463})
	id := e.poolCampaign(t, ps, a, b)
	e.run(t, id, 0)
	q := e.queue.take()
	if len(q) != 1 || q[0].delay != 0 {
		t.Fatalf("handed back %v, want once at once (the lock moves a's new contacts)", q)
	}
	if c := e.get(t, id); c.Status != campaign.Running {
		t.Fatalf("campaign %s after one instance's lock, want running", c.Status)
	}
	e.run(t, id, 0)
	by := sentBy(t, e.fake)
	want := map[string]string{ps[0]: "tokB", ps[1]: "tokB", ps[2]: "tokB", ps[3]: "tokB", ps[4]: "tokA"}
	for p, tok := range want {
		if by[p] != tok {
			t.Fatalf("%s sent by %q, want %q (all: %v)", p, by[p], tok, by)
		}
	}
	rs := e.recipients(t, id)
	if rs[ps[0]].Attempts != 1 || *rs[ps[0]].InstanceID != b.ID {
		t.Fatalf("locked recipient: %+v, want 1 attempt (the 463 unspent) on b", rs[ps[0]])
	}
	if c := e.get(t, id); c.Status != campaign.Completed {
		t.Fatalf("campaign %s %v, want completed", c.Status, c.Reason)
	}
}

// TestPoolMovesOffDisconnectedInstance: an instance whose socket is down is
// recorded so and its recipients go to the others; the campaign is not
// paused. With every instance banned it pauses.
func TestPoolMovesOffDisconnectedInstance(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	a, b := e.addInstance(t, "a", "tokA"), e.addInstance(t, "b", "tokB")
	e.fake.SetState("tokA", wuzapitest.State{Session: true, LoggedIn: true})
	ps := phones(4)
	e.knows(t, a, ps[3]) // known to a, which cannot send: b sends it as a new contact
	id := e.poolCampaign(t, ps, a, b)
	e.run(t, id, 0)
	if c := e.get(t, id); c.Status != campaign.Running && c.Status != campaign.Completed {
		t.Fatalf("campaign %s %v, want it going on", c.Status, c.Reason)
	}
	for range 3 {
		if e.get(t, id).Status == campaign.Completed {
			break
		}
		e.run(t, id, 0)
	}
	for p, tok := range sentBy(t, e.fake) {
		if tok != "tokB" {
			t.Fatalf("%s sent by %s, want tokB", p, tok)
		}
	}
	if len(e.fake.Delivered()) != 4 || e.get(t, id).Status != campaign.Completed {
		t.Fatalf("delivered %d, campaign %s; want 4, completed", len(e.fake.Delivered()), e.get(t, id).Status)
	}
	var connected *bool
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT connected FROM instances WHERE id = $1", a.ID).Scan(&connected); err != nil ||
		connected == nil || *connected {
		t.Fatalf("a's recorded session connected = %v (%v), want false", connected, err)
	}

	// Every instance banned: the campaign pauses with the reason.
	id2 := e.poolCampaign(t, phones(2), a, b)
	until := e.clock.Now().Add(24 * time.Hour)
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE instances SET blocked_reason = 'temporary_ban', ban_code = 104, blocked_until = $2
		WHERE id = $1`, b.ID, until); err != nil {
		t.Fatal(err)
	}
	e.run(t, id2, 0)
	c := e.get(t, id2)
	want := "auto-paused: no instance of the pool can send: a: not connected to WhatsApp; connect it (or pair it again); " +
		"b: temporarily banned by WhatsApp (sent the same message to too many people) until " + until.UTC().Format(time.RFC3339) +
		"; resume the campaign once one can"
	if c.Status != campaign.Paused || c.Reason == nil || *c.Reason != want {
		t.Fatalf("pool with nobody able to send = %s %q, want paused with %q", c.Status, deref(c.Reason), want)
	}
}

// TestPoolReasonNamesEveryInstance: a pool campaign's reason says, for each
// instance that waits or cannot send, which one and why, instead of the
// last instance to write it.
func TestPoolReasonNamesEveryInstance(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	e.worker.Limiter = limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "test:" + uuid.NewString() + ":", Now: e.clock.Now})
	a, b, c := e.addInstance(t, "a", "tokA"), e.addInstance(t, "b", "tokB"), e.addInstance(t, "c", "tokC")
	banned := e.clock.Now().Add(24 * time.Hour)
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE instances SET blocked_reason = 'temporary_ban', ban_code = 104, blocked_until = $2
		WHERE id = $1`, c.ID, banned); err != nil {
		t.Fatal(err)
	}
	ps := phones(10) // all new: a and b take turns; a's first meets a 463, b spends its 4
	e.fake.Script(ps[0], wuzapitest.Reply{Status: 500, Error: lock463})
	id := e.poolCampaign(t, ps, a, b, c)
	e.run(t, id, 0)

	got := e.get(t, id)
	lockUntil := e.clock.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	for _, want := range []string{"waiting: ", "a: new-contact lock until " + lockUntil, "b: daily new-contact budget until ",
		"c: temporarily banned by WhatsApp (sent the same message to too many people) until " + banned.UTC().Format(time.RFC3339)} {
		if got.Reason == nil || !strings.Contains(*got.Reason, want) {
			t.Fatalf("pool campaign reason %q lacks %q", deref(got.Reason), want)
		}
	}
	if got.Status != campaign.Running {
		t.Fatalf("campaign %s, want running", got.Status)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
