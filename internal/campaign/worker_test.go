package campaign_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type enqueued struct {
	id    string
	chunk int
	delay time.Duration
	gen   int64
}

type queue struct {
	mu   sync.Mutex
	msgs []enqueued
}

func (q *queue) EnqueueChunks(_ context.Context, id string, gen int64, chunks []int, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range chunks {
		q.msgs = append(q.msgs, enqueued{id, c, delay, gen})
	}
	return nil
}

func (q *queue) take() []enqueued {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.msgs
	q.msgs = nil
	return m
}

type env struct {
	db     *postgres.DB
	fake   *wuzapitest.Server
	queue  *queue
	clock  *clock
	worker *campaign.Worker
	tenant tenant.Tenant
	inst   campaign.Instance
	counts map[string]int
	mu     *sync.Mutex
	// stmts counts the statements the store sends (pacing_test.go).
	stmts *stmtCounter
}

func setupWorker(t *testing.T, maxInFlight int) *env { return setupWorkerTB(t, maxInFlight) }

func setupWorkerTB(t testing.TB, maxInFlight int) *env {
	t.Helper()
	// A pool as big as the fleet's: 10 invocations of 4 connections.
	stmts := &stmtCounter{}
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{MaxConns: 40, Tracer: stmts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	ctx := context.Background()
	tn, _, err := db.CreateTenant(ctx, tenant.Tenant{Name: "Acme", Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "America/Sao_Paulo"})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := db.CreateInstance(ctx, campaign.Instance{ID: newUUID(t, db), TenantID: tn.ID, Name: "main", BaseURL: fake.URL, Token: "tok",
		MessagesPerMinute: 2, MinDelayMs: 0, MaxDelayMs: 0, HourlyCap: 30, DailyCap: 200, WarmupDays: 0, MaxInFlight: maxInFlight}, []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, fake: fake, queue: &queue{}, clock: &clock{t: time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)},
		tenant: tn, inst: inst, counts: map[string]int{}, mu: &sync.Mutex{}, stmts: stmts}
	e.worker = &campaign.Worker{
		Store: db, Messenger: campaign.WuzapiMessenger{Pool: wuzapi.Guard{AllowPrivate: true}.Pool(10 * time.Second)}, Limiter: campaign.Unlimited{}, Queue: e.queue,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: e.clock.Now,
		Record: func(s string) { e.mu.Lock(); e.counts[s]++; e.mu.Unlock() },
	}
	return e
}

func newUUID(t testing.TB, db *postgres.DB) string {
	var id string
	if err := db.Pool.QueryRow(context.Background(), "SELECT uuid_v7()::text").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func phones(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("55119999%05d", i)
	}
	return out
}

func (e *env) campaign(t *testing.T, msg string, ps []string, mutate ...func(*campaign.NewCampaign)) string {
	t.Helper()
	recs := make([]campaign.NewRecipient, len(ps))
	for i, p := range ps {
		recs[i] = campaign.NewRecipient{Phone: p, Name: fmt.Sprintf("N%d", i), Vars: map[string]string{"i": fmt.Sprint(i)}}
	}
	nc := campaign.NewCampaign{
		Campaign:   campaign.Campaign{TenantID: e.tenant.ID, InstanceID: e.inst.ID, Message: msg, Status: campaign.Queued, ChunkSize: 100},
		Recipients: recs, Now: e.clock.Now(),
	}
	for _, m := range mutate {
		m(&nc)
	}
	c, err := e.db.CreateCampaign(context.Background(), nc)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (e *env) get(t *testing.T, id string) campaign.Campaign {
	t.Helper()
	c, err := e.db.Campaign(context.Background(), e.tenant.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) recipients(t *testing.T, id string) map[string]postgres.RecipientView {
	t.Helper()
	rs, err := e.db.Recipients(context.Background(), id, "", -1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]postgres.RecipientView{}
	for _, r := range rs {
		out[r.Phone] = r
	}
	return out
}

// run handles chunk n of the campaign as a message of its current chunk
// generation (the live one) would.
func (e *env) run(t *testing.T, id string, chunk int) {
	t.Helper()
	var gen int64
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT chunk_gen FROM campaigns WHERE id = $1", id).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	if err := e.worker.HandleChunk(context.Background(), id, chunk, gen); err != nil {
		t.Fatalf("HandleChunk: %v", err)
	}
}

// assertOnce fails unless every phone got exactly one successful send.
func assertOnce(t *testing.T, fake *wuzapitest.Server, ps []string) {
	t.Helper()
	got := fake.Delivered()
	for _, p := range ps {
		if len(got[p]) != 1 {
			t.Fatalf("%s received %d messages, want exactly 1", p, len(got[p]))
		}
	}
	if len(got) != len(ps) {
		t.Fatalf("%d phones received messages, want %d", len(got), len(ps))
	}
}

func TestWorkerSendsEachRecipientOnce(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ps := phones(20)
	msg := "{Oi|Olá} {{name}} #{{i}}"
	id := e.campaign(t, msg, ps)
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	tpl := campaign.ParseTemplate(msg)
	for _, s := range e.fake.Delivered() {
		var i int
		if _, err := fmt.Sscanf(s[0].Phone[8:], "%d", &i); err != nil {
			t.Fatalf("phone %s: %v", s[0].Phone, err)
		}
		want, _ := tpl.Render(campaign.Recipient{Phone: s[0].Phone, Name: fmt.Sprintf("N%d", i), Vars: map[string]string{"i": fmt.Sprint(i)}}, campaign.SeedKey(id, s[0].Phone))
		if s[0].Body != want || s[0].ID != campaign.MessageID(id, s[0].Phone, 0) {
			t.Fatalf("%s got %q id %s, want %q id %s", s[0].Phone, s[0].Body, s[0].ID, want, campaign.MessageID(id, s[0].Phone, 0))
		}
	}
	for p, r := range e.recipients(t, id) {
		if r.Status != "sent" || r.Attempts != 1 || r.SentAt == nil || r.MessageID == nil || *r.MessageID != campaign.MessageID(id, p, 0) {
			t.Fatalf("recipient %s = %+v", p, r)
		}
	}
	c := e.get(t, id)
	if c.Status != campaign.Completed || c.Counts.Sent != 20 || c.StartedAt == nil || c.FinishedAt == nil || c.Counts.Progress() != 100 {
		t.Fatalf("campaign = %+v", c)
	}
	if e.counts["sent"] != 20 {
		t.Fatalf("metrics = %v", e.counts)
	}
	tl, err := e.db.Timeline(context.Background(), id, time.Minute)
	if err != nil || len(tl) != 1 || tl[0].Sent != 20 || !tl[0].At.Equal(e.clock.Now().Truncate(time.Minute)) {
		t.Fatalf("timeline = %+v, %v", tl, err)
	}
	// Redelivered after completion: nothing more.
	e.run(t, id, 0)
	if n := len(e.fake.Sends()); n != 20 {
		t.Fatalf("redelivery sent again: %d sends", n)
	}
	if q := e.queue.take(); len(q) != 0 {
		t.Fatalf("handed back %v", q)
	}
}

func TestWorkerConcurrentRedelivery(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 4)
	ps := phones(250)
	id := e.campaign(t, "hi {{name}}", ps)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 4 { // every chunk delivered four times at once
		for chunk := range 3 {
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
	if n := len(e.fake.Sends()); n != 250 {
		t.Fatalf("%d sends for 250 recipients", n)
	}
	if c := e.get(t, id); c.Status != campaign.Completed || c.Counts.Sent != 250 {
		t.Fatalf("campaign = %s %+v", c.Status, c.Counts)
	}
}

func TestWorkerRetries(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ps := phones(4)
	flaky, bad, dead := ps[0], ps[1], ps[2]
	e.fake.Script(flaky, wuzapitest.Reply{Status: 500, Error: "error sending message: server returned error 503"}, wuzapitest.Reply{Status: 429, Error: "rate"})
	e.fake.Script(bad, wuzapitest.Reply{Status: 400, Error: "could not parse Phone"})
	e.fake.Script(dead, wuzapitest.Reply{Status: 502, Error: "bad gateway"}, wuzapitest.Reply{Status: 502, Error: "bad gateway"}, wuzapitest.Reply{Status: 502, Error: "bad gateway"})
	id := e.campaign(t, "hi", ps)

	e.run(t, id, 0)
	rs := e.recipients(t, id)
	if rs[flaky].Status != "pending" || rs[flaky].Attempts != 1 || rs[bad].Status != "failed" || rs[bad].Attempts != 1 ||
		!strings.Contains(*rs[bad].LastError, "could not parse Phone") || rs[ps[3]].Status != "sent" {
		t.Fatalf("after first pass: %+v", rs)
	}
	if q := e.queue.take(); len(q) != 1 || q[0].chunk != 0 || q[0].delay != 5*time.Second {
		t.Fatalf("handed back %v, want chunk 0 after 5s", q)
	}
	e.run(t, id, 0) // too early: the backoff has not passed
	if n := len(e.fake.Sends()); n != 4 {
		t.Fatalf("sent during backoff: %d sends", n)
	}
	if q := e.queue.take(); len(q) != 1 || q[0].delay != 5*time.Second {
		t.Fatalf("early redelivery handed back %v", q)
	}
	e.clock.Add(5 * time.Second)
	e.run(t, id, 0)
	if q := e.queue.take(); len(q) != 1 || q[0].delay != 10*time.Second {
		t.Fatalf("second backoff %v, want 10s", q)
	}
	e.clock.Add(10 * time.Second)
	e.run(t, id, 0)
	rs = e.recipients(t, id)
	if rs[flaky].Status != "sent" || rs[flaky].Attempts != 3 || rs[dead].Status != "failed" || rs[dead].Attempts != 3 {
		t.Fatalf("after retries: flaky %+v dead %+v", rs[flaky], rs[dead])
	}
	if got := e.fake.Delivered(); len(got[flaky]) != 1 || len(got[bad]) != 0 || len(got[dead]) != 0 {
		t.Fatalf("delivered %v", got)
	}
	for _, s := range e.fake.Sends() {
		if s.Phone == flaky && s.ID != campaign.MessageID(id, flaky, 0) {
			t.Fatalf("a retry changed the message id: %s", s.ID)
		}
	}
	if c := e.get(t, id); c.Status != campaign.Completed || c.Counts.Sent != 2 || c.Counts.Failed != 2 {
		t.Fatalf("campaign = %s %+v", c.Status, c.Counts)
	}
	if e.counts["retried"] != 4 || e.counts["failed"] != 2 || e.counts["sent"] != 2 {
		t.Fatalf("metrics = %v", e.counts)
	}
}

// TestWorkerSendTimeout: a send WuzAPI does not answer within SendTimeout
// ends then, as a transient timeout retried later, through the WuzAPI
// pool's own bound as through a context's.
func TestWorkerSendTimeout(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]campaign.Messenger{
		"pool":            campaign.WuzapiMessenger{Pool: wuzapi.Guard{AllowPrivate: true}.Pool(time.Minute)},
		"context timeout": untimed{campaign.WuzapiMessenger{Pool: wuzapi.Guard{AllowPrivate: true}.Pool(time.Minute)}},
	} {
		e := setupWorker(t, 1)
		e.worker.Messenger, e.worker.SendTimeout = m, 200*time.Millisecond
		ps := phones(1)
		e.fake.Script(ps[0], wuzapitest.Reply{Delay: 3 * time.Second})
		id := e.campaign(t, "hi", ps)
		e.run(t, id, 0)
		r := e.recipients(t, id)[ps[0]]
		if r.Status != "pending" || r.Attempts != 1 || r.LastError == nil ||
			!strings.Contains(*r.LastError, "no answer") || e.counts["retried"] != 1 {
			t.Errorf("%s: recipient %+v (%v), counts %v; want a retry after the timeout (the answer comes after 3 s)", name, r, r.LastError, e.counts)
		}
	}
}

// untimed hides a messenger's own timeout: the worker bounds its sends
// with a context.
type untimed struct{ m campaign.Messenger }

func (u untimed) SendText(ctx context.Context, inst campaign.Instance, phone, body, id string) error {
	return u.m.SendText(ctx, inst, phone, body, id)
}

func TestWorkerPauseStopsWithinChunk(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ps := phones(10)
	id := e.campaign(t, "hi", ps)
	n := 0
	e.fake.OnSend(func(wuzapitest.Send) {
		n++
		if n == 3 {
			if _, err := e.db.Transition(context.Background(), e.tenant.ID, id, campaign.ActPause); err != nil {
				t.Error(err)
			}
		}
	})
	e.run(t, id, 0)
	if got := len(e.fake.Sends()); got != 3 {
		t.Fatalf("%d sends after pausing at the 3rd, want 3", got)
	}
	c := e.get(t, id)
	if c.Status != campaign.Paused || c.Counts.Pending != 7 || c.Counts.Sent != 3 {
		t.Fatalf("campaign = %s %+v", c.Status, c.Counts)
	}
	e.run(t, id, 0) // a redelivery while paused sends nothing
	if got := len(e.fake.Sends()); got != 3 {
		t.Fatalf("paused campaign sent: %d", got)
	}
	e.fake.OnSend(nil)
	if _, err := e.db.Transition(context.Background(), e.tenant.ID, id, campaign.ActResume); err != nil {
		t.Fatal(err)
	}
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
}

func TestWorkerAutoPausesWhenInstanceCannotSend(t *testing.T) {
	t.Parallel()
	for _, st := range []wuzapitest.State{{}, {Session: true, Connected: true}, {Session: true, LoggedIn: true}} {
		e := setupWorker(t, 1)
		e.fake.SetState("tok", st)
		ps := phones(3)
		id := e.campaign(t, "hi", ps)
		e.run(t, id, 0)
		c := e.get(t, id)
		if c.Status != campaign.Paused || c.Reason == nil || !strings.HasPrefix(*c.Reason, "auto-paused: instance cannot send") || c.Counts.Pending != 3 {
			t.Fatalf("state %+v: campaign = %s %v %+v", st, c.Status, c.Reason, c.Counts)
		}
		for p, r := range e.recipients(t, id) {
			if r.Attempts != 0 || r.Status != "pending" {
				t.Fatalf("recipient %s = %+v", p, r)
			}
		}
		ev, err := e.db.CampaignEvents(context.Background(), id)
		if err != nil || len(ev) != 1 || ev[0].Type != "instance_not_ready" {
			t.Fatalf("events = %+v, %v", ev, err)
		}
		if len(e.fake.Delivered()) != 0 {
			t.Fatal("delivered while not ready")
		}
	}
}

func TestWorkerAutoPausesOnFailureShare(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	e.worker.FailureWindow, e.worker.FailureShare = 4, 0.5
	ps := phones(10)
	for _, p := range ps[1:] {
		e.fake.Script(p, wuzapitest.Reply{Status: 400, Error: "bad"})
	}
	id := e.campaign(t, "hi", ps)
	e.run(t, id, 0)
	c := e.get(t, id)
	// ok, fail, fail, fail: 3 of the last 4 failed > 50 %.
	if c.Status != campaign.Paused || c.Reason == nil || *c.Reason != "auto-paused: 3 of the last 4 sends failed" || len(e.fake.Sends()) != 4 {
		t.Fatalf("campaign = %s %v, %d sends", c.Status, c.Reason, len(e.fake.Sends()))
	}
	if ev, _ := e.db.CampaignEvents(context.Background(), id); len(ev) != 1 || ev[0].Type != "failure_rate" {
		t.Fatalf("events = %+v", ev)
	}
}

func TestWorkerQuietHours(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	// 15:00 UTC is 12:00 in São Paulo.
	id := e.campaign(t, "hi", phones(2), func(nc *campaign.NewCampaign) {
		nc.Campaign.QuietHours = &tenant.QuietHours{Start: "11:00", End: "12:30"}
	})
	e.run(t, id, 0)
	c := e.get(t, id)
	if len(e.fake.Sends()) != 0 || c.Reason == nil || *c.Reason != "waiting: quiet hours until 2026-12-02T12:30:00-03:00" || c.Status != campaign.Running {
		t.Fatalf("in quiet hours: %d sends, campaign %s %v", len(e.fake.Sends()), c.Status, c.Reason)
	}
	if q := e.queue.take(); len(q) != 1 || q[0].delay != 30*time.Minute && q[0].delay != campaign.MaxQueueDelay {
		t.Fatalf("handed back %v", q)
	}
	e.clock.Add(30 * time.Minute)
	e.run(t, id, 0)
	if c := e.get(t, id); len(e.fake.Sends()) != 2 || c.Reason != nil || c.Status != campaign.Completed {
		t.Fatalf("after quiet hours: %d sends, campaign %s %v", len(e.fake.Sends()), c.Status, c.Reason)
	}
}

func TestWorkerTenantQuietHours(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	if _, err := e.db.UpdateTenantSettings(context.Background(), e.tenant.ID, postgres.SettingsUpdate{SetQuietHours: true,
		QuietHours: &tenant.QuietHours{Start: "11:00", End: "13:00"}}); err != nil {
		t.Fatal(err)
	}
	id := e.campaign(t, "hi", phones(1))
	e.run(t, id, 0)
	if q := e.queue.take(); len(e.fake.Sends()) != 0 || len(q) != 1 || q[0].delay != campaign.MaxQueueDelay {
		t.Fatalf("tenant quiet hours: %d sends, handed back %v", len(e.fake.Sends()), q)
	}
}

type denyLimiter struct {
	mu      sync.Mutex
	denials int
	after   time.Duration
	granted int
}

func (l *denyLimiter) Reserve(context.Context, campaign.SendPolicy) (campaign.Reservation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.denials > 0 {
		l.denials--
		return campaign.Reservation{RetryAfter: l.after, Reason: "per_minute"}, nil
	}
	l.granted++
	return campaign.Reservation{Granted: true, Release: func(context.Context) {}}, nil
}

func TestWorkerLimiter(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	lim := &denyLimiter{denials: 1, after: time.Minute}
	e.worker.Limiter = lim
	id := e.campaign(t, "hi", phones(2))
	e.run(t, id, 0)
	c := e.get(t, id)
	if len(e.fake.Sends()) != 0 || c.Reason == nil || *c.Reason != "waiting: send limit (per_minute)" {
		t.Fatalf("denied: %d sends, reason %v", len(e.fake.Sends()), c.Reason)
	}
	if q := e.queue.take(); len(q) != 1 || q[0].delay != time.Minute {
		t.Fatalf("handed back %v, want after 1m", q)
	}
	// A short RetryAfter is waited out in-process (through the injected sleep).
	var slept []time.Duration
	e.worker.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); e.clock.Add(d); return nil }
	lim.denials, lim.after = 1, 2*time.Second
	e.run(t, id, 0)
	if len(slept) != 1 || slept[0] != 2*time.Second || len(e.fake.Sends()) != 2 {
		t.Fatalf("slept %v, %d sends", slept, len(e.fake.Sends()))
	}
	if c := e.get(t, id); c.Status != campaign.Completed || c.Reason != nil {
		t.Fatalf("campaign = %s %v", c.Status, c.Reason)
	}
}

type brokenLimiter struct{}

func (brokenLimiter) Reserve(context.Context, campaign.SendPolicy) (campaign.Reservation, error) {
	return campaign.Reservation{}, fmt.Errorf("redis: connection refused")
}

func TestWorkerLimiterDownFailsClosed(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	e.worker.Limiter = brokenLimiter{}
	id := e.campaign(t, "hi", phones(2))
	e.run(t, id, 0)
	if q := e.queue.take(); len(e.fake.Sends()) != 0 || len(q) != 1 || q[0].delay != 30*time.Second {
		t.Fatalf("limiter down: %d sends, handed back %v", len(e.fake.Sends()), q)
	}
}

func TestWorkerStopsNearDeadline(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	e.worker.SendTimeout = time.Second
	e.worker.DeadlineMargin = time.Hour // anything real is "too close"
	id := e.campaign(t, "hi", phones(3))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.worker.Now = time.Now // the deadline is real time
	if err := e.worker.HandleChunk(ctx, id, 0, 0); err != nil {
		t.Fatal(err)
	}
	if q := e.queue.take(); len(e.fake.Sends()) != 0 || len(q) != 1 || q[0].delay != 0 {
		t.Fatalf("near the deadline: %d sends, handed back %v", len(e.fake.Sends()), q)
	}
}

func TestCrashedSendBecomesUnknownAndResend(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ps := phones(3)
	id := e.campaign(t, "hi", ps)
	ctx := context.Background()
	// A worker claims a recipient and dies before marking it.
	if _, err := e.db.StartChunk(ctx, id, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	claimed, ok, err := e.db.Claim(ctx, id, 0, 100, e.clock.Now(), campaign.ClaimFilter{})
	if err != nil || !ok || claimed.MessageID != campaign.MessageID(id, claimed.Phone, 0) {
		t.Fatalf("claim = %+v %v %v (SQL and Go message ids must agree)", claimed, ok, err)
	}
	e.run(t, id, 0) // the redelivered chunk
	if d := e.fake.Delivered(); len(d[claimed.Phone]) != 0 || len(d) != 2 {
		t.Fatalf("redelivery re-sent the claimed recipient: %v", d)
	}
	s := &campaign.Scheduler{Store: e.db, Queue: e.queue, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), StuckAfter: 15 * time.Minute}
	if err := s.SettleStuck(ctx, e.clock.Now().Add(14*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if r := e.recipients(t, id)[claimed.Phone]; r.Status != "sending" {
		t.Fatalf("marked before the timeout: %+v", r)
	}
	if err := s.SettleStuck(ctx, e.clock.Now().Add(16*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishSettled(ctx, e.clock.Now().Add(16*time.Minute)); err != nil {
		t.Fatal(err)
	}
	c := e.get(t, id)
	if c.Status != campaign.Completed || c.Counts.Unknown != 1 || c.Counts.Progress() != 100 {
		t.Fatalf("campaign = %s %+v", c.Status, c.Counts)
	}
	st, n, err := e.db.Resend(ctx, e.tenant.ID, id, []campaign.RecipientStatus{campaign.RUnknown}, 0)
	if err != nil || n != 1 || st != campaign.Queued {
		t.Fatalf("resend = %s %d %v", st, n, err)
	}
	e.run(t, id, 0)
	d := e.fake.Delivered()[claimed.Phone]
	if len(d) != 1 || d[0].ID != campaign.MessageID(id, claimed.Phone, 1) {
		t.Fatalf("resend delivered %+v, want one with the generation-1 id", d)
	}
	if c := e.get(t, id); c.Status != campaign.Completed || c.Counts.Sent != 3 {
		t.Fatalf("after resend = %s %+v", c.Status, c.Counts)
	}
}

func TestSchedulerReleasesDueCampaigns(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ctx := context.Background()
	at := e.clock.Now().Add(2 * time.Hour)
	id := e.campaign(t, "hi", phones(150), func(nc *campaign.NewCampaign) {
		nc.Campaign.Status, nc.Campaign.ScheduledAt = campaign.Scheduled, &at
	})
	s := &campaign.Scheduler{Store: e.db, Queue: e.queue, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.ReleaseDue(ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if c := e.get(t, id); c.Status != campaign.Scheduled || len(e.queue.take()) != 0 {
		t.Fatalf("released 2 h early: %s", c.Status)
	}
	// 10 minutes before: released, with the rest as queue delay, so it starts on time.
	if err := s.ReleaseDue(ctx, at.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	q := e.queue.take()
	if c := e.get(t, id); c.Status != campaign.Queued || len(q) != 2 || q[0].delay != 10*time.Minute {
		t.Fatalf("release = %s, enqueued %v", c.Status, q)
	}
	// A worker that gets it early hands it back until the time.
	e.clock.t = at.Add(-10 * time.Minute)
	e.run(t, id, 0)
	if q := e.queue.take(); len(e.fake.Sends()) != 0 || len(q) != 1 || q[0].delay != 10*time.Minute {
		t.Fatalf("early chunk: %d sends, handed back %v", len(e.fake.Sends()), q)
	}
	e.clock.t = at
	e.run(t, id, 0)
	e.run(t, id, 1)
	assertOnce(t, e.fake, phones(150))
	// Released once only.
	if err := s.ReleaseDue(ctx, at); err != nil || len(e.queue.take()) != 0 {
		t.Fatalf("released twice: %v", err)
	}
}

func TestSchedulerRequeuesStalled(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ctx := context.Background()
	now := e.clock.Now()
	id := e.campaign(t, "hi", phones(120)) // never enqueued: as if the enqueue after commit failed
	s := &campaign.Scheduler{Store: e.db, Queue: e.queue, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := e.db.Pool.Exec(ctx, "UPDATE campaigns SET updated_at = $2 WHERE id = $1", id, now.Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RequeueStalled(ctx, now); err != nil {
		t.Fatal(err)
	}
	if q := e.queue.take(); len(q) != 2 || q[0].chunk != 0 || q[1].chunk != 1 {
		t.Fatalf("requeued %v", q)
	}
	if err := s.RequeueStalled(ctx, now.Add(time.Minute)); err != nil || len(e.queue.take()) != 0 {
		t.Fatalf("requeued a freshly enqueued campaign: %v", err)
	}
	e.run(t, id, 0)
	// Chunk 1 was lost (say, to the DLQ): after the stall window it comes back alone.
	if err := s.RequeueStalled(ctx, now.Add(21*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if q := e.queue.take(); len(q) != 1 || q[0].chunk != 1 {
		t.Fatalf("requeued %v, want chunk 1", q)
	}
}

func TestAutoPauseInstance(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ctx := context.Background()
	a := e.campaign(t, "hi", phones(2))
	b := e.campaign(t, "hi", phones(2))
	if _, err := e.db.Transition(ctx, e.tenant.ID, b, campaign.ActCancel); err != nil {
		t.Fatal(err)
	}
	ids, err := e.db.AutoPauseInstance(ctx, e.inst.ID, "logged_out", "auto-paused: the instance logged out")
	if err != nil || len(ids) != 1 || ids[0] != a {
		t.Fatalf("paused %v, %v; want only %s", ids, err, a)
	}
	if c := e.get(t, a); c.Status != campaign.Paused || *c.Reason != "auto-paused: the instance logged out" {
		t.Fatalf("campaign = %s %v", c.Status, c.Reason)
	}
	if c := e.get(t, b); c.Status != campaign.Cancelled {
		t.Fatalf("cancelled campaign became %s", c.Status)
	}
	if ev, _ := e.db.CampaignEvents(ctx, a); len(ev) != 1 || ev[0].Type != "logged_out" {
		t.Fatalf("events = %+v", ev)
	}
}

func TestWorkerRespectsInstanceBlock(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ctx := context.Background()
	id := e.campaign(t, "hi", phones(3))
	if _, err := e.db.Pool.Exec(ctx, "UPDATE instances SET blocked_reason = 'temporary_ban', blocked_at = now() WHERE id = $1", e.inst.ID); err != nil {
		t.Fatal(err)
	}
	al := &alerts{}
	e.worker.Alert = al.add
	e.run(t, id, 0)
	c := e.get(t, id)
	if a := al.get(); len(a) != 1 || !strings.HasPrefix(a[0], "critical|") {
		t.Fatalf("alerts %v, want one critical", a)
	}
	if len(e.fake.Sends()) != 0 || c.Status != campaign.Paused || *c.Reason != "auto-paused: main is temporarily banned by WhatsApp; resume the campaign once it is lifted" {
		t.Fatalf("blocked instance: %d sends, campaign %s %v", len(e.fake.Sends()), c.Status, c.Reason)
	}
	// A campaign already running when the block lands: the claim refuses too.
	if _, err := e.db.Pool.Exec(ctx, "UPDATE campaigns SET status = 'running' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.db.Claim(ctx, id, 0, 100, e.clock.Now(), campaign.ClaimFilter{}); err != nil || ok {
		t.Fatalf("claim on a blocked instance = %v, %v", ok, err)
	}
	// A ban with an expiry ends by itself.
	if _, err := e.db.Pool.Exec(ctx, "UPDATE instances SET ban_code = 104, blocked_until = $2 WHERE id = $1", e.inst.ID, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.db.Claim(ctx, id, 0, 100, e.clock.Now().Add(time.Hour-time.Second), campaign.ClaimFilter{}); err != nil || ok {
		t.Fatalf("claim before the ban's expiry = %v, %v", ok, err)
	}
	e.clock.Add(time.Hour)
	e.run(t, id, 0)
	assertOnce(t, e.fake, phones(3))
}

// claimStarts records where each claim starts looking, and counts the
// sends recorded on their own.
type claimStarts struct {
	*postgres.DB
	mu    sync.Mutex
	from  []int
	marks int
}

func (c *claimStarts) Claim(ctx context.Context, campaignID string, lo, hi int, now time.Time, f campaign.ClaimFilter) (campaign.Claimed, bool, error) {
	c.mu.Lock()
	c.from = append(c.from, lo)
	c.mu.Unlock()
	return c.DB.Claim(ctx, campaignID, lo, hi, now, f)
}

func (c *claimStarts) MarkSentClaim(ctx context.Context, campaignID, sent string, sentAt time.Time, lo, hi int, now time.Time, f campaign.ClaimFilter) (campaign.Claimed, bool, error) {
	c.mu.Lock()
	c.from = append(c.from, lo)
	c.mu.Unlock()
	return c.DB.MarkSentClaim(ctx, campaignID, sent, sentAt, lo, hi, now, f)
}

func (c *claimStarts) MarkSent(ctx context.Context, campaignID, phone string, now time.Time) error {
	c.mu.Lock()
	c.marks++
	c.mu.Unlock()
	return c.DB.MarkSent(ctx, campaignID, phone, now)
}

// TestWorkerClaimsAfterItsLastRecipient: each claim starts after the
// recipient the loop claimed last, not at the chunk's start (where it
// would step over every settled recipient again); once nothing is left
// after it, one claim looks from the start for any that became due
// behind it. Each claim records the loop's previous send in the same
// statement, the last send too (by the claim that finds nothing): none is
// recorded on its own. Everyone is sent once and ends sent.
func TestWorkerClaimsAfterItsLastRecipient(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	starts := &claimStarts{DB: e.db}
	e.worker.Store = starts
	ps := phones(5)
	id := e.campaign(t, "oi {{name}}", ps)
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	if want := []int{0, 1, 2, 3, 4, 5, 0}; !slices.Equal(starts.from, want) {
		t.Fatalf("claims started at seq %v, want %v", starts.from, want)
	}
	if starts.marks != 0 {
		t.Fatalf("%d sends recorded on their own, want 0", starts.marks)
	}
	for p, r := range e.recipients(t, id) {
		if r.Status != "sent" || r.SentAt == nil {
			t.Errorf("recipient %s: %s sent at %v, want sent", p, r.Status, r.SentAt)
		}
	}
	if c := e.get(t, id); c.Status != campaign.Completed {
		t.Fatalf("campaign %s, want completed", c.Status)
	}
}
