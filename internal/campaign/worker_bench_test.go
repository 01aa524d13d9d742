package campaign_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// BenchmarkWorkerThroughput measures the worker's own overhead (claim,
// render, send to the fake WuzAPI over HTTP, mark) with limits disabled:
// 2,000 recipients in 20 chunks, ten chunk invocations at a time (the
// template's MaximumConcurrency), maxInFlight 4. Target: ≥ 2,000 sends/s.
func BenchmarkWorkerThroughput(b *testing.B) {
	const n = 2000
	const invocations = 10 // the template's MaximumConcurrency
	e := setupWorkerTB(b, 4)
	e.worker.Now = time.Now
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("551198%07d", i)
	}
	var sent int
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		id := e.campaignTB(b, "{Oi|Olá} {{name}}, #{{i}}", ps)
		b.StartTimer()
		start, cpu0 := time.Now(), processCPU()
		chunks := make(chan int, 20)
		for c := range 20 {
			chunks <- c
		}
		close(chunks)
		var wg sync.WaitGroup
		for range invocations {
			wg.Go(func() {
				for c := range chunks {
					if err := e.worker.HandleChunk(context.Background(), id, c, 0); err != nil {
						b.Error(err)
					}
				}
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		cpu += processCPU() - cpu0
		sent += n
	}
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "sends/s")
	// CPU of this process (worker and fake WuzAPI, not PostgreSQL) per
	// send: independent of how busy the shared machine is.
	b.ReportMetric(float64(cpu.Microseconds())/float64(sent), "cpu-µs/send")
	if got := len(e.fake.Delivered()); got != n {
		b.Fatalf("%d phones delivered, want %d", got, n)
	}
}

func (e *env) campaignTB(tb testing.TB, msg string, ps []string) string {
	recs := make([]campaign.NewRecipient, len(ps))
	for i, p := range ps {
		recs[i] = campaign.NewRecipient{Phone: p, Name: fmt.Sprintf("N%d", i), Vars: map[string]string{"i": fmt.Sprint(i)}}
	}
	c, err := e.db.CreateCampaign(context.Background(), campaign.NewCampaign{
		Campaign:   campaign.Campaign{TenantID: e.tenant.ID, InstanceID: e.inst.ID, Message: msg, Status: campaign.Queued, ChunkSize: 100},
		Recipients: recs,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c.ID
}

// processCPU is the user+system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// alwaysLater refuses every send for a minute: each chunk invocation
// claims, is refused, puts the recipient back and hands the chunk back.
type alwaysLater struct{}

func (alwaysLater) Reserve(context.Context, campaign.SendPolicy) (campaign.Reservation, error) {
	return campaign.Reservation{RetryAfter: time.Minute, Reason: "min_delay"}, nil
}

// BenchmarkHandBackInvocation measures one chunk invocation that sends
// nothing and hands the chunk back to the queue (load the job, start it,
// claim, refuse, put back, re-enqueue, check for the end): what every
// send would cost on top if typing were waited out through a queue delay
// instead of in the invocation (docs/sending-safety.md).
func BenchmarkHandBackInvocation(b *testing.B) {
	e := setupWorkerTB(b, 1)
	e.worker.Now = time.Now
	e.worker.Limiter = alwaysLater{}
	id := e.campaignTB(b, "oi {{name}}", []string{"5511987654321"})
	ctx := context.Background()
	var cpu time.Duration
	cpu0 := processCPU()
	for b.Loop() {
		if err := e.worker.HandleChunk(ctx, id, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
	cpu = processCPU() - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	if n := len(e.queue.take()); n != b.N {
		b.Fatalf("%d hand-backs, want %d", n, b.N)
	}
}
