package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// chunkQueue records enqueued chunks.
type chunkQueue struct {
	mu     sync.Mutex
	chunks map[string][]int
	delays map[string]time.Duration
	fail   bool
}

func (q *chunkQueue) EnqueueChunks(_ context.Context, id string, _ int64, chunks []int, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail {
		return context.DeadlineExceeded
	}
	if q.chunks == nil {
		q.chunks, q.delays = map[string][]int{}, map[string]time.Duration{}
	}
	q.chunks[id] = append(q.chunks[id], chunks...)
	q.delays[id] = delay
	return nil
}

func (q *chunkQueue) of(id string) ([]int, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]int(nil), q.chunks[id]...), q.delays[id]
}

type campaignBundle struct {
	bundle
	fake  *wuzapitest.Server
	queue *chunkQueue
	key   string
	now   *time.Time
}

func setupCampaigns(t *testing.T, mutate ...func(*httpapi.Options)) campaignBundle {
	t.Helper()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.State{})
	q := &chunkQueue{}
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	b := setup(t, append([]func(*httpapi.Options){func(o *httpapi.Options) {
		o.AllowPrivateWuzapi = true
		o.Chunks = q
		o.Now = func() time.Time { return now }
	}}, mutate...)...)
	_, key := b.newTenant(t, map[string]any{"name": "Acme", "timezone": "America/Sao_Paulo"})
	return campaignBundle{bundle: b, fake: fake, queue: q, key: key, now: &now}
}

func (b campaignBundle) newInstance(t *testing.T, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"name": "main", "baseUrl": b.fake.URL, "token": "tok"}
	for k, v := range extra {
		body[k] = v
	}
	r := b.do(t, "POST", "/v1/instances", b.key, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create instance: %d %s", r.Status, r.Raw)
	}
	return dig(r.Body, "data").(map[string]any)
}

func TestInstanceLifecycle(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	inst := b.newInstance(t, map[string]any{"configureWebhook": true, "minDelayMs": 100000})
	id := inst["id"].(string)
	if _, has := inst["token"]; has {
		t.Fatalf("create answer shows the token: %v", inst)
	}
	want := map[string]any{"name": "main", "baseUrl": b.fake.URL, "messagesPerMinute": 2.0, "minDelayMs": 100000.0, "maxDelayMs": 100000.0,
		"hourlyCap": 30.0, "dailyCap": 200.0, "warmupDays": 10.0, "maxInFlight": 1.0,
		"newContactsPerDay": 20.0, "newContactsPerHour": 8.0, "identicalPerHour": 10.0, "checkNumbers": true, "typing": true}
	for k, v := range want {
		if inst[k] != v {
			t.Fatalf("instance %s = %v, want %v (%v)", k, inst[k], v, inst)
		}
	}
	hook, _ := inst["webhookUrl"].(string)
	u, err := url.Parse(hook)
	if err != nil || !strings.HasPrefix(hook, "http://api.test/v1/webhooks/wuzapi/"+id+"?secret=") || len(u.Query().Get("secret")) != 43 {
		t.Fatalf("webhookUrl = %q", hook)
	}
	if got, events := b.fake.Webhook("tok"); got != hook || len(events) == 0 {
		t.Fatalf("WuzAPI webhook = %q %v, want %q", got, events, hook)
	}

	r := b.do(t, "GET", "/v1/instances/"+id, b.key, nil)
	if r.Status != 200 || dig(r.Body, "data", "session", "connected") != false || strings.Contains(r.Raw, "tok\"") ||
		strings.Contains(r.Raw, "secret=") {
		t.Fatalf("GET instance = %d %s", r.Status, r.Raw)
	}
	if r := b.do(t, "GET", "/v1/instances/"+id+"/qr", b.key, nil); r.Status != 409 || dig(r.Body, "code") != "INVALID_STATE" {
		t.Fatalf("QR before connect = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "POST", "/v1/instances/"+id+"/connect", b.key, nil)
	if r.Status != 200 || dig(r.Body, "data", "connected") != true || dig(r.Body, "data", "loggedIn") != false {
		t.Fatalf("connect = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "GET", "/v1/instances/"+id+"/qr", b.key, nil)
	if qr, _ := dig(r.Body, "data", "qrCode").(string); r.Status != 200 || !strings.HasPrefix(qr, "data:image/png;base64,") {
		t.Fatalf("QR = %d %s", r.Status, r.Raw)
	}
	b.fake.SetState("tok", wuzapitest.Ready)
	if r := b.do(t, "GET", "/v1/instances/"+id+"/qr", b.key, nil); r.Status != 409 || dig(r.Body, "code") != "INVALID_STATE" {
		t.Fatalf("QR when logged in = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "GET", "/v1/instances/"+id, b.key, nil)
	if dig(r.Body, "data", "session", "loggedIn") != true {
		t.Fatalf("GET instance when paired = %s", r.Raw)
	}

	r = b.do(t, "PATCH", "/v1/instances/"+id, b.key, map[string]any{"messagesPerMinute": 5, "maxDelayMs": 50000, "name": "renamed"})
	if r.Status != 200 || dig(r.Body, "data", "messagesPerMinute") != 5.0 || dig(r.Body, "data", "maxDelayMs") != 50000.0 ||
		dig(r.Body, "data", "minDelayMs") != 50000.0 || dig(r.Body, "data", "name") != "renamed" {
		t.Fatalf("PATCH = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "PATCH", "/v1/instances/"+id, b.key, map[string]any{"typing": false, "newContactsPerHour": 3})
	if r.Status != 200 || dig(r.Body, "data", "typing") != false || dig(r.Body, "data", "checkNumbers") != true ||
		dig(r.Body, "data", "newContactsPerHour") != 3.0 || dig(r.Body, "data", "messagesPerMinute") != 5.0 {
		t.Fatalf("PATCH sending safety = %d %s", r.Status, r.Raw)
	}
	b.newInstance(t, map[string]any{"name": "second"})
	r = b.do(t, "GET", "/v1/instances?limit=1", b.key, nil)
	items, _ := dig(r.Body, "data", "items").([]any)
	cur, _ := dig(r.Body, "data", "nextCursor").(string)
	if r.Status != 200 || len(items) != 1 || dig(items[0], "name") != "second" || cur == "" {
		t.Fatalf("list page 1 = %d %s", r.Status, r.Raw)
	}
	r = b.do(t, "GET", "/v1/instances?limit=1&cursor="+cur, b.key, nil)
	items, _ = dig(r.Body, "data", "items").([]any)
	if len(items) != 1 || dig(items[0], "id") != id {
		t.Fatalf("list page 2 = %s", r.Raw)
	}

	// Another tenant sees none of it.
	_, other := b.newTenant(t, map[string]any{"name": "Other"})
	for _, p := range []string{"/v1/instances/" + id, "/v1/instances/" + id + "/qr"} {
		if r := b.do(t, "GET", p, other, nil); r.Status != 404 || dig(r.Body, "code") != "NOT_FOUND" {
			t.Fatalf("other tenant GET %s = %d %s", p, r.Status, r.Raw)
		}
	}
	if r := b.do(t, "PATCH", "/v1/instances/"+id, other, map[string]any{"dailyCap": 1}); r.Status != 404 {
		t.Fatalf("other tenant PATCH = %d", r.Status)
	}
}

func TestInstanceSessionUnreachable(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	inst := b.newInstance(t, nil)
	b.fake.Close()
	r := b.do(t, "GET", "/v1/instances/"+inst["id"].(string), b.key, nil)
	if r.Status != 200 || dig(r.Body, "data", "session") != nil || dig(r.Body, "data", "sessionError") == nil {
		t.Fatalf("GET unreachable instance = %d %s", r.Status, r.Raw)
	}
	if _, has := dig(r.Body, "data").(map[string]any)["session"]; !has {
		t.Fatalf("session key missing: %s", r.Raw)
	}
	if r := b.do(t, "POST", "/v1/instances/"+inst["id"].(string)+"/connect", b.key, nil); r.Status != 503 || dig(r.Body, "code") != "UNAVAILABLE" {
		t.Fatalf("connect unreachable = %d %s", r.Status, r.Raw)
	}
}

func TestInstanceBadInput(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	strict := setupCampaigns(t, func(o *httpapi.Options) { o.AllowPrivateWuzapi = false })
	ok := map[string]any{"name": "n", "baseUrl": b.fake.URL, "token": "tok"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		b     campaignBundle
		body  map[string]any
		field string
		code  string
	}{
		{"no name", b, with("name", nil), "name", "required"},
		{"no token", b, with("token", nil), "token", "required"},
		{"no base url", b, with("baseUrl", nil), "baseUrl", "required"},
		{"not a url", b, with("baseUrl", "wuzapi"), "baseUrl", "invalid_url"},
		{"metadata", b, with("baseUrl", "http://169.254.169.254"), "baseUrl", "blocked_address"},
		{"loopback when private is refused", strict, with("baseUrl", strict.fake.URL), "baseUrl", "blocked_address"},
		{"private when refused", strict, with("baseUrl", "http://10.0.0.8:8080"), "baseUrl", "blocked_address"},
		{"rate zero", b, with("messagesPerMinute", 0), "messagesPerMinute", "out_of_range"},
		{"negative delay", b, with("minDelayMs", -1), "minDelayMs", "out_of_range"},
		{"max below min", b, func() map[string]any { m := with("minDelayMs", 5000); m["maxDelayMs"] = 1000; return m }(), "maxDelayMs", "out_of_range"},
		{"in flight zero", b, with("maxInFlight", 0), "maxInFlight", "out_of_range"},
		{"new contacts per day over 500", b, with("newContactsPerDay", 501), "newContactsPerDay", "out_of_range"},
		{"new contacts per hour zero", b, with("newContactsPerHour", 0), "newContactsPerHour", "out_of_range"},
		{"identical per hour over 1000", b, with("identicalPerHour", 1001), "identicalPerHour", "out_of_range"},
		{"typing null", b, with("typing", json.RawMessage("null")), "typing", "invalid"},
		{"webhook refused", b, func() map[string]any { m := with("token", "unknown-token"); m["configureWebhook"] = true; return m }(), "configureWebhook", "webhook_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.b.do(t, "POST", "/v1/instances", tt.b.key, tt.body)
			d, _ := dig(r.Body, "details").([]any)
			if r.Status != 400 || dig(r.Body, "code") != "VALIDATION_FAILED" || len(d) == 0 || dig(d[0], "field") != tt.field || dig(d[0], "code") != tt.code {
				t.Fatalf("POST %v = %d %s; want %s %s", tt.body, r.Status, r.Raw, tt.field, tt.code)
			}
		})
	}
	for _, bb := range []campaignBundle{b, strict} {
		if r := bb.do(t, "GET", "/v1/instances", bb.key, nil); len(dig(r.Body, "data", "items").([]any)) != 0 {
			t.Fatalf("a refused create left an instance: %s", r.Raw)
		}
	}
	if r := b.do(t, "PATCH", "/v1/instances/"+b.newInstance(t, nil)["id"].(string), b.key, `{"dailyCap":null}`); r.Status != 400 {
		t.Fatalf("PATCH null = %d %s", r.Status, r.Raw)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
