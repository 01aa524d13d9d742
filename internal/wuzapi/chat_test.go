package wuzapi_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

func TestCheckUsers(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		var opts []wuzapitest.Option
		if legacy {
			opts = append(opts, wuzapitest.Legacy())
		}
		fake := wuzapitest.New(t, opts...)
		fake.AddUser("tok", wuzapitest.Ready)
		fake.NotOnWhatsApp("5511900000002")
		fake.SetJID("5511987654321", "551187654321@s.whatsapp.net")
		c := wuzapi.New(fake.URL, "tok", nil)
		got, err := c.CheckUsers(context.Background(), []string{"5511900000001", "+5511900000002", "5511987654321"})
		if err != nil {
			t.Fatalf("legacy=%v: CheckUsers: %v", legacy, err)
		}
		want := map[string]struct {
			in    bool
			phone string
		}{
			"5511900000001":  {true, "5511900000001"},
			"+5511900000002": {false, "5511900000002"},
			"5511987654321":  {true, "551187654321"},
		}
		if len(got) != len(want) {
			t.Fatalf("legacy=%v: answers %+v", legacy, got)
		}
		for p, w := range want {
			if got[p].IsInWhatsapp != w.in || got[p].Phone() != w.phone {
				t.Fatalf("legacy=%v: %s = %+v (phone %q), want in=%v phone %s", legacy, p, got[p], got[p].Phone(), w.in, w.phone)
			}
		}
		checks := fake.Checks()
		if len(checks) != 1 || fmt.Sprint(checks[0].Phones) != "[+5511900000001 +5511900000002 +5511987654321]" {
			t.Fatalf("legacy=%v: the server was asked %+v", legacy, checks)
		}
	}
}

func TestCheckUsersBatchBound(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	c := wuzapi.New(fake.URL, "tok", nil)
	for _, n := range []int{0, wuzapi.MaxCheckBatch + 1} {
		ps := make([]string, n)
		for i := range ps {
			ps[i] = fmt.Sprintf("55119000%05d", i)
		}
		_, err := c.CheckUsers(context.Background(), ps)
		if wuzapi.ClassOf(err) != wuzapi.Permanent {
			t.Fatalf("%d phones: %v, want a permanent error", n, err)
		}
	}
	if len(fake.Checks()) != 0 {
		t.Fatal("a refused batch reached the server")
	}
	ps := make([]string, wuzapi.MaxCheckBatch)
	for i := range ps {
		ps[i] = fmt.Sprintf("55119000%05d", i)
	}
	if got, err := c.CheckUsers(context.Background(), ps); err != nil || len(got) != wuzapi.MaxCheckBatch {
		t.Fatalf("a full batch: %d answers, %v", len(got), err)
	}
}

func TestCheckUsersSocketDown(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.State{Session: true, LoggedIn: true})
	_, err := wuzapi.New(fake.URL, "tok", nil).CheckUsers(context.Background(), []string{"5511900000001"})
	var e *wuzapi.Error
	if !errors.As(err, &e) || e.Kind != wuzapi.KindNotConnected || e.Class != wuzapi.NotReady || e.Path != "/user/check" {
		t.Fatalf("check with the socket down: %#v", err)
	}
}

func TestChatPresence(t *testing.T) {
	t.Parallel()
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	c := wuzapi.New(fake.URL, "tok", nil)
	ctx := context.Background()
	if err := c.ChatPresence(ctx, "+5511900000001", wuzapi.Composing); err != nil {
		t.Fatal(err)
	}
	if err := c.ChatPresence(ctx, "5511900000001", wuzapi.Paused); err != nil {
		t.Fatal(err)
	}
	p := fake.Presences()
	if len(p) != 2 || p[0].Phone != "5511900000001" || p[0].State != "composing" || p[1].State != "paused" || p[0].Token != "tok" {
		t.Fatalf("presences %+v", p)
	}
	if err := c.ChatPresence(ctx, "5511900000001", ""); wuzapi.KindOf(err) != wuzapi.KindRejected {
		t.Fatalf("empty state: %v", err)
	}
	fake.SetState("tok", wuzapitest.State{Session: true, LoggedIn: true})
	if err := c.ChatPresence(ctx, "5511900000001", wuzapi.Composing); wuzapi.KindOf(err) != wuzapi.KindServerError || wuzapi.ClassOf(err) != wuzapi.Transient {
		t.Fatalf("presence with the socket down: %v", err)
	}
	fake.SetState("tok", wuzapitest.State{})
	if err := c.ChatPresence(ctx, "5511900000001", wuzapi.Composing); wuzapi.KindOf(err) != wuzapi.KindNoSession {
		t.Fatalf("presence without a session: %v", err)
	}
}

func TestUserCheckPhone(t *testing.T) {
	t.Parallel()
	tests := []struct{ jid, want string }{
		{"5511987654321@s.whatsapp.net", "5511987654321"},
		{"551187654321@s.whatsapp.net", "551187654321"},
		{"5511987654321:12@s.whatsapp.net", "5511987654321"},
		{"123456789012345@lid", ""},
		{"", ""},
		{"abc@s.whatsapp.net", ""},
		{"@s.whatsapp.net", ""},
	}
	for _, tt := range tests {
		if got := (wuzapi.UserCheck{JID: tt.jid}).Phone(); got != tt.want {
			t.Errorf("Phone of %q = %q, want %q", tt.jid, got, tt.want)
		}
	}
}
