package postgres_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// BenchmarkCampaignStatus is the status route's one statement on a campaign
// with recipients in every state: its round trip to the local Postgres and
// what the client spends on it (cpu-µs/op: this process's CPU, which does
// not count Postgres's), on net.Dialer's connections ("poller") and on
// sockets outside the network poller ("blocking", the api's).
//
//	go test -run '^$' -bench CampaignStatus -benchtime 3000x ./internal/postgres/
func BenchmarkCampaignStatus(b *testing.B) {
	ctx := context.Background()
	setup := pgtest.NewDB(b)
	f := newCampaign(b, setup, "sent", "sent", "delivered", "failed", "sent", "pending", "read", "unknown", "skipped")
	noon := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		blocking bool
	}{{"poller", false}, {"blocking", true}} {
		b.Run(tc.name, func(b *testing.B) {
			db, err := postgres.Open(ctx, setup.Pool.Config().ConnString(), postgres.Options{MaxConns: 2, BlockingSockets: tc.blocking})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, _, err := db.CampaignStatus(ctx, f.tenantID, f.campaignID, noon); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if _, _, err := db.CampaignStatus(ctx, f.tenantID, f.campaignID, noon); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the user and system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
