package limit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/infra/throwaway"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
)

// TestShareTakeCommands: a take counts the tenant's slots and the waiting
// tenants by score and trims its sets on one take in 16, so a take and
// its release cost Redis about 8 commands besides the script's call,
// where trimming both sets and listing every slot on each take cost 11;
// every key still expires.
func TestShareTakeCommands(t *testing.T) {
	t.Parallel()
	rs := throwaway.StartRedis(t)
	opts, _ := redis.ParseURL(rs.URL())
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	clock := newClock()
	s := limit.NewShare(limit.ShareOptions{Redis: rdb, Prefix: "t:", Concurrency: 4, Now: clock.Now})
	ctx := context.Background()
	const n = 64
	before := innerCalls(t, rdb)
	for i := range n {
		clock.Add(time.Second)
		release, ok, err := s.Take(ctx, "A")
		if err != nil || !ok {
			t.Fatalf("take %d: granted=%v, %v", i, ok, err)
		}
		release(ctx)
	}
	per := float64(innerCalls(t, rdb)-before) / n
	t.Logf("%.2f commands a take and its release besides the script's call", per)
	if per > 8.5 {
		t.Errorf("%.2f commands a take and its release besides the script's call, want at most 8.5", per)
	}
	keys, err := rdb.Keys(ctx, "t:share:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys %v, %v; want the waiting marks (a released tenant's empty slots leave)", keys, err)
	}
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %s has no expiry (%v)", k, ttl)
		}
	}
}
