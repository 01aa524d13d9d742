package wuzapitest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

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

// hooks records the webhook posts of the fake.
type hooks struct {
	mu     sync.Mutex
	events []map[string]any
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev map[string]any
	if err := json.Unmarshal([]byte(r.FormValue("jsonData")), &ev); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

func (h *hooks) ofType(typ string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, e := range h.events {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

type sim struct {
	fake  *wuzapitest.Server
	clock *clock
	c     *wuzapi.Client
	hooks *hooks
}

func setupSim(t *testing.T, e wuzapitest.Enforcement) *sim {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	fake := wuzapitest.New(t, wuzapitest.Clock(clk.Now), wuzapitest.Enforce(e))
	fake.AddUser("tok", wuzapitest.Ready)
	h := &hooks{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := wuzapi.New(fake.URL, "tok", nil)
	if err := c.SetWebhook(context.Background(), srv.URL, []string{"All"}); err != nil {
		t.Fatal(err)
	}
	return &sim{fake: fake, clock: clk, c: c, hooks: h}
}

func (s *sim) send(t *testing.T, phone, text string) error {
	t.Helper()
	_, err := s.c.SendText(context.Background(), phone, text, "")
	return err
}

func stranger(i int) string { return fmt.Sprintf("55219%08d", 7919*i%100000000) }

func TestSimulatorLocksAtTheHourlyThreshold(t *testing.T) {
	t.Parallel()
	s := setupSim(t, wuzapitest.Enforcement{NewContactsPerHour: 12, NewContactsPerDay: 25})
	for i := range 12 {
		if err := s.send(t, stranger(i), fmt.Sprintf("hello %d", i)); err != nil {
			t.Fatalf("new contact %d within the threshold: %v", i+1, err)
		}
		s.clock.Add(4 * time.Minute)
	}
	err := s.send(t, stranger(12), "hello 12")
	if !wuzapi.IsReachOutLock(err) {
		t.Fatalf("the 13th new contact in an hour: %v, want the reach-out lock", err)
	}
	// Known contacts and chats already started are not stopped; strangers are.
	s.fake.Knows("tok", "5511900000001")
	if err := s.send(t, "5511900000001", "a reply"); err != nil {
		t.Fatalf("a known contact during the lock: %v", err)
	}
	s.clock.Add(2 * time.Hour)
	if err := s.send(t, stranger(13), "hello 13"); !wuzapi.IsReachOutLock(err) {
		t.Fatalf("a stranger 2 h into the lock: %v", err)
	}
	st := s.fake.Stats("tok")
	if st.Locks != 1 || st.Refused463 != 2 || st.NewContacts != 12 || !st.LockedUntil.Equal(s.clock.Now().Add(22*time.Hour)) {
		t.Fatalf("stats %+v", st)
	}
	// The lock ends after 24 h; a second lock within 7 days lasts twice as long.
	s.clock.Add(23 * time.Hour)
	for i := range 12 {
		if err := s.send(t, stranger(100+i), "again"+fmt.Sprint(i)); err != nil {
			t.Fatalf("new contact %d after the lock: %v", i+1, err)
		}
	}
	if err := s.send(t, stranger(200), "one more"); !wuzapi.IsReachOutLock(err) {
		t.Fatalf("over the threshold again: %v", err)
	}
	if st := s.fake.Stats("tok"); st.Locks != 2 || !st.LockedUntil.Equal(s.clock.Now().Add(48*time.Hour)) {
		t.Fatalf("second lock %+v, want 48 h from %v", st, s.clock.Now())
	}
}

func TestSimulatorLocksAtTheDailyThreshold(t *testing.T) {
	t.Parallel()
	s := setupSim(t, wuzapitest.Enforcement{NewContactsPerHour: 12, NewContactsPerDay: 25})
	for i := range 25 {
		if err := s.send(t, stranger(i), fmt.Sprintf("hi %d", i)); err != nil {
			t.Fatalf("new contact %d within the day: %v", i+1, err)
		}
		s.clock.Add(30 * time.Minute)
	}
	if err := s.send(t, stranger(25), "hi 25"); !wuzapi.IsReachOutLock(err) {
		t.Fatalf("the 26th new contact in 24 h: %v", err)
	}
}

func TestSimulatorSlidingDayForgets(t *testing.T) {
	t.Parallel()
	s := setupSim(t, wuzapitest.Enforcement{NewContactsPerHour: 12, NewContactsPerDay: 25})
	for i := range 50 {
		if err := s.send(t, stranger(i), fmt.Sprintf("hi %d", i)); err != nil {
			t.Fatalf("new contact %d at one per hour: %v", i+1, err)
		}
		s.clock.Add(time.Hour)
	}
	if st := s.fake.Stats("tok"); st.Locks != 0 || st.NewContacts != 50 {
		t.Fatalf("24 a day for two days: %+v", st)
	}
}

func TestSimulatorNotOnWhatsApp(t *testing.T) {
	t.Parallel()
	s := setupSim(t, wuzapitest.Enforcement{})
	absent := []string{"5511900000001", "5511900000003", "5511900000005"}
	s.fake.NotOnWhatsApp(absent...)
	got, err := s.c.CheckUsers(context.Background(), []string{"5511900000001", "5511900000002"})
	if err != nil || got["5511900000001"].IsInWhatsapp || !got["5511900000002"].IsInWhatsapp {
		t.Fatalf("check = %+v, %v", got, err)
	}
	for _, p := range absent {
		if err := s.send(t, p, "hi"); err != nil {
			t.Fatalf("a send to a phone without WhatsApp is accepted: %v", err)
		}
		s.clock.Add(10 * time.Minute)
	}
	if err := s.send(t, "5511900000002", "hi"); !wuzapi.IsReachOutLock(err) {
		t.Fatalf("after 3 sends to phones without WhatsApp: %v", err)
	}
	s.clock.Add(time.Minute)
	if _, err := s.fake.FlushEvents(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.fake.Stats("tok"); st.Delivered != 0 || st.Undelivered != 3 {
		t.Fatalf("stats %+v: sends to phones without WhatsApp are never delivered", st)
	}
}

func TestSimulatorMassCheckLocks(t *testing.T) {
	t.Parallel()
	s := setupSim(t, wuzapitest.Enforcement{ChecksPerHour: 200})
	batch := func(from int) []string {
		ps := make([]string, 20)
		for i := range ps {
			ps[i] = stranger(from + i)
		}
		return ps
	}
	for b := range 10 {
		if _, err := s.c.CheckUsers(context.Background(), batch(b*20)); err != nil {
			t.Fatal(err)
		}
		s.clock.Add(10 * time.Second)
	}
	if err := s.send(t, stranger(1000), "hi"); err != nil {
		t.Fatalf("200 lookups in an hour: %v", err)
	}
	if _, err := s.c.CheckUsers(context.Background(), batch(500)[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.send(t, stranger(1001), "hi"); !wuzapi.IsReachOutLock(err) {
		t.Fatalf("after the 201st lookup in an hour: %v", err)
	}
}

func TestSimulatorIdenticalTextsBan(t *testing.T) {
	t.Parallel()
	s := setupSim(t, wuzapitest.Enforcement{NewContactsPerHour: 1000, NewContactsPerDay: 1000, IdenticalPerHour: 20, BanFor: 24 * time.Hour})
	for i := range 20 {
		if err := s.send(t, stranger(i), "Promo!"); err != nil {
			t.Fatal(err)
		}
		s.clock.Add(time.Minute)
	}
	if _, err := s.fake.FlushEvents(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(s.hooks.ofType("TemporaryBan")); n != 0 {
		t.Fatalf("%d bans after 20 identical texts", n)
	}
	if err := s.send(t, stranger(20), "Promo!"); err != nil {
		t.Fatalf("the 21st identical text goes out before the ban: %v", err)
	}
	if _, err := s.fake.FlushEvents(context.Background()); err != nil {
		t.Fatal(err)
	}
	bans := s.hooks.ofType("TemporaryBan")
	if len(bans) != 1 {
		t.Fatalf("ban events %v", bans)
	}
	ev := bans[0]["event"].(map[string]any)
	if ev["Code"] != float64(104) || ev["Expire"] != float64(24*time.Hour) {
		t.Fatalf("ban event %v, want Code 104 and Expire 24 h in ns", ev)
	}
	err := s.send(t, stranger(21), "something else")
	if wuzapi.KindOf(err) != wuzapi.KindNotConnected {
		t.Fatalf("a send during the ban: %v, want websocket not connected", err)
	}
	if st, err := s.c.Status(context.Background()); err != nil || st.Connected {
		t.Fatalf("status during the ban: %+v, %v", st, err)
	}
	s.clock.Add(24 * time.Hour)
	if err := s.send(t, stranger(22), "something else"); err != nil {
		t.Fatalf("a send after the ban: %v", err)
	}
	if st := s.fake.Stats("tok"); st.Bans != 1 || fmt.Sprint(st.BanCodes) != "[104]" {
		t.Fatalf("stats %+v", st)
	}
}

func TestSimulatorVariedTextsNoBan(t *testing.T) {
	t.Parallel()
	s := setupSim(t, wuzapitest.Enforcement{NewContactsPerHour: 1000, NewContactsPerDay: 1000, IdenticalPerHour: 20})
	for i := range 60 {
		if err := s.send(t, stranger(i), fmt.Sprintf("Oi %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.fake.Stats("tok"); st.Bans != 0 {
		t.Fatalf("varied texts banned: %+v", st)
	}
}

func TestSimulatorSilentNonDelivery(t *testing.T) {
	t.Parallel()
	s := setupSim(t, wuzapitest.Enforcement{NewContactsPerHour: 1000, NewContactsPerDay: 1000, SequentialRun: 5})
	s.fake.SpamTargets("5521900000050")
	ids := map[string]string{}
	sendID := func(phone string) {
		id := "3EB0" + phone
		if _, err := s.c.SendText(context.Background(), phone, "hi "+phone, id); err != nil {
			t.Fatal(err)
		}
		ids[phone] = id
	}
	sendID("5521900000050")
	for i := range 6 { // a run of consecutive numbers: the 5th and 6th are not delivered
		sendID(fmt.Sprintf("55219000001%02d", i))
	}
	sendID("5521987650000")
	s.clock.Add(2 * time.Second)
	if n, _ := s.fake.FlushEvents(context.Background()); n != 0 {
		t.Fatalf("%d receipts before they are due", n)
	}
	s.clock.Add(2 * time.Second)
	if _, err := s.fake.FlushEvents(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range s.hooks.ofType("ReadReceipt") {
		if r["state"] != "Delivered" {
			t.Fatalf("receipt %v", r)
		}
		for _, id := range r["event"].(map[string]any)["MessageIDs"].([]any) {
			got[id.(string)] = true
		}
	}
	for phone, id := range ids {
		want := phone != "5521900000050" && phone != "5521900000104" && phone != "5521900000105"
		if got[id] != want {
			t.Errorf("%s delivered %v, want %v", phone, got[id], want)
		}
	}
	if st := s.fake.Stats("tok"); st.Delivered != 5 || st.Undelivered != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSimulatorKnownContactsUnlimited(t *testing.T) {
	t.Parallel()
	s := setupSim(t, wuzapitest.Enforcement{NewContactsPerHour: 2, NewContactsPerDay: 2})
	if code, err := s.fake.EmitMessage("tok", "5511900000001", "oi, quero saber mais"); err != nil || code != 200 {
		t.Fatalf("incoming message posted: %d, %v", code, err)
	}
	if len(s.hooks.ofType("Message")) != 1 {
		t.Fatal("the Message event did not reach the webhook")
	}
	for i := range 30 {
		if err := s.send(t, "5511900000001", fmt.Sprintf("answer %d", i)); err != nil {
			t.Fatalf("send %d to a contact who wrote first: %v", i+1, err)
		}
	}
	if st := s.fake.Stats("tok"); st.NewContacts != 0 || st.Locks != 0 || st.Sent != 30 {
		t.Fatalf("stats %+v", st)
	}
}
