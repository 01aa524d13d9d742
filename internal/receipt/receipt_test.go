package receipt_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
)

func form(jsonData string, extra ...string) string {
	v := url.Values{"jsonData": {jsonData}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v.Encode()
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const formCT = "application/x-www-form-urlencoded"

func TestParse(t *testing.T) {
	t.Parallel()
	readReceipt := testdata(t, "read-receipt.json")
	stopLid := testdata(t, "stop-lid.json")
	ban := testdata(t, "temporary-ban.json")
	at := time.Date(2026, 11, 25, 13, 0, 5, 0, time.UTC)
	tests := []struct {
		name string
		ct   string
		body string
		want receipt.Event
	}{
		{"read receipt, form, several ids deduplicated", formCT, form(readReceipt, "userID", "u1", "instanceName", "sales"),
			receipt.Event{Type: "ReadReceipt", Kind: receipt.Receipt, State: receipt.Read, At: at,
				MessageIDs: []string{"3EB0A1B2C3D4E5F6A7B8C9", "3EB0FFFFFFFFFFFFFFFFFF"}}},
		{"read receipt, legacy token form", formCT, form(readReceipt, "token", "t1"),
			receipt.Event{Type: "ReadReceipt", Kind: receipt.Receipt, State: receipt.Read, At: at,
				MessageIDs: []string{"3EB0A1B2C3D4E5F6A7B8C9", "3EB0FFFFFFFFFFFFFFFFFF"}}},
		{"delivered, JSON mode with userID", "application/json",
			`{"type":"ReadReceipt","state":"Delivered","event":{"MessageIDs":["3EB0AA"],"Timestamp":"2026-11-25T13:00:00Z","Type":""},"userID":"u1","instanceName":"x"}`,
			receipt.Event{Type: "ReadReceipt", Kind: receipt.Receipt, State: receipt.Delivered, At: at.Add(-5 * time.Second), MessageIDs: []string{"3EB0AA"}}},
		{"delivered, old server without state", "", form(`{"type":"ReadReceipt","event":{"MessageIDs":["3EB0AB"],"Type":""}}`),
			receipt.Event{Type: "ReadReceipt", Kind: receipt.Receipt, State: receipt.Delivered, MessageIDs: []string{"3EB0AB"}}},
		{"read-self is ignored", formCT, form(`{"type":"ReadReceipt","state":"ReadSelf","event":{"MessageIDs":["3EB0AC"],"Type":"read-self"}}`),
			receipt.Event{Type: "ReadReceipt"}},
		{"receipt without ids is ignored", formCT, form(`{"type":"ReadReceipt","state":"Read","event":{"MessageIDs":[""]}}`),
			receipt.Event{Type: "ReadReceipt"}},
		{"STOP from a device JID", formCT, form(`{"type":"Message","event":{"Info":{"Sender":"5511999998888:12@s.whatsapp.net","Chat":"5511999998888@s.whatsapp.net","IsFromMe":false},"Message":{"conversation":"stop"}}}`),
			receipt.Event{Type: "Message", Kind: receipt.OptOut, Phone: "5511999998888"}},
		{"PARAR from a @lid sender with SenderAlt", formCT, form(stopLid),
			receipt.Event{Type: "Message", Kind: receipt.OptOut, Phone: "5511999998888", At: at.Add(-5 * time.Second)}},
		{"SAIR and CANCELAR", "application/json", `{"type":"Message","event":{"Info":{"Sender":"351912345678@s.whatsapp.net"},"Message":{"conversation":"Cancelar"}}}`,
			receipt.Event{Type: "Message", Kind: receipt.OptOut, Phone: "351912345678"}},
		{"STOP from me is ignored", formCT, form(`{"type":"Message","event":{"Info":{"Sender":"5511999998888@s.whatsapp.net","IsFromMe":true},"Message":{"conversation":"STOP"}}}`),
			receipt.Event{Type: "Message"}},
		{"STOP in a group is ignored", formCT, form(`{"type":"Message","event":{"Info":{"Sender":"5511999998888@s.whatsapp.net","Chat":"1203@g.us","IsGroup":true},"Message":{"conversation":"STOP"}}}`),
			receipt.Event{Type: "Message"}},
		{"other text is no opt-out but makes a known contact", formCT, form(`{"type":"Message","event":{"Info":{"Sender":"5511999998888@s.whatsapp.net"},"Message":{"conversation":"please stop now"}}}`),
			receipt.Event{Type: "Message", Kind: receipt.Incoming, Phone: "5511999998888", Text: "please stop now"}},
		{"a reply keeps its text and message id", formCT, form(`{"type":"Message","event":{"Info":{"ID":"3EB0AA","Sender":"5511999998888@s.whatsapp.net"},"Message":{"extendedTextMessage":{"text":"Quero sim"}}}}`),
			receipt.Event{Type: "Message", Kind: receipt.Incoming, Phone: "5511999998888", Text: "Quero sim", MessageID: "3EB0AA"}},
		{"a photo's caption is its text", formCT, form(`{"type":"Message","event":{"Info":{"ID":"3EB0AB","Sender":"5511999998888@s.whatsapp.net"},"Message":{"imageMessage":{"caption":"olha"}}}}`),
			receipt.Event{Type: "Message", Kind: receipt.Incoming, Phone: "5511999998888", Text: "olha", MessageID: "3EB0AB"}},
		{"@lid without SenderAlt opts nobody out", formCT, form(`{"type":"Message","event":{"Info":{"Sender":"1234567890@lid"},"Message":{"conversation":"STOP"}}}`),
			receipt.Event{Type: "Message"}},
		{"logged out", formCT, form(`{"type":"LoggedOut","event":{"OnConnect":true,"Reason":401}}`),
			receipt.Event{Type: "LoggedOut", Kind: receipt.Blocked, Reason: receipt.ReasonLoggedOut}},
		{"temporary ban", formCT, form(ban),
			receipt.Event{Type: "TemporaryBan", Kind: receipt.Blocked, Reason: receipt.ReasonTemporaryBan, BanFor: time.Hour, BanCode: 101}},
		{"connected", formCT, form(`{"type":"Connected","event":{}}`),
			receipt.Event{Type: "Connected", Kind: receipt.Unblocked}},
		{"unknown type is ignored", formCT, form(`{"type":"Presence","event":{"From":"x"}}`),
			receipt.Event{Type: "Presence"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := receipt.Parse(tt.ct, []byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got.Payload) == 0 || got.Payload[0] != '{' {
				t.Errorf("Payload = %q, want the event JSON", got.Payload)
			}
			got.Payload = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%s)\n got %+v\nwant %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct{ ct, body string }{
		"empty":              {formCT, ""},
		"form without data":  {formCT, "token=abc"},
		"jsonData not JSON":  {formCT, form("{nope")},
		"no type":            {"application/json", `{"event":{}}`},
		"receipt ids wrong":  {"application/json", `{"type":"ReadReceipt","state":"Read","event":{"MessageIDs":"x"}}`},
		"JSON body not JSON": {"application/json", `{"type":`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := receipt.Parse(tt.ct, []byte(tt.body)); !errors.Is(err, receipt.ErrMalformed) {
				t.Fatalf("Parse(%q) err = %v, want ErrMalformed", tt.body, err)
			}
		})
	}
}

func TestPhoneOf(t *testing.T) {
	t.Parallel()
	for jid, want := range map[string]string{
		"5511999998888@s.whatsapp.net":     "5511999998888",
		"5511999998888:3@s.whatsapp.net":   "5511999998888",
		"5511999998888.0:3@s.whatsapp.net": "5511999998888",
		"+5511999998888":                   "5511999998888",
		"123456789012345@lid":              "",
		"120363@g.us":                      "",
		"abc@s.whatsapp.net":               "",
		"":                                 "",
	} {
		if got := receipt.PhoneOf(jid); got != want {
			t.Errorf("PhoneOf(%q) = %q, want %q", jid, got, want)
		}
	}
}

type call struct {
	Method string
	Args   []any
}

type fakeStore struct{ calls []call }

func (f *fakeStore) ApplyReceipt(_ context.Context, instanceID string, ids []string, state receipt.State, at time.Time) (int, error) {
	f.calls = append(f.calls, call{"ApplyReceipt", []any{instanceID, ids, state, at}})
	return len(ids) - 1, nil
}
func (f *fakeStore) OptOutContact(_ context.Context, tenantID, phone string, at time.Time) error {
	f.calls = append(f.calls, call{"OptOutContact", []any{tenantID, phone, at}})
	return nil
}
func (f *fakeStore) BlockInstance(_ context.Context, id, reason string, at, until time.Time) error {
	f.calls = append(f.calls, call{"BlockInstance", []any{id, reason, at, until}})
	return nil
}
func (f *fakeStore) UnblockInstance(_ context.Context, id string) error {
	f.calls = append(f.calls, call{"UnblockInstance", []any{id}})
	return nil
}
func (f *fakeStore) RememberContact(_ context.Context, id, phone string, at time.Time) error {
	f.calls = append(f.calls, call{"RememberContact", []any{id, phone, at}})
	return nil
}
func (f *fakeStore) RecordReply(_ context.Context, inst receipt.Instance, phone, text, messageID string, at time.Time) (string, error) {
	f.calls = append(f.calls, call{"RecordReply", []any{inst.ID, phone, text, messageID, at}})
	return "", nil
}
func (f *fakeStore) SetBanCode(_ context.Context, id string, code int) error {
	f.calls = append(f.calls, call{"SetBanCode", []any{id, code}})
	return nil
}

func TestApply(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	inst := receipt.Instance{ID: "i1", TenantID: "t1"}
	ts := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		ev      receipt.Event
		want    []call
		matched int
	}{
		{"receipt with its own time", receipt.Event{Kind: receipt.Receipt, State: receipt.Read, At: ts, MessageIDs: []string{"a", "b"}},
			[]call{{"ApplyReceipt", []any{"i1", []string{"a", "b"}, receipt.Read, ts}}}, 1},
		{"receipt without time is stamped now", receipt.Event{Kind: receipt.Receipt, State: receipt.Delivered, MessageIDs: []string{"a"}},
			[]call{{"ApplyReceipt", []any{"i1", []string{"a"}, receipt.Delivered, now}}}, 0},
		{"opt-out in the instance's tenant", receipt.Event{Kind: receipt.OptOut, Phone: "5511999998888"},
			[]call{{"OptOutContact", []any{"t1", "5511999998888", now}}, {"RememberContact", []any{"i1", "5511999998888", now}}}, 0},
		{"an incoming message makes a known contact and may be a reply", receipt.Event{Kind: receipt.Incoming, Phone: "5511999998888",
			Text: "quero", MessageID: "M1", At: ts},
			[]call{{"RememberContact", []any{"i1", "5511999998888", ts}}, {"RecordReply", []any{"i1", "5511999998888", "quero", "M1", ts}}}, 0},
		{"ban with a code", receipt.Event{Kind: receipt.Blocked, Reason: receipt.ReasonTemporaryBan, BanCode: 104},
			[]call{{"BlockInstance", []any{"i1", receipt.ReasonTemporaryBan, now, time.Time{}}}, {"SetBanCode", []any{"i1", 104}}}, 0},
		{"ban with expiry", receipt.Event{Kind: receipt.Blocked, Reason: receipt.ReasonTemporaryBan, BanFor: time.Hour},
			[]call{{"BlockInstance", []any{"i1", receipt.ReasonTemporaryBan, now, now.Add(time.Hour)}}}, 0},
		{"logged out", receipt.Event{Kind: receipt.Blocked, Reason: receipt.ReasonLoggedOut},
			[]call{{"BlockInstance", []any{"i1", receipt.ReasonLoggedOut, now, time.Time{}}}}, 0},
		{"connected", receipt.Event{Kind: receipt.Unblocked}, []call{{"UnblockInstance", []any{"i1"}}}, 0},
		{"ignored changes nothing", receipt.Event{Kind: receipt.Ignored, Type: "Presence"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fakeStore{}
			res, err := receipt.Apply(context.Background(), s, inst, tt.ev, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.calls, tt.want) || res.Matched != tt.matched || res.Kind != tt.ev.Kind {
				t.Fatalf("calls = %+v (result %+v)\nwant %+v (matched %d)", s.calls, res, tt.want, tt.matched)
			}
		})
	}
}
