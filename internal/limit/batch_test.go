package limit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/infra/throwaway"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit/limittest"
)

// TestReserveBatchGrantsWhatEveryWindowHolds: with no gap between sends a
// grant asked for k sends covers as many as every window has room for,
// counted at once in one script call; the sends not started, given back
// with the next grant or the release, count for nothing again, in every
// window and in the day's counts; a gap grants one send at a time.
func TestReserveBatchGrantsWhatEveryWindowHolds(t *testing.T) {
	t.Parallel()
	rs := throwaway.StartRedis(t)
	opts, _ := redis.ParseURL(rs.URL())
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	cc := &limittest.Commands{}
	rdb.AddHook(cc)
	clock := newClock()
	s := limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "t:", Now: clock.Now, Rand: func() float64 { return 0 }})
	ctx := context.Background()
	p := policy()
	p.MaxInFlight, p.MessagesPerMinute, p.NewPerHour, p.NewPerDay, p.IdenticalPerHour = 1, 20, 12, 500, 1000
	p.NewContact, p.TextHash = true, "same-text"

	if _, err := s.Reserve(ctx, policy()); err != nil { // loads the script
		t.Fatal(err)
	}
	cc.Take()
	g, err := s.ReserveBatch(ctx, p, 16, campaign.Reservation{})
	if err != nil || !g.Granted || g.Units != 12 || g.Used != 1 {
		t.Fatalf("16 first messages asked with 12 left in the new-contact hour: %+v, %v; want 12 granted", g, err)
	}
	if calls := cc.Take(); calls["evalsha"] != 1 || len(calls) != 1 {
		t.Errorf("a grant of 12 sent Redis %v, want one script call", calls)
	}
	// The grant holds the instance's one in-flight slot and every unit of
	// its new-contact hour.
	if r, _ := s.Reserve(ctx, p); r.Granted {
		t.Fatalf("a send beside the grant of 12: %+v, want refused", r)
	}
	today := func() campaign.Today {
		t.Helper()
		d, err := s.Today(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := today(); d.Sent != 12 || d.NewContacts != 12 || d.NewContactsLast24h != 12 {
		t.Fatalf("today after a grant of 12: %+v, want 12 sent, 12 new", d)
	}
	// 5 of the 12 started; the next grant gives the 7 others back first,
	// so it finds them free.
	g.Used = 5
	clock.Add(10 * time.Millisecond)
	g2, err := s.ReserveBatch(ctx, p, 16, g)
	if err != nil || !g2.Granted || g2.Units != 7 {
		t.Fatalf("16 asked after giving back 7 of 12: %+v, %v; want the 7 granted", g2, err)
	}
	if d := today(); d.Sent != 12 || d.NewContacts != 12 || d.NewContactsLast24h != 12 {
		t.Fatalf("today after 5 started and 7 granted again: %+v, want 12 sent, 12 new", d)
	}
	if r, _ := s.ReserveBatch(ctx, p, 16, campaign.Reservation{}); r.Granted || r.Reason != limit.ReasonNewPerHour && r.Reason != limit.ReasonInFlight {
		t.Fatalf("a first message beyond the hour's 12: %+v, want refused", r)
	}
	// A known contact is not held by the new-contact hour: the release
	// of the 7 (one started) gives 6 back; 20 a minute leave 14 sends.
	g2.Used = 1
	s.ReleaseBatch(ctx, p, g2)
	if d := today(); d.Sent != 6 || d.NewContacts != 6 {
		t.Fatalf("today after releasing 6 of 7 unstarted: %+v, want 6 sent, 6 new", d)
	}
	if c := rdb.ZCard(ctx, "t:send:{"+p.InstanceID+"}:leases").Val(); c != 0 {
		t.Errorf("%d in-flight slots held after the release, want none", c)
	}
	known := p
	known.NewContact, known.TextHash = false, ""
	g3, err := s.ReserveBatch(ctx, known, 20, campaign.Reservation{})
	if err != nil || !g3.Granted || g3.Units != 14 {
		t.Fatalf("20 known contacts asked with 6 sent this minute: %+v, %v; want 14", g3, err)
	}
	s.ReleaseBatch(ctx, known, g3)
	if d := today(); d.Sent != 7 {
		t.Fatalf("today after releasing 13 of 14 unstarted: %+v, want 7 sent", d)
	}
	// A gap between two sends: one send a grant, whatever is asked.
	gapped := known
	gapped.InstanceID, gapped.MinDelay, gapped.MaxDelay = "gapped", 10*time.Millisecond, 10*time.Millisecond
	if g, err := s.ReserveBatch(ctx, gapped, 16, campaign.Reservation{}); err != nil || !g.Granted || g.Units != 1 {
		t.Fatalf("16 asked with a gap: %+v, %v; want one", g, err)
	}
}
