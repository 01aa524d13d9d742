package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
)

// A chunk of a tenant that holds its share of the worker while another
// tenant waits is handed back to the queue with the share delay, same
// generation, and sends nothing; once the tenant is under its share the
// chunk runs and its slot is released when it ends.
func TestWorkerFairShareHandsChunkBack(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	share := limit.NewShare(limit.ShareOptions{Redis: rdb, Prefix: "test:" + uuid.NewString() + ":", Concurrency: 2, Now: e.clock.Now})
	e.worker.Share = share
	e.worker.ShareDelay = 20 * time.Second
	ctx := context.Background()

	ps := phones(3)
	id := e.campaign(t, "oi {{name}}", ps)
	if _, ok, err := share.Take(ctx, uuid.NewString()); err != nil || !ok { // another tenant waits
		t.Fatalf("other tenant: granted=%v err=%v", ok, err)
	}
	held, ok, err := share.Take(ctx, e.tenant.ID) // the tenant holds 1 of 2: its half
	if err != nil || !ok {
		t.Fatalf("tenant's first slot: granted=%v err=%v", ok, err)
	}

	e.run(t, id, 0)
	if got := len(e.fake.Delivered()); got != 0 {
		t.Fatalf("%d phones messaged by a chunk over the tenant's share, want 0", got)
	}
	msgs := e.queue.take()
	if len(msgs) != 1 || msgs[0].id != id || msgs[0].chunk != 0 || msgs[0].delay != 20*time.Second {
		t.Fatalf("handed back %+v, want chunk 0 of %s after 20s", msgs, id)
	}
	var gen int64
	if err := e.db.Pool.QueryRow(ctx, "SELECT chunk_gen FROM campaigns WHERE id = $1", id).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	if msgs[0].gen != gen {
		t.Fatalf("handed back with generation %d, want the live %d", msgs[0].gen, gen)
	}

	held(ctx)
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	if n, err := share.Holding(ctx, e.tenant.ID); err != nil || n != 0 {
		t.Fatalf("tenant holds %d slots after its chunk ended (err %v), want 0", n, err)
	}
}
