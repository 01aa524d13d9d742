package campaign_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

func withRollout(r campaign.Rollout) func(*campaign.NewCampaign) {
	return func(nc *campaign.NewCampaign) { nc.Campaign.Rollout = &r }
}

func defaultRollout(share float64) campaign.Rollout {
	return campaign.Rollout{Share: share, HoldMinutes: 60, MaxFailedShare: campaign.DefaultRolloutMaxFailedShare,
		MaxOptOutShare: campaign.DefaultRolloutMaxOptOutShare}
}

// TestRolloutHoldsThenReleases: the first share of the recipients is sent,
// the campaign holds (running, with the hold's end in its reason) for
// holdMinutes after the slice's last send, then the rest goes.
func TestRolloutHoldsThenReleases(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ps := phones(20)
	id := e.campaign(t, "oi {{name}}", ps, withRollout(defaultRollout(0.25)))
	e.run(t, id, 0)
	if n := len(e.fake.Delivered()); n != 5 {
		t.Fatalf("%d sent before the hold, want the first 5", n)
	}
	for _, p := range ps[:5] {
		if len(e.fake.Delivered()[p]) != 1 {
			t.Fatalf("%s not in the first slice's sends: %v", p, e.fake.Delivered())
		}
	}
	if q := e.queue.take(); len(q) != 1 || q[0].delay != campaign.MaxQueueDelay {
		t.Fatalf("handed back %v, want the held rest once after %v", q, campaign.MaxQueueDelay)
	}
	sliceDone := e.clock.Now()
	e.clock.Add(10 * time.Minute)
	e.run(t, id, 0)
	until := sliceDone.Add(time.Hour).UTC().Format(time.RFC3339)
	if c := e.get(t, id); c.Status != campaign.Running || c.Reason == nil || *c.Reason != "waiting: rollout hold until "+until {
		t.Fatalf("during the hold: %s %v, want running, waiting until %s", c.Status, c.Reason, until)
	}
	if n := len(e.fake.Delivered()); n != 5 {
		t.Fatalf("%d sent during the hold, want 5", n)
	}
	if q := e.queue.take(); len(q) != 1 || q[0].delay != campaign.MaxQueueDelay {
		t.Fatalf("handed back %v during the hold", q)
	}
	e.clock.Add(50 * time.Minute)
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
	if c := e.get(t, id); c.Status != campaign.Completed {
		t.Fatalf("after the hold: %s %v, want completed", c.Status, c.Reason)
	}
}

// TestRolloutPausesOnBreach: a first slice with too many failures, or too
// many opt-outs, pauses the campaign with the reason after the hold and
// sends nothing more; a resume sends the rest.
func TestRolloutPausesOnBreach(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ps := phones(20)
	e.fake.Script(ps[1], wuzapitest.Reply{Status: 400, Error: "invalid phone"})
	e.fake.Script(ps[3], wuzapitest.Reply{Status: 400, Error: "invalid phone"})
	failing := e.campaign(t, "oi {{name}}", ps[:10], withRollout(defaultRollout(0.5))) // 2 of 5 failed: 40 % > 20 %
	optOuts := e.campaign(t, "oi {{name}}", ps[10:], withRollout(defaultRollout(0.5)))
	e.run(t, failing, 0)
	e.run(t, optOuts, 0)
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO opt_outs (tenant_id, phone, opted_out_at) VALUES ($1, $2, $3)`,
		e.tenant.ID, ps[11], e.clock.Now()); err != nil { // 1 of 5 opted out: 20 % > 2 %
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	e.run(t, failing, 0)
	e.run(t, optOuts, 0)
	for id, want := range map[string]string{
		failing: "auto-paused: rollout: 2 of the first 5 sends failed (more than 20 %)",
		optOuts: "auto-paused: rollout: 1 of the first 5 recipients opted out (more than 2 %)",
	} {
		c := e.get(t, id)
		if c.Status != campaign.Paused || c.Reason == nil || !strings.HasPrefix(*c.Reason, want) {
			t.Fatalf("breached rollout = %s %v, want paused %q", c.Status, c.Reason, want)
		}
	}
	if n := len(e.fake.Sends()); n != 10 {
		t.Fatalf("%d sends, want the two slices' 10 only", n)
	}
	if _, err := e.db.Transition(context.Background(), e.tenant.ID, failing, campaign.ActResume); err != nil {
		t.Fatal(err)
	}
	e.run(t, failing, 0)
	if c := e.get(t, failing); c.Status != campaign.Completed || len(e.fake.Delivered()) != 13 {
		t.Fatalf("after resume: %s, %d delivered; want completed, the 5 held sent too", c.Status, len(e.fake.Delivered()))
	}
}

// TestRolloutShortHoldComesBackWhenItEnds: the invocation that settles the
// first slice starts the hold and hands the rest back when the hold ends,
// not after the longest queue delay.
func TestRolloutShortHoldComesBackWhenItEnds(t *testing.T) {
	t.Parallel()
	e := setupWorker(t, 1)
	ps := phones(10)
	r := defaultRollout(0.2)
	r.HoldMinutes = 1
	id := e.campaign(t, "oi {{name}}", ps, withRollout(r))
	e.run(t, id, 0)
	if n := len(e.fake.Delivered()); n != 2 {
		t.Fatalf("%d sent before the hold, want the first 2", n)
	}
	if q := e.queue.take(); len(q) != 1 || q[0].delay != time.Minute {
		t.Fatalf("handed back %v, want the held rest once after the 1-minute hold", q)
	}
	e.clock.Add(time.Minute)
	e.run(t, id, 0)
	assertOnce(t, e.fake, ps)
}
