package limit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
)

func newContact(p campaign.SendPolicy, text string) campaign.SendPolicy {
	p.NewContact, p.TextHash = true, campaign.TextKey(text)
	return p
}

func TestNewContactLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("per hour, known contacts unaffected", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.NewPerHour, p.NewPerDay, p.IdenticalPerHour = 2, 100, 100
		b.mustGrant(t, newContact(p, "a"), "first new").Release(ctx)
		b.clock.Add(time.Minute)
		b.mustGrant(t, newContact(p, "b"), "second new").Release(ctx)
		b.mustRefuse(t, newContact(p, "c"), "third new in the hour", limit.ReasonNewPerHour, time.Hour-time.Minute)
		b.mustGrant(t, p, "a known contact").Release(ctx)
		b.clock.Add(time.Hour - time.Minute)
		b.mustGrant(t, newContact(p, "c"), "an hour after the first").Release(ctx)
	})
	t.Run("per day in the tenant's time zone", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.NewPerHour, p.NewPerDay, p.IdenticalPerHour = 100, 2, 100
		b.mustGrant(t, newContact(p, "a"), "first").Release(ctx)
		b.mustGrant(t, newContact(p, "b"), "second").Release(ctx)
		// The clock starts at 12:00 UTC: 12 hours to midnight, and 24 until
		// the day's two first messages are a day old.
		b.mustRefuse(t, newContact(p, "c"), "third of the day", limit.ReasonNewPerDay, 24*time.Hour)
		b.mustGrant(t, p, "a known contact").Release(ctx)
	})
	t.Run("per day also over any 24 hours", func(t *testing.T) {
		t.Parallel()
		// WhatsApp counts first messages over any 24 hours, not by the
		// tenant's calendar: a day's budget sent just before midnight and
		// the next day's just after it would be twice the budget in an hour
		// or two (a pool campaign over 5 numbers was locked once per number
		// that way).
		b := setupSender(t)
		p := policy()
		p.NewPerHour, p.NewPerDay, p.IdenticalPerHour = 100, 2, 100
		b.clock.Add(11 * time.Hour) // 23:00 UTC
		b.mustGrant(t, newContact(p, "a"), "first, an hour before midnight").Release(ctx)
		b.clock.Add(30 * time.Minute)
		b.mustGrant(t, newContact(p, "b"), "second, half an hour before midnight").Release(ctx)
		b.clock.Add(time.Hour) // 00:30 the next day: a fresh calendar day
		b.mustRefuse(t, newContact(p, "c"), "first of the next calendar day, 90 minutes after the first",
			limit.ReasonNewPerDay, 22*time.Hour+30*time.Minute)
		b.mustGrant(t, p, "a known contact").Release(ctx)
		got, err := b.sender.Today(ctx, p)
		if err != nil || got.NewContacts != 0 || got.NewContactsLast24h != 2 || got.NewContactsLeft() != 0 {
			t.Fatalf("Today = %+v (%v), want 0 today, 2 in 24 h, none left", got, err)
		}
		b.clock.Add(22*time.Hour + 30*time.Minute) // 23:00: 24 hours after the first
		b.mustGrant(t, newContact(p, "c"), "24 hours after the first").Release(ctx)
		b.mustRefuse(t, newContact(p, "d"), "24 hours after the first, before the second's",
			limit.ReasonNewPerDay, 30*time.Minute)
	})
	t.Run("identical texts per hour", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.NewPerHour, p.NewPerDay, p.IdenticalPerHour = 100, 100, 2
		b.mustGrant(t, newContact(p, "same"), "first").Release(ctx)
		b.mustGrant(t, newContact(p, "same"), "second").Release(ctx)
		b.mustRefuse(t, newContact(p, "same"), "third same text", limit.ReasonIdenticalText, time.Hour)
		b.mustGrant(t, newContact(p, "other"), "another text").Release(ctx)
		b.mustGrant(t, p, "same text to a known contact").Release(ctx)
	})
	t.Run("warm-up from 5", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.NewPerHour, p.NewPerDay, p.IdenticalPerHour = 100, 20, 100
		p.WarmupDays, p.CreatedAt = 10, b.clock.Now()
		if got := limit.NewContactBudget(p, b.clock.Now()); got != 5 {
			t.Fatalf("budget on day 0 = %d, want 5", got)
		}
		if got := limit.NewContactBudget(p, b.clock.Now().Add(5*24*time.Hour)); got != 12 {
			t.Fatalf("budget on day 5 = %d, want 12", got)
		}
		if got := limit.NewContactBudget(p, b.clock.Now().Add(10*24*time.Hour)); got != 20 {
			t.Fatalf("budget on day 10 = %d, want 20", got)
		}
		for i := range 5 {
			b.mustGrant(t, newContact(p, string(rune('a'+i))), "within day 0's budget").Release(ctx)
		}
		b.mustRefuse(t, newContact(p, "f"), "sixth new on day 0", limit.ReasonNewPerDay, 24*time.Hour)
	})
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		for i := range campaign.DefaultNewContactsPerHour {
			b.mustGrant(t, newContact(p, string(rune('a'+i))), "within the default hourly budget").Release(ctx)
		}
		b.mustRefuse(t, newContact(p, "z"), "over the default hourly budget", limit.ReasonNewPerHour, time.Hour)
	})
}

// TestNewContactBudgetConcurrent: many workers of several function
// instances race for the last units; exactly the budget is taken, and the message
// limits (per minute, hour and day) hold at the same time.
func TestNewContactBudgetConcurrent(t *testing.T) {
	t.Parallel()
	rdb, pfx := sharedRedis(t), prefix()
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	p := campaign.SendPolicy{
		InstanceID: uuid.NewString(), MessagesPerMinute: 40, HourlyCap: 100000, DailyCap: 100000,
		MaxInFlight: 1000, Location: time.UTC, NewPerHour: 13, NewPerDay: 100, IdenticalPerHour: 1000,
	}
	var newGranted, knownGranted, total atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		s := limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: pfx, Now: func() time.Time { return now }})
		wg.Go(func() {
			for i := range 20 {
				q := p
				if (w+i)%2 == 0 {
					q = newContact(p, uuid.NewString())
				}
				r, err := s.Reserve(context.Background(), q)
				if err != nil {
					t.Error(err)
					return
				}
				if !r.Granted {
					continue
				}
				total.Add(1)
				if q.NewContact {
					newGranted.Add(1)
				} else {
					knownGranted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if total.Load() != int64(p.MessagesPerMinute) {
		t.Fatalf("%d sends granted in one minute, want exactly %d", total.Load(), p.MessagesPerMinute)
	}
	if newGranted.Load() != int64(p.NewPerHour) {
		t.Fatalf("%d new-contact sends granted, want exactly %d (known %d)", newGranted.Load(), p.NewPerHour, knownGranted.Load())
	}
}

func TestCheckSlot(t *testing.T) {
	t.Parallel()
	b := setupSender(t)
	id := uuid.NewString()
	ctx := context.Background()
	var granted atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			ok, _, err := b.sender.TakeCheckSlot(ctx, id)
			if err != nil {
				t.Error(err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if granted.Load() != 1 {
		t.Fatalf("%d of 10 concurrent checks granted, want 1 per 10 s", granted.Load())
	}
	ok, wait, err := b.sender.TakeCheckSlot(ctx, id)
	if err != nil || ok || wait <= 0 || wait > limit.CheckInterval {
		t.Fatalf("TakeCheckSlot again = %v, %v, %v; want refused with a wait up to %v", ok, wait, err, limit.CheckInterval)
	}
}

// TestToday: an instance's counts of the day are what Reserve granted in
// the tenant's calendar day, with the day's (warm-up) budgets; reading
// takes nothing, and the next day starts at zero.
func TestToday(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSender(t)
	p := policy()
	p.NewPerDay, p.DailyCap, p.WarmupDays, p.CreatedAt = 20, 200, 10, b.clock.Now()
	p.Location, _ = time.LoadLocation("America/Sao_Paulo") // 12:00 UTC is 09:00 there
	b.mustGrant(t, newContact(p, "a"), "a first message").Release(ctx)
	b.mustGrant(t, p, "a known contact").Release(ctx)
	b.mustGrant(t, p, "another known contact").Release(ctx)
	for range 2 {
		got, err := b.sender.Today(ctx, p)
		if want := (campaign.Today{Sent: 3, NewContacts: 1, NewContactsBudget: 5, DailyCap: 15, NewContactsLast24h: 1}); err != nil || got != want {
			t.Fatalf("Today = %+v %v, want %+v", got, err, want)
		}
	}
	b.clock.Add(15*time.Hour + time.Minute) // 00:01 the next day in São Paulo
	got, err := b.sender.Today(ctx, p)
	if want := (campaign.Today{NewContactsBudget: 5, DailyCap: 15, NewContactsLast24h: 1}); err != nil || got != want || got.NewContactsLeft() != 4 {
		t.Fatalf("Today the next day = %+v %v, want %+v", got, err, want)
	}
}
