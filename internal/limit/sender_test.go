package limit_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit/limittest"
)

type senderBundle struct {
	sender *limit.Sender
	clock  *clock
	rand   *fixedRand
}

// fixedRand is the injected jitter: always the same draw.
type fixedRand struct{ v atomic.Value }

func (r *fixedRand) Float64() float64 { return r.v.Load().(float64) }

func setupSender(t *testing.T, mutate ...func(*limit.SenderOptions)) senderBundle {
	t.Helper()
	b := senderBundle{clock: newClock(), rand: &fixedRand{}}
	b.rand.v.Store(0.5)
	opts := limit.SenderOptions{
		Redis:  sharedRedis(t),
		Prefix: prefix(),
		Now:    b.clock.Now,
		Rand:   b.rand.Float64,
	}
	for _, m := range mutate {
		m(&opts)
	}
	b.sender = limit.NewSender(opts)
	return b
}

// policy is a permissive policy for one new instance; tests tighten the
// limit they are about.
func policy() campaign.SendPolicy {
	return campaign.SendPolicy{
		InstanceID: uuid.NewString(), MessagesPerMinute: 1000, HourlyCap: 100000, DailyCap: 100000,
		MaxInFlight: 1000, Location: time.UTC,
	}
}

func (b senderBundle) reserve(t *testing.T, p campaign.SendPolicy) campaign.Reservation {
	t.Helper()
	r, err := b.sender.Reserve(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Granted == (r.Release == nil) || r.Granted == (r.Reason != "") {
		t.Fatalf("inconsistent reservation %+v", r)
	}
	return r
}

func (b senderBundle) mustGrant(t *testing.T, p campaign.SendPolicy, what string) campaign.Reservation {
	t.Helper()
	r := b.reserve(t, p)
	if !r.Granted {
		t.Fatalf("%s: refused (%s, retry after %v), want granted", what, r.Reason, r.RetryAfter)
	}
	return r
}

func (b senderBundle) mustRefuse(t *testing.T, p campaign.SendPolicy, what, reason string, retry time.Duration) {
	t.Helper()
	r := b.reserve(t, p)
	if r.Granted || r.Reason != reason || r.RetryAfter != retry {
		t.Fatalf("%s: granted=%v reason=%q retry=%v, want refused %q retry %v", what, r.Granted, r.Reason, r.RetryAfter, reason, retry)
	}
}

func TestSenderLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("in flight", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.MaxInFlight = 2
		first := b.mustGrant(t, p, "first")
		b.mustGrant(t, p, "second")
		b.mustRefuse(t, p, "third while two are in flight", limit.ReasonInFlight, time.Second)
		first.Release(ctx)
		b.mustGrant(t, p, "third after a release")
		// Nobody releases now (a crashed worker): the leases end by themselves.
		b.mustRefuse(t, p, "while the leases last", limit.ReasonInFlight, time.Second)
		b.clock.Add(2 * time.Minute)
		b.mustGrant(t, p, "after the lease TTL")
	})
	t.Run("gap drawn from min and max delay", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.MinDelay, p.MaxDelay = 40*time.Second, 60*time.Second
		first := b.mustGrant(t, p, "first")
		first.Release(ctx)
		// Jitter 0.5: a 50 s gap, told with the grant (a worker that cannot
		// wait that long hands its chunk back for it without asking again).
		if first.Gap != 50*time.Second {
			t.Fatalf("grant's gap = %v, want the drawn 50s", first.Gap)
		}
		b.mustRefuse(t, p, "at once", limit.ReasonMinDelay, first.Gap)
		b.clock.Add(49 * time.Second)
		b.mustRefuse(t, p, "inside the gap", limit.ReasonMinDelay, time.Second)
		b.clock.Add(time.Second)
		b.rand.v.Store(0.0)
		b.mustGrant(t, p, "at the gap's end").Release(ctx)
		b.clock.Add(40*time.Second - time.Millisecond)
		b.mustRefuse(t, p, "just inside the minimum gap", limit.ReasonMinDelay, time.Millisecond)
	})
	t.Run("per minute over a sliding window", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.MessagesPerMinute = 3
		b.mustGrant(t, p, "at 0 s").Release(ctx)
		b.clock.Add(10 * time.Second)
		b.mustGrant(t, p, "at 10 s").Release(ctx)
		b.clock.Add(10 * time.Second)
		b.mustGrant(t, p, "at 20 s").Release(ctx)
		b.clock.Add(39 * time.Second)
		b.mustRefuse(t, p, "at 59 s", limit.ReasonPerMinute, time.Second)
		b.clock.Add(time.Second)
		b.mustGrant(t, p, "at 60 s: the first left the window").Release(ctx)
		b.mustRefuse(t, p, "again at 60 s", limit.ReasonPerMinute, 10*time.Second)
	})
	t.Run("hourly cap", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.HourlyCap = 3
		for i := range 3 {
			b.mustGrant(t, p, "within the cap").Release(ctx)
			if i < 2 {
				b.clock.Add(time.Minute)
			}
		}
		b.mustRefuse(t, p, "fourth in the hour", limit.ReasonHourlyCap, time.Hour-2*time.Minute)
		b.clock.Add(time.Hour - 2*time.Minute)
		b.mustGrant(t, p, "an hour after the first").Release(ctx)
	})
	t.Run("daily cap in the tenant's time zone", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.DailyCap = 2
		p.Location, _ = time.LoadLocation("America/Sao_Paulo") // UTC-3
		// 12:00 UTC is 09:00 in São Paulo; go to 23:00 there.
		b.clock.Add(14 * time.Hour)
		b.mustGrant(t, p, "first of the day").Release(ctx)
		b.mustGrant(t, p, "second of the day").Release(ctx)
		b.mustRefuse(t, p, "third of the day", limit.ReasonDailyCap, time.Hour)
		// 01:00 UTC would still be the same day in UTC, not in São Paulo.
		b.clock.Add(time.Hour)
		b.mustGrant(t, p, "at midnight in São Paulo").Release(ctx)
	})
	t.Run("the longest wait wins", func(t *testing.T) {
		t.Parallel()
		b := setupSender(t)
		p := policy()
		p.MinDelay, p.MaxDelay, p.HourlyCap = time.Minute, time.Minute, 1
		b.mustGrant(t, p, "first").Release(ctx)
		b.mustRefuse(t, p, "both gap and hourly cap", limit.ReasonHourlyCap, time.Hour)
	})
}

func TestWarmup(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		warmupDays int
		dailyCap   int
		after      time.Duration
		want       int
	}{
		{"day 0", 10, 200, time.Hour, 15},
		{"day 1", 10, 200, 25 * time.Hour, 33},
		{"day 5", 10, 200, 5*24*time.Hour + time.Minute, 107},
		{"day 9", 10, 200, 9*24*time.Hour + time.Minute, 181},
		{"day 10: warmed", 10, 200, 10 * 24 * time.Hour, 200},
		{"long after", 10, 200, 400 * 24 * time.Hour, 200},
		{"warmed number", 0, 200, 0, 200},
		{"cap below the start", 10, 8, 0, 8},
		{"default cap", 10, 0, 10 * 24 * time.Hour, limit.DefaultDailyCap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := campaign.SendPolicy{WarmupDays: tt.warmupDays, DailyCap: tt.dailyCap, CreatedAt: created}
			if got := limit.DailyCap(p, created.Add(tt.after)); got != tt.want {
				t.Fatalf("DailyCap(warmup %d, cap %d, +%v) = %d, want %d", tt.warmupDays, tt.dailyCap, tt.after, got, tt.want)
			}
		})
	}

	// The limiter applies it: a new number sends 15 on its first day.
	b := setupSender(t)
	p := policy()
	p.DailyCap, p.WarmupDays, p.CreatedAt = 200, 10, b.clock.Now()
	for range 15 {
		b.mustGrant(t, p, "within the first day's cap").Release(context.Background())
	}
	b.mustRefuse(t, p, "16th on day 0", limit.ReasonDailyCap, 12*time.Hour)
}

// vclock is virtual time that concurrent workers move forward: a worker
// that must wait jumps the clock rather than sleeping.
type vclock struct{ ms atomic.Int64 }

func (c *vclock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

// advanceTo moves the clock to t unless it is already later.
func (c *vclock) advanceTo(t time.Time) {
	for {
		cur := c.ms.Load()
		if t.UnixMilli() <= cur || c.ms.CompareAndSwap(cur, t.UnixMilli()) {
			return
		}
	}
}

func TestSenderConcurrentWorkers(t *testing.T) {
	t.Parallel()
	vc := &vclock{}
	vc.ms.Store(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC).UnixMilli())
	start := vc.Now()
	var draws atomic.Int64
	rdb, pfx := sharedRedis(t), prefix()
	p := campaign.SendPolicy{
		InstanceID: uuid.NewString(), MessagesPerMinute: 30, MinDelay: time.Second, MaxDelay: 1500 * time.Millisecond,
		HourlyCap: 100000, DailyCap: 100000, MaxInFlight: 1, Location: time.UTC,
	}
	const horizon = 10 * time.Minute
	var (
		mu       sync.Mutex
		grants   []time.Time
		inFlight atomic.Int64
		overlap  atomic.Int64
		wg       sync.WaitGroup
		// released is closed (and replaced) at every release, so a worker
		// refused for in_flight waits for the slot instead of jumping the
		// clock past the send that holds it.
		relMu    sync.Mutex
		released = make(chan struct{})
	)
	releasedCh := func() chan struct{} {
		relMu.Lock()
		defer relMu.Unlock()
		return released
	}
	signalRelease := func() {
		relMu.Lock()
		defer relMu.Unlock()
		close(released)
		released = make(chan struct{})
	}
	ctx := context.Background()
	for range 4 {
		// Each worker is its own function instance with its own Sender,
		// reading the shared virtual time once per attempt.
		var now time.Time
		s := limit.NewSender(limit.SenderOptions{
			Redis: rdb, Prefix: pfx, Now: func() time.Time { return now },
			// Jitter cycles through the whole [0, 1) range.
			Rand: func() float64 { return float64(draws.Add(1)%10) / 10 },
		})
		wg.Go(func() {
			for {
				now = vc.Now()
				if now.Sub(start) >= horizon {
					return
				}
				wake := releasedCh() // before Reserve: a release after it is seen
				r, err := s.Reserve(ctx, p)
				if err != nil {
					t.Error(err)
					return
				}
				if !r.Granted {
					if r.Reason == limit.ReasonInFlight {
						<-wake
						continue
					}
					vc.advanceTo(now.Add(r.RetryAfter))
					continue
				}
				at := now
				if inFlight.Add(1) > 1 {
					overlap.Add(1)
				}
				mu.Lock()
				grants = append(grants, at)
				mu.Unlock()
				vc.advanceTo(at.Add(300 * time.Millisecond)) // the send itself
				inFlight.Add(-1)
				r.Release(ctx)
				signalRelease()
			}
		})
	}
	wg.Wait()
	if overlap.Load() > 0 {
		t.Fatalf("%d sends started while another was in flight (max in flight 1)", overlap.Load())
	}
	slices.SortFunc(grants, func(a, b time.Time) int { return a.Compare(b) })
	for i := range grants {
		if i > 0 && grants[i].Sub(grants[i-1]) < p.MinDelay {
			t.Fatalf("sends %d and %d are %v apart, under the minimum gap %v", i-1, i, grants[i].Sub(grants[i-1]), p.MinDelay)
		}
		// Every 60 s window starting at a send holds at most 30 sends.
		j, _ := slices.BinarySearchFunc(grants, grants[i].Add(time.Minute), func(a, b time.Time) int { return a.Compare(b) })
		if n := j - i; n > p.MessagesPerMinute {
			t.Fatalf("%d sends in the 60 s from %v, want at most %d", n, grants[i].Sub(start), p.MessagesPerMinute)
		}
	}
	t.Logf("%d sends in %v by 4 workers", len(grants), horizon)
	// Not only safe but live: the workers used the allowance.
	if want := int(horizon/time.Minute) * p.MessagesPerMinute; len(grants) < want*9/10 || len(grants) > want+p.MessagesPerMinute {
		t.Fatalf("%d sends in %v, want about %d", len(grants), horizon, want)
	}
}

func TestSenderNeedsAnInstance(t *testing.T) {
	t.Parallel()
	b := setupSender(t)
	p := policy()
	p.InstanceID = ""
	if r, err := b.sender.Reserve(context.Background(), p); err == nil || r.Granted {
		t.Fatalf("Reserve without an instance = %+v, %v; want an error", r, err)
	}
}

func TestSenderFailsClosed(t *testing.T) {
	t.Parallel()
	srv := limittest.Start(t)
	b := setupSender(t, func(o *limit.SenderOptions) { o.Redis = srv.Client(t) })
	p := policy()
	granted := b.mustGrant(t, p, "with Redis up")
	srv.Kill()
	r, err := b.sender.Reserve(context.Background(), p)
	if err == nil || r.Granted {
		t.Fatalf("with Redis down: %+v, %v; want an error and no grant", r, err)
	}
	granted.Release(context.Background()) // logs, does not panic: the lease frees itself
}

// Changing the tenant's time zone never grants a second daily cap on the
// same day: a zone where it is already tomorrow (or still yesterday) keeps
// the day's count until the current local day ends; only a local day that
// begins after the counted one ends starts at zero.
func TestDailyCapSurvivesTimeZoneChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	saoPaulo, _ := time.LoadLocation("America/Sao_Paulo") // UTC-3
	tokyo, _ := time.LoadLocation("Asia/Tokyo")           // UTC+9
	tests := []struct {
		name     string
		from, to *time.Location
		// waitAfter is when, from the change at 23:00 São Paulo (02:00 UTC),
		// the next send is allowed: the end of the new zone's day.
		waitAfter time.Duration
	}{
		{"east: São Paulo to Tokyo, where it is already tomorrow", saoPaulo, tokyo, 13 * time.Hour},
		{"west: Tokyo to São Paulo, where it is still today", tokyo, saoPaulo, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSender(t)
			p := policy()
			p.DailyCap, p.Location = 2, tt.from
			b.clock.Add(14 * time.Hour) // 12:00 UTC + 14 h = 02:00 UTC: 23:00 São Paulo, 11:00 Tokyo
			b.mustGrant(t, p, "first of the day").Release(ctx)
			b.mustGrant(t, p, "second of the day").Release(ctx)
			p.Location = tt.to
			r := b.reserve(t, p)
			if r.Granted || r.Reason != limit.ReasonDailyCap {
				t.Fatalf("after the zone change: %+v; want the daily cap still reached", r)
			}
			if got, err := b.sender.Today(ctx, p); err != nil || got.Sent != 2 {
				t.Fatalf("Today after the zone change = %+v, %v; want 2 sent", got, err)
			}
			b.clock.Add(tt.waitAfter - time.Minute)
			if r := b.reserve(t, p); r.Granted {
				t.Fatalf("granted %s after the change, before the new zone's day ended", tt.waitAfter-time.Minute)
			}
			b.clock.Add(time.Minute)
			b.mustGrant(t, p, "when the new zone's day has ended").Release(ctx)
		})
	}
}
