package limit_test

import (
	"context"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

func benchAPI(b *testing.B, rdb *redis.Client) *limit.API {
	return limit.NewAPI(limit.APIOptions{
		Redis: rdb, Prefix: prefix(),
		Plans:     func(context.Context, string) (tenant.Plan, error) { return tenant.PlanPro, nil },
		PerMinute: func(tenant.Plan) int { return 1 << 30 }, // every check takes the allowed path
		Timeout:   10 * time.Second,
	})
}

func reportLatency(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	at := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkTenantCheck is one tenant's limit check (plan resolution and GCRA
// in one script) against loopback Redis, one at a time: its latency.
func BenchmarkTenantCheck(b *testing.B) {
	a := benchAPI(b, sharedRedis(b))
	id := uuid.NewString()
	ctx := context.Background()
	a.Tenant(ctx, id)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if r := a.Tenant(ctx, id); !r.Allowed || r.FailedOpen {
			b.Fatalf("check: %+v", r)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkTenantCheckParallel is the throughput of one process checking
// with 16 goroutines (SetParallelism over GOMAXPROCS), across 64 tenants.
func BenchmarkTenantCheckParallel(b *testing.B) {
	a := benchAPI(b, sharedRedis(b))
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = uuid.NewString()
		a.Tenant(context.Background(), ids[i])
	}
	var n atomic.Int64
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := n.Add(1)
			if r := a.Tenant(ctx, ids[i%int64(len(ids))]); r.FailedOpen {
				b.Errorf("check failed open")
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "checks/s")
}

// BenchmarkSenderReserve is one send reservation and its release.
func BenchmarkSenderReserve(b *testing.B) {
	s := limit.NewSender(limit.SenderOptions{Redis: sharedRedis(b), Prefix: prefix()})
	p := campaign.SendPolicy{InstanceID: uuid.NewString(), MessagesPerMinute: 1 << 30, HourlyCap: 1 << 30,
		DailyCap: 1 << 30, MaxInFlight: 1, Location: time.UTC}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		r, err := s.Reserve(ctx, p)
		if err != nil || !r.Granted {
			b.Fatalf("reserve: %+v %v", r, err)
		}
		lat = append(lat, time.Since(t0))
		r.Release(ctx)
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkRedisPing is the floor the checks above stand on: one PING
// round trip on the same client, so a loaded machine's tail can be told
// from the limiter's own.
func BenchmarkRedisPing(b *testing.B) {
	rdb := sharedRedis(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := rdb.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}
