package limit_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/infra/throwaway"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit/limittest"
)

// innerCalls is how many commands Redis ran other than EVALSHA and INFO
// so far (a script's own commands count there).
func innerCalls(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, m := range regexp.MustCompile(`(?m)^cmdstat_([a-z|_-]+):calls=(\d+)`).FindAllStringSubmatch(info, -1) {
		if m[1] != "evalsha" && m[1] != "eval" && m[1] != "info" && m[1] != "script|load" {
			c, _ := strconv.ParseInt(m[2], 10, 64)
			n += c
		}
	}
	return n
}

// TestReserveTrimsOncePerInterval: a grant counts every window by score
// and trims the instance's sets and renews their expiries at most once a
// minute, so a first message to a new contact costs Redis at most 13 commands
// inside the script instead of the 26 that trimming and renewing on every
// grant took; every key still expires, and what fell out of a window
// still counts for nothing before it is trimmed.
func TestReserveTrimsOncePerInterval(t *testing.T) {
	t.Parallel()
	rs := throwaway.StartRedis(t)
	opts, _ := redis.ParseURL(rs.URL())
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	clock := newClock()
	s := limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "t:", Now: clock.Now, Rand: func() float64 { return 0 }})
	p := policy()
	p.MessagesPerMinute, p.NewPerHour, p.NewPerDay, p.IdenticalPerHour = 30, 200, 500, 1000
	p.NewContact, p.TextHash = true, "same-text"
	ctx := context.Background()
	grant := func(what string) {
		t.Helper()
		r, err := s.Reserve(ctx, p)
		if err != nil || !r.Granted {
			t.Fatalf("%s: %+v, %v; want granted", what, r, err)
		}
	}
	grant("first send: trims") // the first grant trims and sets the expiries
	const n = 20
	before := innerCalls(t, rdb)
	for i := range n {
		clock.Add(time.Second) // 20 s: within the minute
		grant("send " + strconv.Itoa(i))
	}
	if per := float64(innerCalls(t, rdb)-before) / n; per > 13 {
		t.Errorf("%.1f commands inside the script a grant, want at most 13", per)
	}
	keys, err := rdb.Keys(ctx, "t:send:*").Result()
	if err != nil || len(keys) < 6 {
		t.Fatalf("keys %v, %v; want the instance's six", keys, err)
	}
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %s has no expiry (%v)", k, ttl)
		}
	}
	// 21 sends in the last 21 s; 9 more fill the per-minute window of 30.
	for i := range 9 {
		grant("to the minute's cap " + strconv.Itoa(i))
	}
	r, _ := s.Reserve(ctx, p)
	if r.Granted || r.Reason != limit.ReasonPerMinute {
		t.Fatalf("31st send within a minute: %+v, want refused per_minute", r)
	}
	// Untrimmed entries older than the minute count for nothing: 60 s
	// after the first grant it has left the window, and one send may go.
	clock.Add(40 * time.Second)
	grant("after the first left the minute")
}

// TestReserveReleasingHandsTheSlotOver: with maxInFlight 1 a finished
// send's slot handed to the next reservation is freed inside the same
// script call, so each send costs one round trip to Redis instead of a
// reservation and a release; a plain Reserve meanwhile is still refused
// while the slot is held, and a slot of another instance is released on
// its own.
func TestReserveReleasingHandsTheSlotOver(t *testing.T) {
	t.Parallel()
	rs := throwaway.StartRedis(t)
	opts, _ := redis.ParseURL(rs.URL())
	opts.ContextTimeoutEnabled = true // the Sender uses this client itself, hooks and all
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	cc := &limittest.Commands{}
	rdb.AddHook(cc)
	clock := newClock()
	s := limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: "t:", Now: clock.Now, Rand: func() float64 { return 0 }})
	p := policy()
	p.MaxInFlight = 1
	ctx := context.Background()
	held, err := s.Reserve(ctx, p)
	if err != nil || !held.Granted || held.Slot == "" {
		t.Fatalf("first send: %+v, %v; want granted with a slot", held, err)
	}
	if r, _ := s.Reserve(ctx, p); r.Granted || r.Reason != limit.ReasonInFlight {
		t.Fatalf("second send while the first holds the slot: %+v, want refused in_flight", r)
	}
	cc.Take()
	const n = 10
	for i := range n {
		clock.Add(time.Second)
		r, err := s.ReserveReleasing(ctx, p, held)
		if err != nil || !r.Granted {
			t.Fatalf("send %d handed the previous slot: %+v, %v; want granted", i, r, err)
		}
		held = r
	}
	calls := cc.Take()
	if calls["evalsha"] != n || len(calls) != 1 {
		t.Errorf("%d sends handing their slots over sent %v, want %d evalsha and nothing else", n, calls, n)
	}
	if c := rdb.ZCard(ctx, "t:send:{"+p.InstanceID+"}:leases").Val(); c != 1 {
		t.Errorf("%d leases held, want the last send's alone", c)
	}
	// A slot of another instance is not this instance's: it is released
	// with its own command, and this instance's count is untouched by it.
	other := policy()
	other.MaxInFlight = 1
	r, err := s.ReserveReleasing(ctx, other, held)
	if err != nil || !r.Granted {
		t.Fatalf("other instance: %+v, %v; want granted", r, err)
	}
	if c := rdb.ZCard(ctx, "t:send:{"+p.InstanceID+"}:leases").Val(); c != 0 {
		t.Errorf("first instance's slot still held (%d) after it was handed to another instance's reservation", c)
	}
	if calls := cc.Take(); calls["zrem"] != 1 || calls["evalsha"] != 1 || len(calls) != 3 { // and the zcard
		t.Errorf("handing over another instance's slot sent %v, want one zrem and one evalsha", calls)
	}
}
