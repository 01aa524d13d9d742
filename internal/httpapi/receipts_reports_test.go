package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
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

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// sentMessages is a hand-written MessageSender that keeps what was queued.
type sentMessages struct {
	mu   sync.Mutex
	msgs []string
	err  error
}

func (s *sentMessages) Send(_ context.Context, queueURL string, msg any, _ int32) error {
	if s.err != nil {
		return s.err
	}
	b, _ := json.Marshal(msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, queueURL+" "+string(b))
	return nil
}

// fixture is a tenant with an instance (webhook secret "s3cret") and a
// campaign of n sent recipients whose message ids are msg(i).
type fixture struct {
	db         *postgres.DB
	tenantID   string
	key        string
	instanceID string
	campaignID string
}

func (f fixture) msg(i int) string {
	return "3EB0" + strings.ToUpper(f.campaignID[len(f.campaignID)-8:]) + fmt.Sprintf("%010X", i)
}

func newFixture(t testing.TB, db *postgres.DB, n int) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{db: db}
	tn, key, err := db.CreateTenant(ctx, tenant.Tenant{Name: "Receipts", Plan: tenant.PlanEnterprise, DefaultCountry: "BR", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	f.tenantID, f.key = tn.ID, key
	hash := sha256.Sum256([]byte("s3cret"))
	if err := db.Pool.QueryRow(ctx, `INSERT INTO instances (tenant_id, name, base_url, token, webhook_secret_hash)
		VALUES ($1, 'wa', 'http://wuzapi.test', 'tok', $2) RETURNING id`, f.tenantID, hash[:]).Scan(&f.instanceID); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `INSERT INTO campaigns (tenant_id, instance_id, message, status, total)
		VALUES ($1, $2, 'hi', 'running', $3) RETURNING id`, f.tenantID, f.instanceID, n).Scan(&f.campaignID); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO campaign_recipients (campaign_id, phone, seq, name, status, attempts, wuzapi_message_id, sent_at)
			VALUES ($1, $2, $3, $4, 'sent', 1, $5, $6)`, f.campaignID, fmt.Sprintf("55119%08d", i), i, fmt.Sprintf("Name %d", i), f.msg(i),
			time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f fixture) recipient(t *testing.T, i int) (status string, delivered, read *time.Time) {
	t.Helper()
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT status, delivered_at, read_at FROM campaign_recipients
		WHERE campaign_id = $1 AND seq = $2`, f.campaignID, i).Scan(&status, &delivered, &read); err != nil {
		t.Fatal(err)
	}
	return
}

func (f fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// post sends a raw webhook body.
func (b bundle) post(t *testing.T, path, contentType, body string, header ...string) reply {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	b.srv.ServeHTTP(rec, req)
	out := reply{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &out.Body)
	return out
}

func formEvent(jsonData string) string {
	return url.Values{"jsonData": {jsonData}, "userID": {"u1"}, "instanceName": {"wa"}}.Encode()
}

const formCT = "application/x-www-form-urlencoded"

func TestWuzapiWebhook(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	b := setup(t, func(o *httpapi.Options) { db = o.DB })
	f := newFixture(t, db, 3)
	other := newFixture(t, db, 1)
	hook := "/v1/webhooks/wuzapi/" + f.instanceID + "?secret=s3cret"
	read := formEvent(fmt.Sprintf(`{"type":"ReadReceipt","state":"Read","event":{"MessageIDs":[%q,%q],"Timestamp":"2026-11-25T12:05:00Z","Type":"read"}}`, f.msg(0), f.msg(1)))

	t.Run("wrong or missing secret changes nothing", func(t *testing.T) {
		for name, path := range map[string]string{
			"wrong secret":            "/v1/webhooks/wuzapi/" + f.instanceID + "?secret=nope",
			"no secret":               "/v1/webhooks/wuzapi/" + f.instanceID,
			"another instance secret": "/v1/webhooks/wuzapi/" + other.instanceID + "?secret=s3cretx",
			"unknown instance":        "/v1/webhooks/wuzapi/00000000-0000-0000-0000-000000000000?secret=s3cret",
			"malformed instance id":   "/v1/webhooks/wuzapi/abc?secret=s3cret",
		} {
			if r := b.post(t, path, formCT, read); r.Status != 401 || dig(r.Body, "code") != "UNAUTHORIZED" {
				t.Errorf("%s: %d %s, want 401", name, r.Status, r.Raw)
			}
		}
		if st, _, _ := f.recipient(t, 0); st != "sent" {
			t.Fatalf("recipient is %s after refused posts", st)
		}
		if n := f.count(t, `SELECT count(*) FROM wuzapi_events`); n != 0 {
			t.Fatalf("%d events stored from refused posts", n)
		}
	})

	t.Run("read receipt of several ids, then its duplicate", func(t *testing.T) {
		r := b.post(t, hook, formCT, read)
		if r.Status != 200 || dig(r.Body, "data", "kind") != "receipt" || dig(r.Body, "data", "duplicate") != false {
			t.Fatalf("read receipt: %d %s", r.Status, r.Raw)
		}
		want := time.Date(2026, 11, 25, 12, 5, 0, 0, time.UTC)
		for i := range 2 {
			st, del, rd := f.recipient(t, i)
			if st != "read" || del == nil || !del.Equal(want) || rd == nil || !rd.Equal(want) {
				t.Fatalf("recipient %d = %s delivered %v read %v", i, st, del, rd)
			}
		}
		if st, _, _ := f.recipient(t, 2); st != "sent" {
			t.Fatalf("recipient 2 = %s, want untouched", st)
		}
		r = b.post(t, hook, formCT, read)
		if r.Status != 200 || dig(r.Body, "data", "duplicate") != true {
			t.Fatalf("duplicate: %d %s", r.Status, r.Raw)
		}
		// A delivered receipt arriving after the read moves nothing back.
		late := fmt.Sprintf(`{"type":"ReadReceipt","state":"Delivered","event":{"MessageIDs":[%q],"Timestamp":"2026-11-25T12:06:00Z"},"userID":"u1"}`, f.msg(0))
		if r := b.post(t, hook, "application/json", late); r.Status != 200 {
			t.Fatalf("late delivered: %d %s", r.Status, r.Raw)
		}
		if st, del, _ := f.recipient(t, 0); st != "read" || !del.Equal(want) {
			t.Fatalf("after late delivered: %s %v", st, del)
		}
	})

	t.Run("receipt from another tenant's instance never touches this campaign", func(t *testing.T) {
		body := formEvent(fmt.Sprintf(`{"type":"ReadReceipt","state":"Read","event":{"MessageIDs":[%q]}}`, f.msg(2)))
		if r := b.post(t, "/v1/webhooks/wuzapi/"+other.instanceID+"?secret=s3cret", formCT, body); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		if st, _, _ := f.recipient(t, 2); st != "sent" {
			t.Fatalf("recipient 2 = %s after another instance's receipt", st)
		}
	})

	t.Run("STOP opts the sender out", func(t *testing.T) {
		body := formEvent(`{"type":"Message","event":{"Info":{"Sender":"5511900000002:7@s.whatsapp.net","Chat":"5511900000002@s.whatsapp.net","Timestamp":"2026-11-25T12:10:00Z"},"Message":{"conversation":" Stop "}}}`)
		r := b.post(t, hook, formCT, body)
		if r.Status != 200 || dig(r.Body, "data", "kind") != "opt_out" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		if n := f.count(t, `SELECT count(*) FROM contacts WHERE tenant_id = $1 AND phone = '5511900000002' AND opted_out_at IS NOT NULL`, f.tenantID); n != 1 {
			t.Fatalf("opted-out contacts = %d", n)
		}
		if n := f.count(t, `SELECT count(*) FROM contacts WHERE tenant_id = $1`, other.tenantID); n != 0 {
			t.Fatalf("another tenant got %d contacts", n)
		}
	})

	t.Run("unknown types are acknowledged and ignored; logged out blocks the instance", func(t *testing.T) {
		if r := b.post(t, hook, formCT, formEvent(`{"type":"Presence","event":{}}`)); r.Status != 200 || dig(r.Body, "data", "kind") != "ignored" {
			t.Fatalf("presence: %d %s", r.Status, r.Raw)
		}
		if r := b.post(t, hook, formCT, formEvent(`{"type":"LoggedOut","event":{"OnConnect":true,"Reason":401}}`)); r.Status != 200 {
			t.Fatalf("logged out: %d %s", r.Status, r.Raw)
		}
		blk, err := db.InstanceBlock(context.Background(), f.instanceID)
		if err != nil || blk.Reason != "logged_out" {
			t.Fatalf("block = %+v, %v", blk, err)
		}
		if n := f.count(t, `SELECT count(*) FROM campaigns WHERE id = $1 AND status = 'paused'`, f.campaignID); n != 1 {
			t.Fatal("campaign of a logged-out instance still running")
		}
	})

	t.Run("malformed bodies are 400", func(t *testing.T) {
		for _, body := range []string{"", "jsonData=%7Bnope", "token=abc"} {
			if r := b.post(t, hook, formCT, body); r.Status != 400 || dig(r.Body, "code") != "MALFORMED_JSON" {
				t.Errorf("body %q: %d %s", body, r.Status, r.Raw)
			}
		}
	})
	if n := f.count(t, `SELECT count(*) FROM wuzapi_events WHERE processed_at IS NULL`); n != 0 {
		t.Fatalf("%d events left unprocessed", n)
	}
}

func TestWuzapiWebhookHMAC(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	b := setup(t, func(o *httpapi.Options) { db = o.DB; o.WebhookHMACKey = strings.Repeat("k", 32) })
	f := newFixture(t, db, 1)
	hook := "/v1/webhooks/wuzapi/" + f.instanceID + "?secret=s3cret"
	body := formEvent(fmt.Sprintf(`{"type":"ReadReceipt","state":"Delivered","event":{"MessageIDs":[%q]}}`, f.msg(0)))
	sign := func(key, body string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(body))
		return hex.EncodeToString(m.Sum(nil))
	}
	for name, sig := range map[string]string{"missing": "", "wrong key": sign("other", body), "not hex": "zz"} {
		if r := b.post(t, hook, formCT, body, "X-Hmac-Signature", sig); r.Status != 401 {
			t.Errorf("%s signature: %d %s", name, r.Status, r.Raw)
		}
	}
	if st, _, _ := f.recipient(t, 0); st != "sent" {
		t.Fatalf("unsigned post changed the recipient to %s", st)
	}
	if r := b.post(t, hook, formCT, body, "X-Hmac-Signature", sign(strings.Repeat("k", 32), body)); r.Status != 200 {
		t.Fatalf("signed post: %d %s", r.Status, r.Raw)
	}
	if st, _, _ := f.recipient(t, 0); st != "delivered" {
		t.Fatalf("recipient = %s, want delivered", st)
	}
	// An instance's own key takes precedence over the deployment's.
	if _, err := db.Pool.Exec(context.Background(), `UPDATE instances SET webhook_hmac_key = 'instance-key' WHERE id = $1`, f.instanceID); err != nil {
		t.Fatal(err)
	}
	body2 := formEvent(`{"type":"Presence","event":{}}`)
	if r := b.post(t, hook, formCT, body2, "X-Hmac-Signature", sign(strings.Repeat("k", 32), body2)); r.Status != 401 {
		t.Fatalf("deployment key on an instance with its own: %d", r.Status)
	}
	if r := b.post(t, hook, formCT, body2, "X-Hmac-Signature", sign("instance-key", body2)); r.Status != 200 {
		t.Fatalf("instance key: %d %s", r.Status, r.Raw)
	}
}

func TestReports(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	env := awstest.New(t)
	bucket := env.Bucket(t)
	store := blob.New(env.S3, bucket)
	sender := &sentMessages{}
	b := setup(t, func(o *httpapi.Options) {
		db = o.DB
		o.ReportsQueueURL = "http://sqs.test/reports"
		o.ReportSender = sender
		o.ReportLinks = store
		o.ReportLinkTTL = 2 * time.Minute
	})
	f := newFixture(t, db, 20)
	other := newFixture(t, db, 1)

	for _, tt := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"no type", `{}`, 400, "VALIDATION_FAILED"},
		{"unknown type", `{"type":"sales"}`, 400, "VALIDATION_FAILED"},
		{"campaign without id", `{"type":"campaign"}`, 400, "VALIDATION_FAILED"},
		{"campaign id not a uuid", `{"type":"campaign","campaignId":"x"}`, 400, "VALIDATION_FAILED"},
		{"bad from", `{"type":"contacts","from":"yesterday"}`, 400, "VALIDATION_FAILED"},
		{"to before from", `{"type":"contacts","from":"2026-11-02T00:00:00Z","to":"2026-11-01T00:00:00Z"}`, 400, "VALIDATION_FAILED"},
		{"another tenant's campaign", `{"type":"campaign","campaignId":"` + other.campaignID + `"}`, 404, "NOT_FOUND"},
		{"unknown campaign", `{"type":"campaign","campaignId":"00000000-0000-0000-0000-000000000000"}`, 404, "NOT_FOUND"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := b.do(t, "POST", "/v1/reports", f.key, tt.body); r.Status != tt.status || dig(r.Body, "code") != tt.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Raw, tt.status, tt.code)
			}
		})
	}
	if len(sender.msgs) != 0 {
		t.Fatalf("refused requests queued %v", sender.msgs)
	}

	r := b.do(t, "POST", "/v1/reports", f.key, map[string]any{"type": "campaign", "campaignId": f.campaignID})
	id, _ := dig(r.Body, "data", "reportId").(string)
	if r.Status != 202 || id == "" || dig(r.Body, "data", "status") != "pending" {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	if want := `http://sqs.test/reports {"v":1,"type":"report.generate","reportId":"` + id + `"}`; len(sender.msgs) != 1 || sender.msgs[0] != want {
		t.Fatalf("queued %q, want %q", sender.msgs, want)
	}
	r = b.do(t, "GET", "/v1/reports/"+id, f.key, nil)
	if r.Status != 200 || dig(r.Body, "data", "status") != "pending" || dig(r.Body, "data", "downloadUrl") != nil || dig(r.Body, "data", "progress") != float64(0) {
		t.Fatalf("pending report: %d %s", r.Status, r.Raw)
	}
	if r := b.do(t, "GET", "/v1/reports/"+id, other.key, nil); r.Status != 404 {
		t.Fatalf("another tenant reads the report: %d", r.Status)
	}

	gen := &report.Generator{Store: postgres.ReportStore{DB: db}, Sink: store,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := gen.HandleMessage(context.Background(), strings.TrimPrefix(sender.msgs[0], "http://sqs.test/reports "), false); err != nil {
		t.Fatal(err)
	}
	r = b.do(t, "GET", "/v1/reports/"+id, f.key, nil)
	link, _ := dig(r.Body, "data", "downloadUrl").(string)
	exp, _ := time.Parse(time.RFC3339, fmt.Sprint(dig(r.Body, "data", "expiresAt")))
	if r.Status != 200 || dig(r.Body, "data", "status") != "completed" || dig(r.Body, "data", "rows") != float64(20) ||
		dig(r.Body, "data", "progress") != float64(100) || link == "" || time.Until(exp) > 2*time.Minute || time.Until(exp) < time.Minute {
		t.Fatalf("completed report: %d %s", r.Status, r.Raw)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	csvBody, _ := io.ReadAll(resp.Body)
	lines := strings.Split(strings.TrimSuffix(string(csvBody), "\n"), "\n")
	if resp.StatusCode != 200 || len(lines) != 21 || !strings.HasPrefix(lines[1], "5511900000000,Name 0,sent,1,,"+f.msg(0)+",2026-11-25T12:00:00Z,,") {
		t.Fatalf("download: %d, %d lines, first row %q", resp.StatusCode, len(lines), lines[min(1, len(lines)-1)])
	}

	t.Run("queue down: unavailable, and no report left pending", func(t *testing.T) {
		sender.err = errors.New("sqs down")
		defer func() { sender.err = nil }()
		r := b.do(t, "POST", "/v1/reports", f.key, `{"type":"contacts"}`)
		if r.Status != 503 || dig(r.Body, "code") != "UNAVAILABLE" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		if n := f.count(t, `SELECT count(*) FROM reports WHERE tenant_id = $1`, f.tenantID); n != 1 {
			t.Fatalf("reports = %d, want only the first", n)
		}
	})
}

func TestCampaignStatusCountsUndelivered(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	now := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC) // the fixture sent at 12:00
	b := setup(t, func(o *httpapi.Options) {
		db = o.DB
		o.Now = func() time.Time { return now }
		o.UndeliveredAfter = 30 * time.Minute
	})
	f := newFixture(t, db, 4)
	body := formEvent(fmt.Sprintf(`{"type":"ReadReceipt","state":"Delivered","event":{"MessageIDs":[%q]}}`, f.msg(0)))
	if r := b.post(t, "/v1/webhooks/wuzapi/"+f.instanceID+"?secret=s3cret", formCT, body); r.Status != 200 {
		t.Fatalf("receipt: %d %s", r.Status, r.Raw)
	}
	r := b.do(t, "GET", "/v1/campaigns/"+f.campaignID+"/status", f.key, nil)
	if r.Status != 200 || dig(r.Body, "data", "result", "undelivered") != float64(3) {
		t.Fatalf("status = %d %s; want undelivered 3", r.Status, r.Raw)
	}
	now = time.Date(2026, 11, 25, 12, 10, 0, 0, time.UTC) // within the window: none yet
	r = b.do(t, "GET", "/v1/campaigns/"+f.campaignID+"/status", f.key, nil)
	if r.Status != 200 || dig(r.Body, "data", "result", "undelivered") != float64(0) {
		t.Fatalf("status = %d %s; want undelivered 0", r.Status, r.Raw)
	}
}
