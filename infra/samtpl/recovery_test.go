package samtpl_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// Crash recovery with the template's AWS values: when a campaign worker
// dies mid-chunk, the chunk's other recipients continue within 3 minutes
// and the recipient in flight becomes unknown within 5; an import whose
// worker died resumes within 5 minutes. The end-to-end test kills a real
// worker with shortened values; this test holds the deployed values to the
// same arithmetic (docs/recovery.md).
func TestTemplateRecoveryBounds(t *testing.T) {
	tpl := loadProjectTemplate(t)
	param := func(name string) time.Duration {
		t.Helper()
		for _, p := range tpl.Parameters {
			if p.Name == name {
				d, err := time.ParseDuration(p.Default)
				if err != nil {
					t.Fatalf("parameter %s default %q: %v", name, p.Default, err)
				}
				return d
			}
		}
		t.Fatalf("template has no parameter %s", name)
		return 0
	}
	fn := func(id string) samtpl.Function {
		f, ok := tpl.Function(id)
		if !ok {
			t.Fatalf("no function %s", id)
		}
		return f
	}
	worker, scheduler := fn("CampaignWorkerFunction"), fn("SchedulerFunction")
	timeout := time.Duration(worker.Timeout) * time.Second
	lease := param("WorkerVisibilityLease")              // a dead worker's messages come back within it
	sendLease := param("SendLeaseTtl")                   // a dead worker's in-flight slot frees within it
	stuckAfter := param("CampaignStuckAfter")            // a claim older than this is unknown
	const tick = time.Minute                             // rate(1 minute)
	const poll = 20 * time.Second                        // the event source mapping's long poll, at worst
	const importLease = 2 * time.Minute                  // importer.Worker's default claim lease
	gap := campaign.DefaultMaxDelayMs * time.Millisecond // the longest default gap between two sends of an instance
	jobBudget := time.Duration(scheduler.Timeout) * time.Second

	if len(scheduler.Schedules) != 1 || scheduler.Schedules[0].Expression != "rate(1 minute)" {
		t.Fatalf("scheduler schedules = %+v, want rate(1 minute)", scheduler.Schedules)
	}
	rules := []struct {
		name string
		ok   bool
		got  string
	}{
		{"the send lease outlives the worker's Timeout (a live worker keeps its slot)", sendLease > timeout, sendLease.String() + " vs " + timeout.String()},
		{"stuck-after outlives the worker's Timeout (a live worker's claim is never marked unknown)", stuckAfter > timeout, stuckAfter.String() + " vs " + timeout.String()},
		{"the visibility lease is renewed well within the Timeout", lease <= timeout, lease.String()},
		{"the chunk continues within 3 minutes", lease+max(sendLease, gap)+poll <= 3*time.Minute, (lease + max(sendLease, gap) + poll).String()},
		{"the recipient in flight is unknown within 5 minutes", stuckAfter+tick+jobBudget <= 5*time.Minute, (stuckAfter + tick + jobBudget).String()},
		{"an import resumes within 5 minutes", max(lease, importLease)+time.Second+poll <= 5*time.Minute, (max(lease, importLease) + time.Second + poll).String()},
	}
	for _, r := range rules {
		if !r.ok {
			t.Errorf("%s: %s", r.name, r.got)
		}
	}
}

// The campaign worker's fair share divides CAMPAIGN_WORKER_CONCURRENCY
// between tenants; it must be the concurrency the event source mapping
// really allows, or a tenant's half is not half.
func TestTemplateCampaignWorkerConcurrency(t *testing.T) {
	tpl := loadProjectTemplate(t)
	f, ok := tpl.Function("CampaignWorkerFunction")
	if !ok {
		t.Fatal("no CampaignWorkerFunction")
	}
	v, ok := f.Environment["CAMPAIGN_WORKER_CONCURRENCY"].Literal()
	if !ok {
		t.Fatal("CAMPAIGN_WORKER_CONCURRENCY is not a literal in the campaign worker's environment")
	}
	if len(f.SQSEvents) != 1 {
		t.Fatalf("campaign worker has %d SQS events, want 1", len(f.SQSEvents))
	}
	if want := strconv.Itoa(f.SQSEvents[0].MaximumConcurrency); v != want {
		t.Fatalf("CAMPAIGN_WORKER_CONCURRENCY = %q, the Campaigns event's MaximumConcurrency is %s", v, want)
	}
}
