package local

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// TestRepliesEndToEnd runs replies through the real function binaries: a
// campaign sent through the fake WuzAPI, then the contacts write back
// through the fake's webhook. A message in the other Brazilian form (without
// the 9th digit) is a reply credited to the campaign, listed and counted;
// a STOP is an opt-out and no reply.
func TestRepliesEndToEnd(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	cfg := e2eConfig(t, "wm-e2e-replies-")
	cfg.ScheduleInterval = 2 * time.Second
	cfg.Parameters["AllowPrivateWuzapi"] = "true"
	p := startPlatform(t, cfg)

	key := createTenant(t, p, "Replies e2e", "enterprise")
	instanceID := createFastInstance(t, p, key, fake.URL, 4, true)

	const ana, bia, caio = "5511987650001", "5511987650002", "5511987650003"
	status, body := call(t, p.APIURL, "POST", "/v1/campaigns", key, fmt.Sprintf(`{"instanceId":%q,"message":"Oi {{name}}",
		"contacts":[{"phone":%q,"name":"Ana"},{"phone":%q,"name":"Bia"},{"phone":%q,"name":"Caio"}]}`, instanceID, ana, bia, caio))
	mustStatus(t, "create campaign", status, body, 202)
	campaignID := jsonField(t, body, "data", "jobId")
	var view struct {
		Data struct {
			State  string `json:"state"`
			Counts struct{ Sent, Replied int }
			Reply  float64 `json:"replyRate"`
		}
	}
	eventually(t, 90*time.Second, "the campaign completed", func(context.Context) (bool, error) {
		status, body := call(t, p.APIURL, "GET", "/v1/campaigns/"+campaignID, key, "")
		if status != 200 {
			return false, fmt.Errorf("GET campaign: %d %s", status, body)
		}
		err := json.Unmarshal(body, &view)
		return view.Data.State == "completed", err
	})

	// Ana writes from the form WhatsApp still knows without the 9th digit.
	if code, err := fake.EmitMessage("tok", "551187650001", "Quero saber mais"); err != nil || code != 200 {
		t.Fatalf("emit Ana's reply: %d, %v", code, err)
	}
	if code, err := fake.EmitMessage("tok", bia, "PARAR"); err != nil || code != 200 {
		t.Fatalf("emit Bia's STOP: %d, %v", code, err)
	}

	status, body = call(t, p.APIURL, "GET", "/v1/campaigns/"+campaignID+"/replies", key, "")
	mustStatus(t, "list replies", status, body, 200)
	var replies struct {
		Data struct {
			Items []struct{ Phone, Name, Text string }
		}
	}
	if err := json.Unmarshal(body, &replies); err != nil {
		t.Fatal(err)
	}
	if len(replies.Data.Items) != 1 || replies.Data.Items[0].Phone != ana || replies.Data.Items[0].Name != "Ana" ||
		replies.Data.Items[0].Text != "Quero saber mais" {
		t.Fatalf("replies = %s, want Ana's only (a STOP is no reply)", body)
	}
	status, body = call(t, p.APIURL, "GET", "/v1/campaigns/"+campaignID, key, "")
	mustStatus(t, "get campaign", status, body, 200)
	if err := json.Unmarshal(body, &view); err != nil || view.Data.Counts.Replied != 1 || view.Data.Counts.Sent != 3 || view.Data.Reply != 0.3333 {
		t.Fatalf("campaign = %s, want 1 of 3 replied", body)
	}
	status, body = call(t, p.APIURL, "GET", "/v1/campaigns/"+campaignID+"/status", key, "")
	mustStatus(t, "campaign status", status, body, 200)
	var st struct {
		Data struct {
			Result struct {
				Replied   int
				ReplyRate float64
			}
		}
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Data.Result.Replied != 1 || st.Data.Result.ReplyRate != 0.3333 {
		t.Fatalf("status = %s, want replied 1, replyRate 0.3333", body)
	}
}
