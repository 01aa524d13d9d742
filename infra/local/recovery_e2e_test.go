package local

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// TestCampaignWorkerCrashEndToEnd kills the real campaign worker (SIGKILL,
// as when Lambda's sandbox dies) while it waits for WuzAPI's answer to a
// send. With the queue's visibility timeout of the template (360 s) and the
// lease values shortened (visibility lease 3 s, send lease 5 s, stuck-after
// 8 s, a scheduler tick every second), the chunk's other
// recipients continue within 20 s and the recipient in flight becomes
// unknown within 20 s; nobody is messaged twice. The template's values
// scale the same sums to 3 and 5 minutes (TestTemplateRecoveryBounds).
func TestCampaignWorkerCrashEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	held := make(chan wuzapitest.Send, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the fake closes (cleanups run last-in first-out)
	var first atomic.Bool
	fake.OnSend(func(s wuzapitest.Send) {
		if first.CompareAndSwap(false, true) { // the first send hangs until the test ends
			held <- s
			<-release
		}
	})
	cfg := e2eConfig(t, "wm-e2e-crash-")
	dbURL := cfg.DatabaseURL
	cfg.ScheduleInterval = time.Second
	// The pollers receive with the queue's own visibility timeout (6x the
	// worker's Timeout, as on AWS): only the workers' lease brings a dead
	// worker's message back sooner.
	cfg.VisibilityTimeout = 0
	cfg.Parameters["AllowPrivateWuzapi"] = "true"
	cfg.Parameters["WorkerVisibilityLease"] = "3s"
	cfg.Parameters["SendLeaseTtl"] = "5s"
	cfg.Parameters["CampaignStuckAfter"] = "8s"
	p := startPlatform(t, cfg)
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })

	key := createTenant(t, p, "Crash e2e", "pro")
	instanceID := createFastInstance(t, p, key, fake.URL, 1, false)
	var contacts []string
	for i := range 6 {
		contacts = append(contacts, fmt.Sprintf(`{"phone":"55119876501%02d","name":"C%d"}`, i, i))
	}
	status, body := call(t, p.APIURL, "POST", "/v1/campaigns", key, fmt.Sprintf(`{"instanceId":%q,"message":"Oi {{name}}","contacts":[%s]}`,
		instanceID, strings.Join(contacts, ",")))
	mustStatus(t, "create campaign", status, body, 202)
	campaignID := jsonField(t, body, "data", "jobId")

	var inFlight wuzapitest.Send
	select {
	case inFlight = <-held:
	case <-time.After(90 * time.Second):
		t.Fatal("the campaign worker sent nothing within 90 s")
	}
	killed, err := p.KillFunction("CampaignWorkerFunction")
	if err != nil || killed == 0 {
		t.Fatalf("KillFunction = %d, %v; want the worker killed", killed, err)
	}
	crash := time.Now()

	eventually(t, 20*time.Second, "another recipient of the chunk sent after the crash", func(context.Context) (bool, error) {
		for _, s := range fake.Sends() {
			if s.OK() && s.Phone != inFlight.Phone && s.At.After(crash) {
				t.Logf("chunk continued %s after the crash", s.At.Sub(crash).Round(100*time.Millisecond))
				return true, nil
			}
		}
		return false, nil
	})
	eventually(t, 20*time.Second, "the recipient in flight marked unknown", func(ctx context.Context) (bool, error) {
		var st string
		err := db.QueryRow(ctx, `SELECT status FROM campaign_recipients WHERE campaign_id = $1 AND phone = $2`, campaignID, inFlight.Phone).Scan(&st)
		return st == "unknown", err
	})
	t.Logf("recipient in flight unknown %s after the crash", time.Since(crash).Round(100*time.Millisecond))
	eventually(t, 60*time.Second, "the other 5 recipients sent", func(ctx context.Context) (bool, error) {
		var n int
		err := db.QueryRow(ctx, `SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1 AND status = 'sent'`, campaignID).Scan(&n)
		return n == 5, err
	})
	for phone, sends := range fake.Delivered() {
		if len(sends) != 1 {
			t.Errorf("%s was messaged %d times, want once", phone, len(sends))
		}
	}
}
