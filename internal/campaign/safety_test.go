package campaign_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// set changes the test instance's columns directly (the API that sets them
// is tested with it).
func (e *env) set(t *testing.T, assignments string, args ...any) {
	t.Helper()
	if _, err := e.db.Pool.Exec(context.Background(), "UPDATE instances SET "+assignments+" WHERE id = $1",
		append([]any{e.inst.ID}, args...)...); err != nil {
		t.Fatal(err)
	}
}

func (e *env) know(t *testing.T, phone string) {
	t.Helper()
	if err := e.db.RememberContact(context.Background(), e.inst.ID, phone, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

type alerts struct {
	mu   sync.Mutex
	list []string
}

func (a *alerts) add(_ context.Context, severity, typ, _, msg string) {
	a.mu.Lock()
	a.list = append(a.list, severity+"|"+typ+"|"+msg)
	a.mu.Unlock()
}

func (a *alerts) get() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.list...)
}

const lock463 = "error sending message: server returned error 463"

func TestWorkerReachOutLock(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	al := &alerts{}
	e.worker.Alert = al.add
	ps := phones(3) // 0 and 1 are new, 2 wrote to the instance
	e.know(t, ps[2])
	e.fake.Script(ps[0], wuzapitest.Reply{Status: 500, Error: lock463})
	id := e.campaign(t, "oi {{name}}", ps)
	e.run(t, id, 0)

	rs := e.recipients(t, id)
	for _, p := range ps[:2] {
		if rs[p].Status != "pending" || rs[p].Attempts != 0 {
			t.Fatalf("new contact %s after the lock = %s, %d attempts; want pending with 0", p, rs[p].Status, rs[p].Attempts)
		}
	}
	if rs[ps[2]].Status != "sent" {
		t.Fatalf("known contact = %s, want sent during the lock", rs[ps[2]].Status)
	}
	if d := e.fake.Delivered(); len(d) != 1 || len(d[ps[2]]) != 1 {
		t.Fatalf("delivered %v, want only the known contact", d)
	}
	until := e.clock.Now().Add(24 * time.Hour)
	want := "waiting: new-contact lock on main until " + until.UTC().Format(time.RFC3339)
	if c := e.get(t, id); c.Status != campaign.Running || c.Reason == nil || *c.Reason != want {
		t.Fatalf("campaign = %s %v, want running %q", c.Status, c.Reason, want)
	}
	if q := e.queue.take(); len(q) != 1 || q[0].delay != campaign.MaxQueueDelay {
		t.Fatalf("handed back %v, want once after %v", q, campaign.MaxQueueDelay)
	}
	if a := al.get(); len(a) != 1 || !strings.HasPrefix(a[0], "warning|") {
		t.Fatalf("alerts %v, want one warning", a)
	}
	lane, err := e.db.NewLane(context.Background(), e.inst.ID)
	if err != nil || lane.State != campaign.LaneLocked || lane.Until == nil || !lane.Until.Equal(until) {
		t.Fatalf("lane = %+v, %v; want locked until %v", lane, err, until)
	}

	// Still locked: nothing new goes out.
	e.clock.Add(23 * time.Hour)
	e.run(t, id, 0)
	if n := len(e.fake.Sends()); n != 2 {
		t.Fatalf("%d sends during the lock, want the 2 of before", n)
	}
	// The lock ends: one probe goes out and reopens the lane.
	e.clock.Add(time.Hour)
	e.run(t, id, 0)
	if d := e.fake.Delivered(); len(d[ps[0]]) != 1 || len(d[ps[1]]) != 0 {
		t.Fatalf("after the lock: delivered %v, want only the probe to %s", d, ps[0])
	}
	if lane, _ := e.db.NewLane(context.Background(), e.inst.ID); lane.State != campaign.LaneOpen {
		t.Fatalf("lane after a good probe = %+v, want open", lane)
	}
	e.run(t, id, 0)
	if c := e.get(t, id); c.Status != campaign.Completed {
		t.Fatalf("campaign = %s %v, want completed", c.Status, c.Reason)
	}
	// A second lock within 7 days of the first lasts twice as long.
	lane, fresh, err := e.db.LockNewLane(context.Background(), e.inst.ID, e.clock.Now())
	if err != nil || !fresh || !lane.Until.Equal(e.clock.Now().Add(48*time.Hour)) {
		t.Fatalf("second lock = %+v fresh=%v %v, want 48 h", lane, fresh, err)
	}
}

func TestWorkerNumberCheck(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	e.set(t, "check_numbers = true")
	old, gone, plain := "5511987654321", "5511900000001", "5511900000002"
	e.fake.SetJID(old, "551187654321@s.whatsapp.net")
	e.fake.NotOnWhatsApp(gone)
	id := e.campaign(t, "oi", []string{old, gone, plain})
	e.run(t, id, 0)

	if calls := e.fake.Checks(); len(calls) != 1 || len(calls[0].Phones) != 3 {
		t.Fatalf("check calls %v, want one of 3 phones", calls)
	}
	d := e.fake.Delivered()
	if len(d["551187654321"]) != 1 || len(d[plain]) != 1 || len(d) != 2 {
		t.Fatalf("delivered %v, want the checked JID's number and %s", d, plain)
	}
	var status, reason string
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT status, skip_reason FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2",
		id, gone).Scan(&status, &reason); err != nil || status != "skipped" || reason != "not_on_whatsapp" {
		t.Fatalf("recipient not on WhatsApp = %s %s %v", status, reason, err)
	}
	if c := e.get(t, id); c.Status != campaign.Completed || c.Counts.Skipped != 1 {
		t.Fatalf("campaign = %s %+v", c.Status, c.Counts)
	}
	// A reply from the number in WhatsApp's form makes the campaign's form known.
	e.know(t, "551187654321")
	if ok, err := e.db.IsKnownContact(context.Background(), e.inst.ID, old); err != nil || !ok {
		t.Fatalf("known in the other Brazilian form = %v, %v", ok, err)
	}

	// The cache answers for 30 days: no second call for the same tenant.
	id2 := e.campaign(t, "oi", []string{plain})
	e.run(t, id2, 0)
	if calls := e.fake.Checks(); len(calls) != 1 {
		t.Fatalf("check calls %v, want the cached answer used", calls)
	}

	// A check that fails sends nothing unchecked.
	e.fake.SetState("tok", wuzapitest.State{Session: true, LoggedIn: true})
	id3 := e.campaign(t, "oi", []string{"5511900000003"})
	e.run(t, id3, 0)
	if n := len(e.fake.Sends()); n != 3 {
		t.Fatalf("%d sends, want no send after a failed check", n)
	}
	c := e.get(t, id3)
	if c.Counts.Pending != 1 || c.Reason == nil || *c.Reason != "waiting: number check failed on main" {
		t.Fatalf("campaign after a failed check = %+v %v", c.Counts, c.Reason)
	}
}

func TestWorkerTyping(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	e.set(t, "typing = true")
	var slept []time.Duration
	e.worker.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); e.clock.Add(d); return nil }
	e.worker.Rand = func() float64 { return 0.5 }
	msg := strings.Repeat("a", 100)
	ps := phones(2)
	id := e.campaign(t, msg, ps)
	e.run(t, id, 0)
	pres, sends := e.fake.Presences(), e.fake.Sends()
	if len(pres) != 2 || len(sends) != 2 {
		t.Fatalf("%d presences, %d sends; want 2 each", len(pres), len(sends))
	}
	for i := range pres {
		if pres[i].Phone != sends[i].Phone || pres[i].State != "composing" || pres[i].At.After(sends[i].At) {
			t.Fatalf("presence %+v does not come before send %+v", pres[i], sends[i])
		}
	}
	// 100 characters at 40 ms, jitter draw 0.5 (no change): 4 s each.
	if len(slept) != 2 || slept[0] != 4*time.Second || slept[1] != 4*time.Second {
		t.Fatalf("typed %v, want 4s twice", slept)
	}
}

func TestTypingDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		text string
		r    float64
		want time.Duration
	}{
		{"short text: at least 1 s", "oi", 0.5, time.Second},
		{"100 characters, no jitter", strings.Repeat("a", 100), 0.5, 4 * time.Second},
		{"100 characters, -30 %", strings.Repeat("a", 100), 0, 2800 * time.Millisecond},
		{"100 characters, +30 %", strings.Repeat("a", 100), 1, 5200 * time.Millisecond},
		{"characters, not bytes", strings.Repeat("ç", 100), 0.5, 4 * time.Second},
		{"long text: at most 8 s", strings.Repeat("a", 1000), 0, 8 * time.Second},
	} {
		if got := campaign.TypingDuration(tc.text, tc.r); got != tc.want {
			t.Errorf("%s: TypingDuration = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBlockedReason(t *testing.T) {
	t.Parallel()
	code := 104
	until := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	got := campaign.BlockedReason("main", "temporary_ban", &code, &until)
	want := "auto-paused: main is temporarily banned by WhatsApp: sent the same message to too many people, until 2026-12-03T00:00:00Z; resume the campaign after that"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if r := campaign.BlockedReason("main", "logged_out", nil, nil); !strings.Contains(r, "pair it again") || !strings.Contains(r, "webhook") {
		t.Errorf("logged out reason %q does not say what to do", r)
	}
}

// TestWorkerNewContactLimits runs the worker on the real limiter: the
// identical-text cap stops new contacts while known ones go on.
func TestWorkerNewContactLimits(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	e.worker.Limiter = limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "test:" + uuid.NewString() + ":", Now: e.clock.Now})
	e.set(t, "messages_per_minute = 1000, hourly_cap = 1000, new_contacts_per_hour = 5, identical_per_hour = 2")
	ps := phones(5) // 0–3 new, 4 known
	e.know(t, ps[4])
	id := e.campaign(t, "same text for all", ps)
	e.run(t, id, 0)

	d := e.fake.Delivered()
	if len(d) != 3 || len(d[ps[0]]) != 1 || len(d[ps[1]]) != 1 || len(d[ps[4]]) != 1 {
		t.Fatalf("delivered %v, want 2 new (the identical cap) and the known one", d)
	}
	rs := e.recipients(t, id)
	for _, p := range ps[2:4] {
		if rs[p].Status != "pending" || rs[p].Attempts != 0 {
			t.Fatalf("recipient %s = %s with %d attempts, want pending with 0", p, rs[p].Status, rs[p].Attempts)
		}
	}
	until := e.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if c := e.get(t, id); c.Reason == nil || *c.Reason != "waiting: identical-text limit on main until "+until {
		t.Fatalf("reason = %v", c.Reason)
	}
}

// TestWorkerWindowsHoldAcrossCampaigns: several campaigns on one instance,
// each chunk run by several invocations at once, maxInFlight 2, on the
// real limiter: the per-minute window and the new-contact budget are never
// overshot.
func TestWorkerWindowsHoldAcrossCampaigns(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 2)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	e.worker.Limiter = limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "test:" + uuid.NewString() + ":", Now: e.clock.Now})
	e.set(t, "messages_per_minute = 7, hourly_cap = 1000, new_contacts_per_hour = 4")
	e.fake.SetLatency(20 * time.Millisecond)
	var ids []string
	for c := range 3 {
		ps := make([]string, 6)
		for i := range ps {
			ps[i] = "55119" + string(rune('1'+c)) + "00000" + string(rune('0'+i)) + "0"
		}
		e.know(t, ps[0]) // one known contact per campaign
		e.know(t, ps[1])
		ids = append(ids, e.campaign(t, "oi {{name}}", ps))
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		for range 3 {
			wg.Go(func() {
				if err := e.worker.HandleChunk(context.Background(), id, 0, 0); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	// An invocation refused for the in-flight cap hands its chunk back;
	// which ones are refused depends on how the nine interleave. Each chunk
	// handed back runs once more at the same instant, one at a time: then
	// the window is full whatever the interleaving was.
	for _, id := range ids {
		if err := e.worker.HandleChunk(context.Background(), id, 0, 0); err != nil {
			t.Error(err)
		}
	}
	sends := e.fake.Sends()
	if len(sends) != 7 {
		t.Fatalf("%d sends in one minute of frozen time, want exactly the per-minute limit 7", len(sends))
	}
	known := map[string]bool{}
	for _, id := range ids {
		for p, r := range e.recipients(t, id) {
			if r.Status == "sent" {
				if ok, _ := e.db.IsKnownContact(context.Background(), e.inst.ID, p); ok {
					known[p] = true
				}
			}
		}
	}
	if n := len(sends) - len(known); n > 4 {
		t.Fatalf("%d new contacts sent, over the hourly budget 4", n)
	}
}

func TestWorkerDeliveryGuard(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	al := &alerts{}
	e.worker.Alert = al.add
	ctx := context.Background()
	first := e.campaign(t, "oi {{name}}", phones(10))
	e.run(t, first, 0)
	if n := len(e.fake.Delivered()); n != 10 {
		t.Fatalf("%d first messages delivered, want 10", n)
	}
	// 15 minutes later only 3 of the 10 have a delivery receipt.
	e.clock.Add(16 * time.Minute)
	if _, err := e.db.Pool.Exec(ctx, `UPDATE campaign_recipients SET delivered_at = sent_at, status = 'delivered'
		WHERE campaign_id = $1 AND seq < 3`, first); err != nil {
		t.Fatal(err)
	}
	ps := []string{"5511988880001", "5511988880002"}
	second := e.campaign(t, "oi {{name}}", ps)
	e.run(t, second, 0)
	if d := e.fake.Delivered(); len(d[ps[0]]) != 1 || len(d[ps[1]]) != 0 {
		t.Fatalf("delivered %v; want the send that tripped the guard and no more", d)
	}
	const reason = "paused: only 3 of 10 recent first messages were delivered"
	lane, err := e.db.NewLane(ctx, e.inst.ID)
	if err != nil || lane.State != campaign.LanePaused || lane.Reason != reason || !lane.Until.Equal(e.clock.Now().Add(6*time.Hour)) {
		t.Fatalf("lane = %+v %v, want paused for 6 h with %q", lane, err, reason)
	}
	if c := e.get(t, second); c.Reason == nil || *c.Reason != reason {
		t.Fatalf("campaign reason %v, want %q", c.Reason, reason)
	}
	if a := al.get(); len(a) != 1 || !strings.HasPrefix(a[0], "warning|") {
		t.Fatalf("alerts %v, want one warning", a)
	}
	// The operator resumes the lane; the rest goes out.
	if err := e.db.ResumeNewLane(ctx, e.tenant.ID, e.inst.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.db.ResumeNewLane(ctx, e.tenant.ID, e.inst.ID, e.clock.Now()); !errors.Is(err, errcode.ErrInvalidState) {
		t.Fatalf("resume of an open lane = %v, want INVALID_STATE", err)
	}
	if err := e.db.ResumeNewLane(ctx, e.tenant.ID, uuid.NewString(), e.clock.Now()); !errors.Is(err, errcode.ErrNotFound) {
		t.Fatalf("resume of an unknown instance = %v, want NOT_FOUND", err)
	}
	e.run(t, second, 0)
	if d := e.fake.Delivered(); len(d[ps[1]]) != 1 {
		t.Fatalf("after resume: delivered %v", d)
	}
	// The guard's window starts afresh at the resume: the old sends do not pause it again.
	if lane, _ := e.db.NewLane(ctx, e.inst.ID); lane.State != campaign.LaneOpen {
		t.Fatalf("lane after resume and a send = %+v, want open", lane)
	}
}

// Alerts go to Slack or Discord, which read links and mentions anywhere in
// their text: a name the tenant chose appears quoted there, while the
// campaign's reason (shown as plain text) keeps it as it is.
func TestWorkerAlertsQuoteInstanceNames(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	al := &alerts{}
	e.worker.Alert = al.add
	name := "[click](https://evil.example/x) @everyone <!channel>"
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE instances SET name = $1 WHERE id = $2`, name, e.inst.ID); err != nil {
		t.Fatal(err)
	}
	ps := phones(1)
	e.fake.Script(ps[0], wuzapitest.Reply{Status: 500, Error: lock463})
	id := e.campaign(t, "oi", ps)
	e.run(t, id, 0)

	a := al.get()
	if len(a) != 1 || !strings.Contains(a[0], "click") || !strings.Contains(a[0], "everyone") {
		t.Fatalf("alerts %v, want one naming the instance", a)
	}
	for _, bad := range []string{"](", "://", "evil.example", "@everyone", "<!channel>"} {
		if strings.Contains(a[0], bad) {
			t.Errorf("alert %q carries %q from the instance's name", a[0], bad)
		}
	}
	if c := e.get(t, id); c.Reason == nil || !strings.Contains(*c.Reason, name) {
		t.Errorf("campaign reason %v, want the instance's name as it is", c.Reason)
	}
}

// guardReads counts the delivery guard's reads of the store.
type guardReads struct {
	*postgres.DB
	n atomic.Int32
}

func (g *guardReads) RecentNewDeliveries(ctx context.Context, instanceID string, before time.Time, n int) (int, int, *time.Time, error) {
	g.n.Add(1)
	return g.DB.RecentNewDeliveries(ctx, instanceID, before, n)
}

// TestWorkerDeliveryGuardAsksOncePerWindow: the guard's verdict not to
// pause holds until a first message can enter its window (15 minutes after
// the earliest one it did not count), so an invocation whose job came with
// the window (read with the job, in its statement) asks nothing more, not
// after every first message; a later invocation past that, whose window
// has a reason to pause, asks again after its first message and pauses.
func TestWorkerDeliveryGuardAsksOncePerWindow(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	reads := &guardReads{DB: e.db}
	e.worker.Store = reads
	first := e.campaign(t, "oi {{name}}", phones(10))
	e.run(t, first, 0)
	if n := len(e.fake.Delivered()); n != 10 {
		t.Fatalf("%d first messages delivered, want 10", n)
	}
	if n := reads.n.Load(); n != 0 {
		t.Fatalf("the guard read its window %d times for 10 first messages in one invocation, want 0 (the job's read holds)", n)
	}
	e.clock.Add(16 * time.Minute) // none of the 10 delivered: the next first message pauses
	ps := []string{"5511988880001", "5511988880002"}
	second := e.campaign(t, "oi {{name}}", ps)
	e.run(t, second, 0)
	if d := e.fake.Delivered(); len(d[ps[0]]) != 1 || len(d[ps[1]]) != 0 {
		t.Fatalf("delivered %v; want the send that tripped the guard and no more", d)
	}
	if n := reads.n.Load(); n != 1 {
		t.Fatalf("the guard read its window %d times in all, want 1 (the invocation whose job's window has a reason to pause)", n)
	}
	if lane, err := e.db.NewLane(context.Background(), e.inst.ID); err != nil || lane.State != campaign.LanePaused {
		t.Fatalf("lane = %+v %v, want paused", lane, err)
	}
}
