package webhook_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
	"github.com/wuzapi-manager/wuzapi-manager/internal/webhook"
)

// The Standard Webhooks specification's published test vector.
func TestSignMatchesTheSpecificationVector(t *testing.T) {
	t.Parallel()
	got, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; err != nil || got != want {
		t.Fatalf("Sign = %q, %v; want %q", got, err, want)
	}
	s, err := webhook.NewSecret()
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if err != nil || !strings.HasPrefix(s, "whsec_") || derr != nil || len(raw) != 32 {
		t.Fatalf("NewSecret = %q, %v: want whsec_ and the base64 of 32 bytes", s, err)
	}
}

func TestNextAttemptFollowsTheRetrySchedule(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}
	for i, w := range want {
		if next, ok := webhook.NextAttempt(i+1, at); !ok || next.Sub(at) != w {
			t.Errorf("after failure %d: next in %v (%v), want %v", i+1, next.Sub(at), ok, w)
		}
	}
	if _, ok := webhook.NextAttempt(7, at); ok {
		t.Error("a 7th failure is retried; want failed")
	}
}

// env is a tenant with an instance and a running campaign of one sent-able
// recipient per phone.
type env struct {
	db                             *postgres.DB
	tenantID, instanceID, campaign string
}

func newEnv(t *testing.T, db *postgres.DB, phones ...string) env {
	t.Helper()
	ctx := context.Background()
	tn, _, err := db.CreateTenant(ctx, tenant.Tenant{Name: "W", Plan: tenant.PlanPro, DefaultCountry: "BR", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	e := env{db: db, tenantID: tn.ID}
	hash := sha256.Sum256([]byte("s"))
	if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, 'wa', 'http://wuzapi.test', 'tok', $2) RETURNING id`, tn.ID, hash[:]).Scan(&e.instanceID); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `INSERT INTO campaigns (tenant_id, instance_id, name, message, status, total)
		VALUES ($1, $2, 'Promo', 'hi', 'running', $3) RETURNING id`, tn.ID, e.instanceID, len(phones)).Scan(&e.campaign); err != nil {
		t.Fatal(err)
	}
	for i, p := range phones {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, status, attempts, wuzapi_message_id)
			VALUES ($1, $2, $3, 'sending', 1, $4)`, e.campaign, p, i, "3EB0"+e.campaign[len(e.campaign)-8:]+p); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e env) events(t *testing.T) []string {
	t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), `SELECT type FROM webhook_events WHERE tenant_id = $1 ORDER BY id`, e.tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestOutboxRecordsEventsWithTheirChange: the changes that make events
// record them in their own transaction (a rolled-back change records
// nothing), once per event, only for subscribed types and only for the
// tenant whose endpoint subscribed.
func TestOutboxRecordsEventsWithTheirChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	const ana, bia = "5511987650001", "5511987650002"
	e := newEnv(t, db, ana, bia)
	other := newEnv(t, db, ana) // no endpoints: no events
	subscribed := []string{webhook.MessageSent, webhook.MessageDelivered, webhook.MessageReplied, webhook.ContactOptedOut, webhook.CampaignCompleted}
	if _, err := db.CreateWebhookEndpoint(ctx, e.tenantID, "http://a.test/hook", subscribed, "", "whsec_"+strings.Repeat("A", 43)+"="); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateWebhookEndpoint(ctx, e.tenantID, "http://b.test/hook", []string{webhook.MessageSent}, "", "whsec_"+strings.Repeat("B", 43)+"="); err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE campaign_recipients SET status = 'sent', sent_at = now() WHERE campaign_id = $1`, e.campaign); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.events(t); len(got) != 0 {
		t.Fatalf("a rolled-back send recorded %v", got)
	}

	for _, x := range []env{e, other} {
		if err := db.MarkSent(ctx, x.campaign, ana, now); err != nil {
			t.Fatal(err)
		}
		rs := postgres.ReceiptStore{DB: db}
		for range 2 { // a repeated receipt is one event
			if _, err := rs.ApplyReceipt(ctx, x.instanceID, []string{"3EB0" + x.campaign[len(x.campaign)-8:] + ana}, receipt.Delivered, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := rs.ApplyReceipt(ctx, x.instanceID, []string{"3EB0" + x.campaign[len(x.campaign)-8:] + ana}, receipt.Read, now); err != nil {
			t.Fatal(err)
		}
		if _, err := rs.RecordReply(ctx, receipt.Instance{ID: x.instanceID, TenantID: x.tenantID}, ana, "quero", "M1", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := rs.OptOutContact(ctx, x.tenantID, bia, now); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE campaigns SET status = 'completed', finished_at = now() WHERE id = $1`, x.campaign); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{webhook.MessageSent, webhook.MessageDelivered, webhook.MessageReplied, webhook.ContactOptedOut, webhook.CampaignCompleted}
	if got := e.events(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events = %v, want %v (read is not subscribed)", got, want)
	}
	if got := other.events(t); len(got) != 0 {
		t.Fatalf("a tenant without endpoints got events %v", got)
	}
	var deliveries, sentToB int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE e.url = 'http://b.test/hook')
		FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.tenant_id = $1`, e.tenantID).Scan(&deliveries, &sentToB); err != nil {
		t.Fatal(err)
	}
	if deliveries != 6 || sentToB != 1 {
		t.Fatalf("deliveries = %d (%d to b), want 6: five to a, message.sent to b too", deliveries, sentToB)
	}
	var payload []byte
	if err := db.Pool.QueryRow(ctx, `SELECT payload FROM webhook_events WHERE tenant_id = $1 AND type = 'campaign.completed'`, e.tenantID).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Type, Timestamp string
		Data            struct {
			CampaignID string `json:"campaignId"`
			Counts     map[string]int
		}
	}
	if err := json.Unmarshal(payload, &body); err != nil || body.Type != "campaign.completed" || body.Timestamp == "" ||
		body.Data.CampaignID != e.campaign || body.Data.Counts["sent"] != 1 || body.Data.Counts["replied"] != 1 {
		t.Fatalf("campaign.completed payload = %s", payload)
	}
}

// receiver is a tenant's endpoint: it checks every post's signature with
// the specification's own library and answers the statuses it is given,
// then 200.
type receiver struct {
	mu       sync.Mutex
	secret   string
	statuses []int
	posts    []post
}

type post struct {
	id, ts string
	body   string
	valid  bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	wh, err := standardwebhooks.NewWebhook(rc.secret)
	valid := err == nil && wh.Verify(body, r.Header) == nil
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.posts = append(rc.posts, post{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), string(body), valid})
	status := 200
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	w.WriteHeader(status)
}

func (rc *receiver) got() []post {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]post(nil), rc.posts...)
}

type nudges struct {
	mu  sync.Mutex
	got map[string][]time.Duration
}

func (n *nudges) Nudge(_ context.Context, id string, delay time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.got == nil {
		n.got = map[string][]time.Duration{}
	}
	n.got[id] = append(n.got[id], delay)
	return nil
}

func (n *nudges) last(id string) (time.Duration, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.got[id]) == 0 {
		return 0, false
	}
	return n.got[id][len(n.got[id])-1], true
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func newClock(t time.Time) *clock    { return &clock{now: t} }
func secretFor(b byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), 32)))
}
func mustEndpoint(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e env) log(t *testing.T, endpointID string) []webhook.LogEntry {
	t.Helper()
	l, err := e.db.WebhookDeliveries(context.Background(), e.tenantID, endpointID, "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDeliveries: signed posts, a 500 retried 5 s later under the same
// webhook-id, a down endpoint that never holds up another, one attempt per
// run of a failing endpoint, the whole retry schedule, then a manual retry.
func TestDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	const ana, bia = "5511987650001", "5511987650002"
	e := newEnv(t, db, ana, bia)
	good := &receiver{secret: secretFor('g'), statuses: []int{500}}
	goodSrv := httptest.NewServer(good)
	t.Cleanup(goodSrv.Close)
	downSrv := httptest.NewServer(http.NotFoundHandler())
	downURL := downSrv.URL + "/hook?tenant=1"
	downSrv.Close() // nothing listens there now
	gep, err := db.CreateWebhookEndpoint(ctx, e.tenantID, goodSrv.URL+"/hook", []string{webhook.MessageSent}, "", good.secret)
	mustEndpoint(t, err)
	dep, err := db.CreateWebhookEndpoint(ctx, e.tenantID, downURL, []string{webhook.MessageSent}, "", secretFor('d'))
	mustEndpoint(t, err)

	clk := newClock(time.Now().Add(time.Second))
	n := &nudges{}
	d := &webhook.Deliverer{Store: postgres.WebhookOutbox{DB: db}, HTTP: &http.Client{Timeout: webhook.Timeout}, Nudger: n, Now: clk.Now}
	for _, p := range []string{ana, bia} {
		if err := db.MarkSent(ctx, e.campaign, p, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Relay(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.last(gep.ID); !ok {
		t.Fatal("the relay did not ask for a run of the endpoint with due deliveries")
	}

	// The down endpoint fails first: one attempt, and the next run asked 5 s later.
	if err := d.Run(ctx, dep.ID); err != nil {
		t.Fatal(err)
	}
	if wait, _ := n.last(dep.ID); wait != 5*time.Second {
		t.Fatalf("down endpoint's next run in %v, want 5s", wait)
	}
	attempts := 0
	for _, l := range e.log(t, dep.ID) {
		attempts += l.Attempts
	}
	if attempts != 1 {
		t.Fatalf("a failing endpoint got %d attempts in one run, want 1", attempts)
	}

	// The good endpoint is served regardless: 500 on the first post.
	if err := d.Run(ctx, gep.ID); err != nil {
		t.Fatal(err)
	}
	if posts := good.got(); len(posts) != 1 {
		t.Fatalf("%d posts after a 500, want 1 (the run stops at a failure)", len(posts))
	}
	clk.Add(5 * time.Second)
	if err := d.Run(ctx, gep.ID); err != nil {
		t.Fatal(err)
	}
	posts := good.got()
	if len(posts) != 3 {
		t.Fatalf("%d posts, want 3 (the 500, its retry, the other event)", len(posts))
	}
	byID := map[string][]post{}
	for _, p := range posts {
		if !p.valid {
			t.Errorf("post %s: signature does not verify", p.id)
		}
		byID[p.id] = append(byID[p.id], p)
	}
	if len(byID) != 2 {
		t.Fatalf("posts under %d webhook-ids, want 2 (one per event)", len(byID))
	}
	retried := byID[posts[0].id]
	if len(retried) != 2 || retried[0].body != retried[1].body || retried[1].ts == retried[0].ts {
		t.Fatalf("retry of %s = %+v: want the same body with a new timestamp", posts[0].id, retried)
	}
	var body struct {
		Type string
		Data map[string]any
	}
	if err := json.Unmarshal([]byte(posts[0].body), &body); err != nil || body.Type != webhook.MessageSent || body.Data["campaignId"] != e.campaign {
		t.Fatalf("body = %s", posts[0].body)
	}
	for _, l := range e.log(t, gep.ID) {
		if l.Status != webhook.StatusDelivered || l.DeliveredAt == nil {
			t.Errorf("good endpoint delivery %+v, want delivered", l)
		}
		if l.EventID == posts[0].id && (l.Attempts != 2 || l.LastStatus == nil || *l.LastStatus != 200) {
			t.Errorf("retried delivery %+v, want 2 attempts, last status 200", l)
		}
	}

	// The down endpoint through its whole schedule: 7 attempts, then failed.
	// Its second delivery had its first attempt one step late (one attempt
	// per run while the endpoint fails), so it needs one step more.
	for _, wait := range append(webhook.Retries, webhook.Retries[len(webhook.Retries)-1]) {
		clk.Add(wait)
		for range 2 { // both of its deliveries, one per run
			if err := d.Run(ctx, dep.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, l := range e.log(t, dep.ID) {
		if l.Status != webhook.StatusFailed || l.Attempts != 7 || l.LastError == nil || l.NextAttemptAt != nil {
			t.Errorf("down endpoint delivery %+v, want failed after 7 attempts", l)
		}
	}

	// A manual retry: due now, one more attempt, failed again.
	failed := e.log(t, dep.ID)[0]
	if err := db.RetryWebhookDelivery(ctx, e.tenantID, dep.ID, failed.ID, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if l := e.log(t, dep.ID)[0]; l.Status != webhook.StatusPending {
		t.Fatalf("after retry: %+v, want pending", l)
	}
	if err := d.Run(ctx, dep.ID); err != nil {
		t.Fatal(err)
	}
	if l := e.log(t, dep.ID)[0]; l.Status != webhook.StatusFailed || l.Attempts != 8 {
		t.Fatalf("after a failed manual retry: %+v, want failed with 8 attempts", l)
	}
}

// TestWritersNudgeAfterCommit: a writer whose committed change records
// events asks once for a delivery run of each endpoint that got a
// delivery, right away; a change that records nothing (a repeat, a tenant
// without endpoints) asks for none.
func TestWritersNudgeAfterCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := &nudges{}
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{MaxConns: 4, Webhooks: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	const ana, bia = "5511987650001", "5511987650002"
	e := newEnv(t, db, ana, bia)
	other := newEnv(t, db, ana)
	a, err := db.CreateWebhookEndpoint(ctx, e.tenantID, "http://a.test/hook", []string{webhook.MessageSent, webhook.CampaignPaused}, "", secretFor('A'))
	mustEndpoint(t, err)
	b, err := db.CreateWebhookEndpoint(ctx, e.tenantID, "http://b.test/hook", []string{webhook.MessageSent}, "", secretFor('B'))
	mustEndpoint(t, err)
	count := func() (int, int) {
		n.mu.Lock()
		defer n.mu.Unlock()
		for id, ds := range n.got {
			for _, d := range ds {
				if d != 0 || (id != a.ID && id != b.ID) {
					t.Errorf("nudge of %s after %s: want only a and b, at once", id, d)
				}
			}
		}
		return len(n.got[a.ID]), len(n.got[b.ID])
	}

	for _, step := range []struct {
		name  string
		do    func() error
		wantA int
		wantB int
	}{
		{"a send", func() error { return db.MarkSent(ctx, e.campaign, ana, time.Now()) }, 1, 1},
		{"the same send again", func() error { return db.MarkSent(ctx, e.campaign, ana, time.Now()) }, 1, 1},
		{"another tenant's send", func() error { return db.MarkSent(ctx, other.campaign, ana, time.Now()) }, 1, 1},
		{"a send recorded by the next claim", func() error {
			_, _, err := db.MarkSentClaim(ctx, e.campaign, bia, time.Now(), 0, 10, time.Now(), campaign.ClaimFilter{})
			return err
		}, 2, 2},
		{"a pause", func() error {
			_, err := db.Transition(ctx, e.tenantID, e.campaign, campaign.ActPause)
			return err
		}, 3, 2},
		{"another tenant's failure", func() error { return db.MarkFailed(ctx, other.campaign, ana, "boom", time.Now()) }, 3, 2},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if gotA, gotB := count(); gotA != step.wantA || gotB != step.wantB {
			t.Fatalf("after %s: %d nudges of a and %d of b, want %d and %d", step.name, gotA, gotB, step.wantA, step.wantB)
		}
	}
}
