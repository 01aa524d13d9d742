package postgres_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// BenchmarkClaimOne is the claim of one recipient a paced send makes (each
// send its own invocation: the first pending recipient of its chunk of 100),
// alone and carrying the previous send's mark, on a campaign of 20,000
// pending recipients (a new one when they run out). pg-cpu-µs/op is the
// CPU of the database's Postgres backends (from /proc), cpu-µs/op this
// process's.
//
//	go test -run '^$' -bench ClaimOne -benchtime 3000x ./internal/postgres/
func BenchmarkClaimOne(b *testing.B) {
	for _, bc := range []struct {
		name string
		mark bool
	}{{"claim", false}, {"claim with the last send's mark", true}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			db := pgtest.NewDB(b)
			const size = 20000
			id := pendingCampaign(b, db, size)
			now := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
			f := campaign.ClaimFilter{NoWebhooks: true}
			// Warm the connection and its prepared statements.
			last, _, err := db.Claim(ctx, id, 0, 100, now, f)
			if err != nil {
				b.Fatal(err)
			}
			n := 1
			b.ReportAllocs()
			pg0, cpu0 := backendsCPU(b, db), processCPU()
			for b.Loop() {
				if n == size {
					b.StopTimer()
					id, n = pendingCampaign(b, db, size), 0
					b.StartTimer()
				}
				lo := n / 100 * 100
				var c campaign.Claimed
				var ok bool
				if bc.mark && n%100 != 0 {
					c, ok, err = db.MarkSentClaim(ctx, id, last.Phone, now, lo, lo+100, now, f)
				} else {
					c, ok, err = db.Claim(ctx, id, lo, lo+100, now, f)
				}
				if err != nil || !ok {
					b.Fatalf("claim %d: %v %v", n, ok, err)
				}
				last = c
				n++
			}
			b.ReportMetric(float64((backendsCPU(b, db)-pg0).Microseconds())/float64(b.N), "pg-cpu-µs/op")
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// pendingCampaign is a running campaign of n pending recipients.
func pendingCampaign(b *testing.B, db *postgres.DB, n int) string {
	b.Helper()
	f := newCampaign(b, db, "pending")
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO campaign_recipients (campaign_id, phone, seq, name, status)
		SELECT $1, '55119' || lpad(i::text, 8, '0'), i, 'N' || i, 'pending' FROM generate_series(1, $2 - 1) i`,
		f.campaignID, n); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(context.Background(), "ANALYZE campaign_recipients"); err != nil {
		b.Fatal(err)
	}
	return f.campaignID
}

// backendsCPU is the user and system CPU of the Postgres backends
// connected to db's database (not autovacuum's).
func backendsCPU(b *testing.B, db *postgres.DB) time.Duration {
	b.Helper()
	rows, err := db.Pool.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'")
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue // the backend has gone
		}
		// Fields 14 and 15 (utime, stime) in clock ticks, after the
		// command's closing parenthesis.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		ut, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		total += time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return total
}
