package campaign_test

import (
	"context"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// Pausing and resuming twice enqueues the chunk three times, but only the
// last message is live: the two earlier ones arrive first and are dropped
// without sending or handing anything back, and a worker still holding an
// earlier generation claims nothing.
func TestPauseResumeTwiceLeavesOneLiveMessage(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ctx := context.Background()
	ps := phones(3)
	id := e.campaign(t, "hi {{name}}", ps)
	kick := func() {
		t.Helper()
		if err := campaign.Kick(ctx, e.db, e.queue, id, 100, nil, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	kick() // as the create route does
	for range 2 {
		for _, act := range []campaign.Action{campaign.ActPause, campaign.ActResume} {
			if _, err := e.db.Transition(ctx, e.tenant.ID, id, act); err != nil {
				t.Fatalf("%s: %v", act, err)
			}
		}
		kick() // as the resume route does
	}
	msgs := e.queue.take()
	if len(msgs) != 3 {
		t.Fatalf("enqueued %d messages, want 3 (create and two resumes)", len(msgs))
	}
	if _, ok, err := e.db.Claim(ctx, id, 0, 100, e.clock.Now(), campaign.ClaimFilter{Lane: campaign.ClaimAny, Gen: msgs[0].gen}); err != nil || ok {
		t.Fatalf("claim under the first generation = %v, %v; want nothing", ok, err)
	}
	acted := 0
	for i, m := range msgs {
		before := len(e.fake.Sends())
		if err := e.worker.HandleChunk(ctx, m.id, m.chunk, m.gen); err != nil {
			t.Fatal(err)
		}
		if handedBack := e.queue.take(); len(handedBack) > 0 {
			t.Errorf("message %d (gen %d) handed back %v", i, m.gen, handedBack)
		}
		if len(e.fake.Sends()) > before {
			acted++
			if i != len(msgs)-1 {
				t.Errorf("message %d of 3 (gen %d) sent; only the last generation may", i+1, m.gen)
			}
		}
	}
	if acted != 1 {
		t.Fatalf("%d messages were acted on, want 1", acted)
	}
	assertOnce(t, e.fake, ps)
}
