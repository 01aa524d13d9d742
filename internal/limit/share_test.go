package limit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
)

type shareBundle struct {
	share *limit.Share
	clock *clock
}

func setupShare(t *testing.T, concurrency int) shareBundle {
	t.Helper()
	b := shareBundle{clock: newClock()}
	b.share = limit.NewShare(limit.ShareOptions{
		Redis: sharedRedis(t), Prefix: prefix(), Concurrency: concurrency,
		Lease: 75 * time.Second, Window: 45 * time.Second, Now: b.clock.Now,
	})
	return b
}

// take asks for a slot and fails the test on an error.
func (b shareBundle) take(t *testing.T, tenant string) (func(context.Context), bool) {
	t.Helper()
	release, granted, err := b.share.Take(context.Background(), tenant)
	if err != nil {
		t.Fatalf("Take(%s): %v", tenant, err)
	}
	if granted == (release == nil) {
		t.Fatalf("Take(%s): granted=%v with release=%v", tenant, granted, release != nil)
	}
	return release, granted
}

func (b shareBundle) holding(t *testing.T, tenant string) int {
	t.Helper()
	n, err := b.share.Holding(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A tenant alone may use the whole worker; once another tenant waits, it
// gets no new slot until it is down to half, and never goes over half
// again while the other waits. When the other stops showing up, the first
// may grow again.
func TestShareHalfWhileAnotherWaits(t *testing.T) {
	t.Parallel()
	b := setupShare(t, 10)
	var releases []func(context.Context)
	for i := range 10 {
		r, ok := b.take(t, "A")
		if !ok {
			t.Fatalf("tenant A alone: slot %d of 10 refused", i+1)
		}
		releases = append(releases, r)
	}
	if _, ok := b.take(t, "B"); !ok {
		t.Fatal("tenant B holding nothing was refused")
	}
	// B now waits: A (10 slots) gets nothing until it is down to 4.
	for held := 10; held > 5; held-- {
		releases[held-1](context.Background())
		releases = releases[:held-1]
		if _, ok := b.take(t, "A"); ok {
			t.Fatalf("tenant A holding %d of 10 got a slot while B waits", held-1)
		}
	}
	releases[4](context.Background())
	if _, ok := b.take(t, "A"); !ok {
		t.Fatal("tenant A holding 4 of 10 was refused its fifth")
	}
	for range 20 {
		if _, ok := b.take(t, "A"); ok {
			t.Fatalf("tenant A got a slot over half (holding %d) while B waits", b.holding(t, "A"))
		}
	}
	if got := b.holding(t, "A"); got != 5 {
		t.Fatalf("tenant A holds %d slots, want 5", got)
	}
	// B shows up no more: once its waiting mark ends, A may take the rest.
	b.clock.Add(46 * time.Second)
	for i := range 5 {
		if _, ok := b.take(t, "A"); !ok {
			t.Fatalf("tenant A alone again: slot %d over half refused", i+1)
		}
	}
}

// The decision and the taking are one step: many workers asking at once
// for the last slot of a tenant's share get exactly one.
func TestShareConcurrentTakesOfTheLastSlot(t *testing.T) {
	t.Parallel()
	b := setupShare(t, 10)
	if _, ok := b.take(t, "B"); !ok {
		t.Fatal("tenant B refused")
	}
	for i := range 4 {
		if _, ok := b.take(t, "A"); !ok {
			t.Fatalf("tenant A slot %d of its 5 refused", i+1)
		}
	}
	var granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 32 {
		wg.Go(func() {
			<-start
			_, ok, err := b.share.Take(context.Background(), "A")
			if err != nil {
				t.Error(err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := granted.Load(); got != 1 {
		t.Fatalf("32 concurrent takes of tenant A's last slot: %d granted, want 1", got)
	}
}

// A worker that dies never releases its slots; they free when their lease
// ends, so the tenant gets its share back.
func TestShareCrashedHolderFreesAfterLease(t *testing.T) {
	t.Parallel()
	b := setupShare(t, 4)
	for i := range 2 {
		if _, ok := b.take(t, "A"); !ok { // never released: the worker "dies"
			t.Fatalf("tenant A slot %d refused", i+1)
		}
	}
	if _, ok := b.take(t, "B"); !ok {
		t.Fatal("tenant B refused")
	}
	if _, ok := b.take(t, "A"); ok {
		t.Fatal("tenant A got a third of 4 slots while B waits")
	}
	b.clock.Add(30 * time.Second)
	b.take(t, "B") // B keeps waiting
	if _, ok := b.take(t, "A"); ok {
		t.Fatal("tenant A's dead slots freed before their lease ended")
	}
	b.clock.Add(46 * time.Second) // 76 s: past the 75 s lease
	b.take(t, "B")
	if got := b.holding(t, "A"); got != 0 {
		t.Fatalf("tenant A holds %d slots after the lease, want 0", got)
	}
	for i := range 2 {
		if _, ok := b.take(t, "A"); !ok {
			t.Fatalf("tenant A refused slot %d after its dead slots' lease ended", i+1)
		}
	}
}

// A share never falls below one slot, so two tenants on a worker of
// concurrency 1 (or 3) never both wait forever.
func TestShareAtLeastOneSlot(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{1, 3} {
		b := setupShare(t, conc)
		b.take(t, "B")
		rb, _ := b.take(t, "B")
		if rb != nil {
			rb(context.Background())
		}
		if _, ok := b.take(t, "A"); !ok {
			t.Fatalf("concurrency %d: tenant A holding nothing was refused", conc)
		}
		if _, ok := b.take(t, "A"); ok {
			t.Fatalf("concurrency %d: tenant A got a second slot while B waits", conc)
		}
	}
}
