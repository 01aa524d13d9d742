package alert_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/sivchari/kumo"

	"github.com/wuzapi-manager/wuzapi-manager/internal/alert"
	"github.com/wuzapi-manager/wuzapi-manager/internal/alert/quote"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// webhook is a fake Discord/Slack endpoint that keeps every payload.
type webhook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	status int
}

func newWebhook(t *testing.T) *webhook {
	t.Helper()
	w := &webhook{status: http.StatusNoContent}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
			t.Errorf("webhook got a %s body that is not JSON", r.Header.Get("Content-Type"))
		}
		w.mu.Lock()
		w.bodies = append(w.bodies, body)
		status := w.status
		w.mu.Unlock()
		rw.WriteHeader(status)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) got() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.bodies...)
}

// logs collects the JSON log lines.
type logs struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }
func (l *logs) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

type bundle struct {
	db      *postgres.DB
	rdb     *redis.Client
	fleet   *telemetry.Fleet
	clock   *clock
	hook    *webhook
	logs    *logs
	monitor *alert.Monitor
	metrics *telemetry.Metrics
}

func setup(t *testing.T) *bundle {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "wm:test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
		_ = rdb.Close()
	})
	clk := &clock{t: time.Date(2026, 12, 2, 10, 0, 10, 0, time.UTC)}
	l := &logs{}
	logger := slog.New(slog.NewJSONHandler(l, nil))
	hook := newWebhook(t)
	fleet := &telemetry.Fleet{Redis: rdb, Prefix: prefix + "metrics:", Now: clk.Now}
	db := pgtest.NewDB(t)
	m := telemetry.NewMetrics()
	return &bundle{
		db: db, rdb: rdb, fleet: fleet, clock: clk, hook: hook, logs: l, metrics: m,
		monitor: &alert.Monitor{
			DB: db, Redis: rdb, Fleet: fleet, Metrics: m, Logger: logger, Now: clk.Now, CursorKey: prefix + "sessions:cursor",
			Notifier: &alert.Notifier{
				WebhookURL: hook.srv.URL, Redis: rdb, Logger: logger, Prefix: prefix + "alert:",
				Service: "wuzapi-manager", Environment: "test", Now: clk.Now,
			},
		},
	}
}

// traffic flushes one API instance's requests into the fleet window.
func (b *bundle) traffic(t *testing.T, ok, failed int) {
	t.Helper()
	m := telemetry.NewMetrics()
	m.HTTPRequests.WithLabelValues("GET", "GET /v1/me", "200", "t").Add(float64(ok))
	m.HTTPRequests.WithLabelValues("POST", "POST /v1/campaigns", "500", "t").Add(float64(failed))
	for range ok + failed {
		m.HTTPDuration.WithLabelValues("GET", "GET /v1/me", "200").Observe(0.02)
	}
	if err := b.fleet.NewFlusher(m, "api", nil).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBurstOf5xxAlertsOnceAndThenWaits: a burst of 5xx gives one Discord
// payload; the next evaluations within five minutes send nothing more,
// although the burst is still in the window; after five minutes a new
// burst alerts again.
func TestBurstOf5xxAlertsOnceAndThenWaits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.traffic(t, 90, 10)
	if err := b.monitor.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	got := b.hook.got()
	if len(got) != 1 {
		t.Fatalf("webhook got %d payloads, want 1: %v", len(got), got)
	}
	content, _ := got[0]["content"].(string)
	embeds, _ := got[0]["embeds"].([]any)
	if !strings.Contains(content, "**CRITICAL** - High Error Rate") || !strings.Contains(content, "10.00%") || len(embeds) != 1 {
		t.Fatalf("payload = %v, want a Discord message of a critical error rate of 10%%", got[0])
	}
	embed := embeds[0].(map[string]any)
	if embed["title"] != "High Error Rate" || embed["color"] != float64(0xff0000) || embed["timestamp"] != "2026-12-02T10:00:10Z" {
		t.Fatalf("embed = %v", embed)
	}
	for _, d := range []time.Duration{time.Minute, 3*time.Minute + 59*time.Second} {
		b.clock.Add(d)
		b.traffic(t, 0, 5)
		if err := b.monitor.Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(b.hook.got()); n != 1 {
			t.Fatalf("%v after the first alert: %d payloads, want still 1", b.clock.Now().Sub(time.Date(2026, 12, 2, 10, 0, 10, 0, time.UTC)), n)
		}
	}
	b.clock.Add(time.Second) // five minutes after the first alert
	b.traffic(t, 0, 5)
	if err := b.monitor.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(b.hook.got()); n != 2 {
		t.Fatalf("five minutes later: %d payloads, want 2", n)
	}
	var logged int
	for _, l := range b.logs.lines() {
		if l["msg"] == "Alert triggered" && l["alert_type"] == "High Error Rate" && l["severity"] == "critical" && l["service"] == "wuzapi-manager" {
			logged++
		}
		if l["level"] == "WARN" && l["msg"] != "Alert triggered" {
			t.Errorf("unexpected warning (the cooldown must be Redis's): %v", l)
		}
	}
	if logged != 2 {
		t.Fatalf("logged %d alerts as JSON, want 2:\n%s", logged, b.logs.buf.String())
	}
}

func TestCooldownIsFleetWide(t *testing.T) {
	t.Parallel()
	b := setup(t)
	n := b.monitor.Notifier
	other := &alert.Notifier{ // a second scheduler instance: own memory, same Redis
		WebhookURL: n.WebhookURL, Redis: n.Redis, Logger: n.Logger, Prefix: n.Prefix, Now: n.Now,
	}
	a := alert.Alert{Type: "Redis Unavailable", Severity: alert.Critical, Message: "x"}
	if sent, err := b.monitor.Notifier.Send(context.Background(), a); !sent || err != nil {
		t.Fatalf("first send: %v %v", sent, err)
	}
	if sent, _ := other.Send(context.Background(), a); sent {
		t.Fatal("another instance sent the same alert within the cooldown")
	}
	if sent, _ := other.Send(context.Background(), alert.Alert{Type: a.Type, Severity: alert.Warning}); !sent {
		t.Fatal("another severity of the same type waited for the cooldown")
	}
}

func TestFailedDeliveryReleasesTheCooldown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.hook.status = http.StatusBadGateway
	a := alert.Alert{Type: "DLQ", Severity: alert.Critical, Message: "x"}
	if _, err := b.monitor.Notifier.Send(context.Background(), a); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("send to a failing webhook: err = %v, want status 502", err)
	}
	b.hook.mu.Lock()
	b.hook.status = http.StatusOK
	b.hook.mu.Unlock()
	if sent, err := b.monitor.Notifier.Send(context.Background(), a); !sent || err != nil {
		t.Fatalf("retry after a failed delivery: sent %v, err %v", sent, err)
	}
}

// redirect sends every request to the test server, whatever its URL says.
type redirect struct{ to *url.URL }

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return http.DefaultTransport.RoundTrip(req)
}

func TestSlackPayload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	to, _ := url.Parse(b.hook.srv.URL)
	n := b.monitor.Notifier
	n.WebhookURL = "https://hooks.slack.com/services/T000/B000/XXXX"
	n.HTTP = &http.Client{Transport: redirect{to: to}}
	if _, err := n.Send(context.Background(), alert.Alert{Type: "High Latency", Severity: alert.Warning, Message: "P95 latency is 2500ms"}); err != nil {
		t.Fatal(err)
	}
	got := b.hook.got()
	if len(got) != 1 {
		t.Fatalf("%d payloads", len(got))
	}
	blocks, _ := got[0]["blocks"].([]any)
	text, _ := got[0]["text"].(string)
	if _, discord := got[0]["embeds"]; discord || len(blocks) != 3 || !strings.Contains(text, "*WARNING - High Latency*") {
		t.Fatalf("Slack payload = %v", got[0])
	}
	for u, want := range map[string]bool{
		"https://hooks.slack.com/services/a": true, "https://discord.com/api/webhooks/1/x": false,
		"https://hooks.slack.com.evil.test/x": false, "::": false,
	} {
		if alert.IsSlack(u) != want {
			t.Errorf("IsSlack(%q) = %v", u, !want)
		}
	}
}

// A message built from names a tenant chose (the worker's lock and delivery
// alerts name the instance) never reaches Slack as a mention or a link.
func TestSlackPayloadEscapesMarkup(t *testing.T) {
	n := &alert.Notifier{WebhookURL: "https://hooks.slack.com/services/T000/B000/XXXX"}
	p := n.Payload(alert.Alert{Type: "New-contact lock", Severity: alert.Warning,
		Message: "WhatsApp stopped <!channel> <https://evil.example|x> & co from messaging new contacts"}, time.Unix(0, 0))
	section := p["blocks"].([]any)[1].(map[string]any)["text"].(map[string]any)["text"].(string)
	for _, text := range []string{p["text"].(string), section} {
		if strings.ContainsAny(text, "<>") || !strings.Contains(text, "&lt;!channel&gt; &lt;https://evil.example|x&gt; &amp; co") {
			t.Errorf("Slack text %q is not escaped", text)
		}
	}
}

func TestWindowAlerts(t *testing.T) {
	t.Parallel()
	buckets := func(b ...float64) []float64 { return b }
	tests := []struct {
		name string
		w    telemetry.Window
		want map[string]alert.Severity
	}{
		{"quiet", telemetry.Window{Buckets: make([]float64, 7)}, map[string]alert.Severity{}},
		{"1% errors is fine", telemetry.Window{Requests: 100, Errors: 1, Buckets: make([]float64, 7)}, map[string]alert.Severity{}},
		{"2% errors warn", telemetry.Window{Requests: 100, Errors: 2, Buckets: make([]float64, 7)}, map[string]alert.Severity{alert.TypeErrorRate: alert.Warning}},
		{"6% errors critical", telemetry.Window{Requests: 100, Errors: 6, Buckets: make([]float64, 7)}, map[string]alert.Severity{alert.TypeErrorRate: alert.Critical}},
		{"p95 3 s warns", telemetry.Window{Count: 100, Buckets: buckets(0, 0, 0, 0, 0, 50, 100)}, map[string]alert.Severity{alert.TypeLatency: alert.Warning}},
		{"p95 beyond 5 s critical", telemetry.Window{Count: 100, Buckets: buckets(0, 0, 0, 0, 0, 0, 50)}, map[string]alert.Severity{alert.TypeLatency: alert.Critical}},
		{"memory 85% warns", telemetry.Window{Buckets: make([]float64, 7), Memory: map[string]float64{"api": 0.85, "scheduler": 0.3}}, map[string]alert.Severity{alert.TypeMemory: alert.Warning}},
		{"memory 95% critical", telemetry.Window{Buckets: make([]float64, 7), Memory: map[string]float64{"api": 0.85, "campaign-worker": 0.95}}, map[string]alert.Severity{alert.TypeMemory: alert.Critical}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]alert.Severity{}
			for _, a := range alert.WindowAlerts(tt.w, alert.DefaultThresholds, 5) {
				got[a.Type] = a.Severity
			}
			if len(got) != len(tt.want) {
				t.Fatalf("alerts = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("alerts = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// wuzapiFake answers /session/status as one WuzAPI instance would.
func wuzapiFake(t *testing.T, token string, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/session/status" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Token") != token {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"code":401,"error":"unauthorized","success":false}`)
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (b *bundle) instance(t *testing.T, tenantID, name, baseURL, token string) string {
	t.Helper()
	var id string
	err := b.db.Pool.QueryRow(context.Background(), `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, $2, $3, $4, '\x00') RETURNING id`, tenantID, name, baseURL, token).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (b *bundle) campaign(t *testing.T, tenantID, instanceID, status string) {
	t.Helper()
	if _, err := b.db.Pool.Exec(context.Background(), `INSERT INTO campaigns (tenant_id, instance_id, message, status)
		VALUES ($1, $2, 'hi', $3)`, tenantID, instanceID, status); err != nil {
		t.Fatal(err)
	}
}

func TestSessionCheckAndStalledInstances(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var tenantID string
	if err := b.db.Pool.QueryRow(ctx, `INSERT INTO tenants (name) VALUES ('Acme') RETURNING id`).Scan(&tenantID); err != nil {
		t.Fatal(err)
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	instances := []struct {
		name, url, token    string
		connected, loggedIn bool
	}{
		{"ready-new", wuzapiFake(t, "tok1", 200, `{"code":200,"data":{"connected":true,"loggedIn":true,"jid":"x"},"success":true}`).URL, "tok1", true, true},
		{"ready-old", wuzapiFake(t, "tok2", 200, `{"code":200,"data":{"Connected":true,"LoggedIn":true},"success":true}`).URL, "tok2", true, true},
		{"not-paired", wuzapiFake(t, "tok3", 200, `{"code":200,"data":{"connected":true,"loggedIn":false},"success":true}`).URL, "tok3", true, false},
		{"no-session", wuzapiFake(t, "tok4", 500, `{"code":500,"error":"No session","success":false}`).URL, "tok4", false, false},
		{"bad-token", wuzapiFake(t, "right", 200, `{}`).URL, "wrong", false, false},
		{"unreachable", gone.URL, "tok6", false, false},
	}
	ids := map[string]string{}
	for _, in := range instances {
		ids[in.name] = b.instance(t, tenantID, in.name, in.url, in.token)
	}
	b.campaign(t, tenantID, ids["ready-new"], "running")
	b.campaign(t, tenantID, ids["not-paired"], "queued")
	b.campaign(t, tenantID, ids["no-session"], "paused")
	b.campaign(t, tenantID, ids["unreachable"], "completed") // nothing waits on it

	if err := b.monitor.CheckSessions(ctx); err != nil {
		t.Fatal(err)
	}
	for _, in := range instances {
		var connected, loggedIn bool
		var at time.Time
		if err := b.db.Pool.QueryRow(ctx, `SELECT connected, logged_in, status_checked_at FROM instances WHERE id = $1`, ids[in.name]).
			Scan(&connected, &loggedIn, &at); err != nil {
			t.Fatal(err)
		}
		if connected != in.connected || loggedIn != in.loggedIn || !at.Equal(b.clock.Now()) {
			t.Errorf("%s: connected %v logged in %v at %v; want %v %v at %v", in.name, connected, loggedIn, at, in.connected, in.loggedIn, b.clock.Now())
		}
	}
	if got := testutil.ToFloat64(b.metrics.ActiveSessions); got != 2 {
		t.Errorf("local active_sessions_total = %v, want 2", got)
	}
	reg, err := b.fleet.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP active_sessions_total WhatsApp instances connected and logged in at the last check.
# TYPE active_sessions_total gauge
active_sessions_total 2
`), "active_sessions_total"); err != nil {
		t.Fatal(err)
	}

	if err := b.monitor.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	got := b.hook.got()
	if len(got) != 1 {
		t.Fatalf("payloads = %v, want one WuzAPI alert", got)
	}
	content := got[0]["content"].(string)
	if !strings.Contains(content, "WuzAPI Instance Unavailable") || !strings.Contains(content, "not-paired") ||
		!strings.Contains(content, "no-session") || strings.Contains(content, "ready-") || strings.Contains(content, "unreachable") {
		t.Fatalf("WuzAPI alert = %q, want not-paired and no-session only", content)
	}
}

// TestStalledPoolInstances: a pool campaign waits on every instance of
// its pool, so an instance that cannot send is reported whichever place it
// has in the pool, and an instance in two campaigns' pools counts both.
func TestStalledPoolInstances(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var tenantID string
	if err := b.db.Pool.QueryRow(ctx, `INSERT INTO tenants (name) VALUES ('Acme') RETURNING id`).Scan(&tenantID); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, name := range []string{"lead", "second", "third"} {
		ids[name] = b.instance(t, tenantID, name, "http://127.0.0.1:1", "tok-"+name)
	}
	if _, err := b.db.Pool.Exec(ctx, `UPDATE instances SET connected = name <> 'third', logged_in = true, status_checked_at = now()
		WHERE tenant_id = $1`, tenantID); err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"running", "paused"} {
		if _, err := b.db.Pool.Exec(ctx, `INSERT INTO campaigns (tenant_id, instance_id, instance_ids, message, status)
			VALUES ($1, $2, ARRAY[$2, $3, $4]::uuid[], 'hi', $5)`, tenantID, ids["lead"], ids["second"], ids["third"], status); err != nil {
			t.Fatal(err)
		}
	}
	stalled, err := b.db.StalledInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stalled) != 1 || stalled[0].ID != ids["third"] || stalled[0].Campaigns != 2 {
		t.Fatalf("stalled = %+v, want only third (%s) with 2 campaigns", stalled, ids["third"])
	}
	if err := b.monitor.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	got := b.hook.got()
	if len(got) != 1 || !strings.Contains(got[0]["content"].(string), "third") {
		t.Fatalf("payloads = %v, want one WuzAPI alert naming third", got)
	}
}

func TestDeadLetterQueueAndQueueGauges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	client := sqs.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	mk := func(name string) string {
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-" + hex.EncodeToString(suffix))})
		if err != nil {
			t.Fatal(err)
		}
		return *out.QueueUrl
	}
	work, dlq, importsDLQ := mk("campaigns"), mk("campaigns-dlq"), mk("imports-dlq")
	for range 2 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(work), MessageBody: aws.String(`{"v":1}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(dlq), MessageBody: aws.String(`{"v":9}`)}); err != nil {
		t.Fatal(err)
	}
	b.monitor.SQS = client
	b.monitor.Queues = []alert.Queue{{Name: "campaigns", URL: work, DLQ: dlq}, {Name: "imports", DLQ: importsDLQ}}
	if err := b.monitor.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	got := b.hook.got()
	if len(got) != 1 || !strings.Contains(got[0]["content"].(string), "Dead-Letter Queue Not Empty") ||
		!strings.Contains(got[0]["content"].(string), "campaigns: 1 message(s)") || strings.Contains(got[0]["content"].(string), "imports") {
		t.Fatalf("payloads = %v, want one DLQ alert naming campaigns", got)
	}
	reg, err := b.fleet.Registry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP queue_jobs_total Messages in each queue, by state (visible, in_flight, delayed, dead).
# TYPE queue_jobs_total gauge
queue_jobs_total{queue_name="campaigns",status="dead"} 1
queue_jobs_total{queue_name="campaigns",status="delayed"} 0
queue_jobs_total{queue_name="campaigns",status="in_flight"} 0
queue_jobs_total{queue_name="campaigns",status="visible"} 2
queue_jobs_total{queue_name="imports",status="dead"} 0
`), "queue_jobs_total"); err != nil {
		t.Fatal(err)
	}
}

// downStore is Postgres refusing pings.
type downStore struct{ *postgres.DB }

func (downStore) Ping(context.Context) error { return errors.New("connection refused") }

func TestDependenciesDown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.monitor.DB = downStore{b.db}
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	b.monitor.Redis = dead
	b.monitor.Notifier.Redis = dead // the cooldown falls back to memory
	for range 2 {
		if err := b.monitor.Evaluate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var types []string
	for _, p := range b.hook.got() {
		types = append(types, p["embeds"].([]any)[0].(map[string]any)["title"].(string))
	}
	if len(types) != 2 || types[0] != alert.TypePostgres || types[1] != alert.TypeRedis {
		t.Fatalf("alerts sent over two evaluations = %v, want Postgres and Redis once each", types)
	}
}

func TestAlertTextQuotesTenantNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var tenantID string
	if err := b.db.Pool.QueryRow(ctx, `INSERT INTO tenants (name) VALUES ('Acme') RETURNING id`).Scan(&tenantID); err != nil {
		t.Fatal(err)
	}
	name := "<!channel> @everyone <https://evil.example/x|click> [here](http://evil.example) `x`\nline two"
	id := b.instance(t, tenantID, name, wuzapiFake(t, "tok", 500, `{"code":500,"error":"No session","success":false}`).URL, "tok")
	b.campaign(t, tenantID, id, "queued")
	if err := b.monitor.CheckSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.monitor.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	got := b.hook.got()
	if len(got) != 1 {
		t.Fatalf("payloads = %v, want one WuzAPI alert", got)
	}
	content := got[0]["content"].(string)
	for _, bad := range []string{"<!channel>", "@everyone", "<https", "://", "evil.example", "](", "`", "\nline two"} {
		if strings.Contains(content, bad) {
			t.Errorf("alert text %q carries %q from the tenant's name", content, bad)
		}
	}
	if !strings.Contains(content, "channel") || !strings.Contains(content, "everyone") || !strings.Contains(content, id) {
		t.Errorf("alert text %q no longer names the instance", content)
	}
	if am, _ := got[0]["allowed_mentions"].(map[string]any); am == nil || len(am["parse"].([]any)) != 0 {
		t.Errorf("Discord payload allows mentions: %v", got[0]["allowed_mentions"])
	}
	if q := quote.Name(strings.Repeat("é", 200)); len([]rune(q)) != 83 {
		t.Errorf("Quote of 200 runes = %d runes, want 80 plus an ellipsis and quotes", len([]rune(q)))
	}
}

// The session check is bounded per tick and goes round-robin over ticks: with
// a batch of 2 and 5 instances, each tick asks 2 WuzAPIs, and three ticks
// check every instance (the third wraps around to the first).
func TestSessionCheckRoundRobin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.monitor.SessionBatch = 2
	ctx := context.Background()
	var tenantID string
	if err := b.db.Pool.QueryRow(ctx, `INSERT INTO tenants (name) VALUES ('Many') RETURNING id`).Scan(&tenantID); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	asked := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.Header.Get("Token")]++
		mu.Unlock()
		_, _ = io.WriteString(w, `{"code":200,"data":{"connected":true,"loggedIn":true},"success":true}`)
	}))
	t.Cleanup(srv.Close)
	for i := range 5 {
		b.instance(t, tenantID, fmt.Sprint("i", i), srv.URL, fmt.Sprint("tok", i))
	}
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, c := range asked {
			n += c
		}
		return n
	}
	for tick := 1; tick <= 3; tick++ {
		before := total()
		if err := b.monitor.CheckSessions(ctx); err != nil {
			t.Fatal(err)
		}
		if n := total() - before; n != 2 {
			t.Fatalf("tick %d asked %d WuzAPIs, want the batch of 2", tick, n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 5 {
		t.Fatalf("after 3 ticks %d of 5 instances were checked: %v", len(asked), asked)
	}
	if got := testutil.ToFloat64(b.metrics.ActiveSessions); got != 5 {
		t.Errorf("active_sessions_total = %v, want 5 (every instance's last check)", got)
	}
}
