package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// hookReceiver is a tenant's endpoint: it verifies every post's signature
// with the Standard Webhooks library and answers 500 to the first post.
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	posts  []hookPost
}

type hookPost struct {
	ID, Type string
	Valid    bool
	Status   int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(h.secret)
	valid := err == nil && wh.Verify(body, r.Header) == nil
	var ev struct{ Type string }
	_ = json.Unmarshal(body, &ev)
	status := http.StatusOK
	if len(h.posts) == 0 {
		status = http.StatusInternalServerError
	}
	h.posts = append(h.posts, hookPost{ID: r.Header.Get("webhook-id"), Type: ev.Type, Valid: valid, Status: status})
	w.WriteHeader(status)
}

func (h *hookReceiver) got() []hookPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookPost(nil), h.posts...)
}

// TestTenantWebhooksEndToEnd runs tenant webhooks through the real
// binaries: the campaign's sends and a reply reach a signed endpoint that
// answers 500 once and gets the retry under the same webhook-id, while a
// second endpoint that is down never holds up the sending nor the first.
func TestTenantWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	hooks := &hookReceiver{}
	srv := httptest.NewServer(hooks)
	t.Cleanup(srv.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL + "/hook"
	down.Close() // nothing answers there
	cfg := e2eConfig(t, "wm-e2e-hooks-")
	cfg.ScheduleInterval = 2 * time.Second
	cfg.Parameters["AllowPrivateWuzapi"] = "true"
	p := startPlatform(t, cfg)

	key := createTenant(t, p, "Hooks e2e", "enterprise")
	status, body := call(t, p.APIURL, "POST", "/v1/webhook-endpoints", key, fmt.Sprintf(`{"url":%q,"events":["message.sent","message.replied"]}`, srv.URL+"/hook"))
	mustStatus(t, "create endpoint", status, body, 201)
	endpointID := jsonField(t, body, "data", "id")
	hooks.mu.Lock()
	hooks.secret = jsonField(t, body, "data", "secret")
	hooks.mu.Unlock()
	status, body = call(t, p.APIURL, "POST", "/v1/webhook-endpoints", key, fmt.Sprintf(`{"url":%q,"events":["message.sent"]}`, downURL))
	mustStatus(t, "create down endpoint", status, body, 201)
	downID := jsonField(t, body, "data", "id")
	status, body = call(t, p.APIURL, "POST", "/v1/webhook-endpoints", key, fmt.Sprintf(`{"url":%q,"events":["message.bounced"]}`, srv.URL))
	if status != 400 || jsonField(t, body, "code") != "VALIDATION_FAILED" {
		t.Fatalf("unknown event: %d %s, want 400", status, body)
	}

	instanceID := createFastInstance(t, p, key, fake.URL, 4, true)
	const ana, bia = "5511987650011", "5511987650012"
	status, body = call(t, p.APIURL, "POST", "/v1/campaigns", key, fmt.Sprintf(`{"instanceId":%q,"message":"Oi","contacts":[%q,%q]}`, instanceID, ana, bia))
	mustStatus(t, "create campaign", status, body, 202)
	campaignID := jsonField(t, body, "data", "jobId")
	eventually(t, 90*time.Second, "the campaign completed while an endpoint is down", func(context.Context) (bool, error) {
		_, body := call(t, p.APIURL, "GET", "/v1/campaigns/"+campaignID, key, "")
		return jsonField(t, body, "data", "state") == "completed", nil
	})
	if code, err := fake.EmitMessage("tok", ana, "Quero"); err != nil || code != 200 {
		t.Fatalf("emit reply: %d, %v", code, err)
	}

	// Two sends and a reply, the first post answered 500 and retried.
	eventually(t, 90*time.Second, "three events delivered", func(context.Context) (bool, error) {
		delivered := map[string]bool{}
		for _, p := range hooks.got() {
			if p.Status == 200 {
				delivered[p.ID] = true
			}
		}
		return len(delivered) == 3, nil
	})
	posts := hooks.got()
	seen := map[string]int{}
	types := map[string]int{}
	for _, p := range posts {
		if !p.Valid {
			t.Errorf("post %s (%s): the signature does not verify", p.ID, p.Type)
		}
		if seen[p.ID]++; seen[p.ID] == 1 {
			types[p.Type]++
		}
	}
	if seen[posts[0].ID] != 2 || types["message.sent"] != 2 || types["message.replied"] != 1 {
		t.Fatalf("posts %+v: want the 500'd one retried under its id, 2 message.sent and 1 message.replied", posts)
	}

	var log struct {
		Data struct {
			Items []struct {
				Event, Status, EventID string
				Attempts               int
				LastStatus             *int
				LastError              *string
			}
		}
	}
	// The endpoint has its 200 before the deliverer records it: the log
	// catches up within a moment.
	eventually(t, 30*time.Second, "the delivery log shows three delivered", func(context.Context) (bool, error) {
		status, body = call(t, p.APIURL, "GET", "/v1/webhook-endpoints/"+endpointID+"/deliveries", key, "")
		mustStatus(t, "delivery log", status, body, 200)
		if err := json.Unmarshal(body, &log); err != nil || len(log.Data.Items) != 3 {
			t.Fatalf("delivery log = %s", body)
		}
		for _, it := range log.Data.Items {
			if it.Status != "delivered" {
				return false, nil
			}
		}
		return true, nil
	})
	for _, it := range log.Data.Items {
		if it.Status != "delivered" || it.LastStatus == nil || *it.LastStatus != 200 || (it.EventID == posts[0].ID) != (it.Attempts == 2) {
			t.Errorf("delivery %+v: want delivered, 2 attempts only for the one answered 500", it)
		}
	}
	status, body = call(t, p.APIURL, "GET", "/v1/webhook-endpoints/"+downID+"/deliveries", key, "")
	mustStatus(t, "down endpoint's log", status, body, 200)
	if err := json.Unmarshal(body, &log); err != nil || len(log.Data.Items) != 2 {
		t.Fatalf("down endpoint's log = %s", body)
	}
	for _, it := range log.Data.Items {
		// Refused at once: its first retry comes 5 s later, the next 5 min later.
		if it.Status != "pending" || it.Attempts > 2 || (it.Attempts > 0 && it.LastError == nil) {
			t.Errorf("down endpoint delivery %+v: want pending, waiting for its retries (at most 2 attempts yet)", it)
		}
	}
}

// TestTenantWebhooksNudgedByWriters runs the real binaries with the
// scheduler's tick switched off, so its relay never asks for a delivery
// run: the campaign worker's commits themselves ask for them. Each
// message.sent and the campaign.completed must reach the endpoint within
// 30 s of the campaign's creation, under one id each.
func TestTenantWebhooksNudgedByWriters(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	hooks := &hookReceiver{}
	srv := httptest.NewServer(hooks)
	t.Cleanup(srv.Close)
	cfg := e2eConfig(t, "wm-e2e-nudge-")
	cfg.ScheduleInterval = -1 // no tick: no relay
	cfg.Parameters["AllowPrivateWuzapi"] = "true"
	p := startPlatform(t, cfg)

	key := createTenant(t, p, "Nudge e2e", "enterprise")
	status, body := call(t, p.APIURL, "POST", "/v1/webhook-endpoints", key, fmt.Sprintf(`{"url":%q,"events":["message.sent","campaign.completed"]}`, srv.URL+"/hook"))
	mustStatus(t, "create endpoint", status, body, 201)
	hooks.mu.Lock()
	hooks.secret = jsonField(t, body, "data", "secret")
	hooks.posts = []hookPost{{Status: 200}} // answer 200 from the first real post
	hooks.mu.Unlock()
	instanceID := createFastInstance(t, p, key, fake.URL, 4, true)
	status, body = call(t, p.APIURL, "POST", "/v1/campaigns", key, fmt.Sprintf(`{"instanceId":%q,"message":"Oi","contacts":["5511987650021","5511987650022"]}`, instanceID))
	mustStatus(t, "create campaign", status, body, 202)

	eventually(t, 30*time.Second, "two message.sent and the campaign.completed delivered without the scheduler's relay", func(context.Context) (bool, error) {
		ids := map[string]bool{}
		for _, p := range hooks.got()[1:] {
			if p.Status == 200 && p.Valid {
				ids[p.ID+" "+p.Type] = true
			}
		}
		return len(ids) == 3, nil
	})
	seen := map[string]int{}
	types := map[string]int{}
	for _, p := range hooks.got()[1:] {
		if seen[p.ID]++; seen[p.ID] == 1 {
			types[p.Type]++
		}
	}
	if types["message.sent"] != 2 || types["campaign.completed"] != 1 {
		t.Fatalf("delivered %v: want 2 message.sent and 1 campaign.completed, one id each", types)
	}
}
