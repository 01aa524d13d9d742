package campaign_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit/limittest"
)

// TestWorkerHandsSlotsOver runs a chunk on the real limiter with
// maxInFlight 1: each send's in-flight slot is freed by the loop's next
// reservation in the same script call, so the chunk costs Redis one round
// trip a send and one release at the end, not a reservation and a release
// a send; every recipient is sent once and no slot is left taken.
func TestWorkerHandsSlotsOver(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	cc := &limittest.Commands{}
	rdb.AddHook(cc)
	prefix := "test:" + uuid.NewString() + ":"
	e.worker.Limiter = limit.NewSender(limit.SenderOptions{Redis: rdb, Prefix: prefix, Now: e.clock.Now})
	e.set(t, "messages_per_minute = 1000, hourly_cap = 1000")
	ps := phones(6)
	id := e.campaign(t, "hi {{name}}", ps)
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	calls := cc.Take()
	if calls["evalsha"]+calls["eval"] != len(ps) || calls["zrem"] != 1 {
		t.Errorf("%d sends cost Redis %v, want %d script calls and one zrem (the last slot's release)", len(ps), calls, len(ps))
	}
	if n := rdb.ZCard(context.Background(), prefix+"send:{"+e.inst.ID+"}:leases").Val(); n != 0 {
		t.Errorf("%d in-flight slots left taken after the chunk, want none", n)
	}
}
