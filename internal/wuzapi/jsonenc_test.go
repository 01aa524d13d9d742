package wuzapi

import (
	"encoding/json"
	"testing"
)

// FuzzAppendSendText: the hand-written body of a text send is byte for
// byte encoding/json's.
func FuzzAppendSendText(f *testing.F) {
	for _, s := range []string{"", "hi", "Olá <b>&amp;</b>", "\"\\/\b\f\n\r\t\x00\x1f\x7f", "\u2028\u2029", "\xff\xfe", "a\xc3", "😀 {{name}}"} {
		f.Add("5511999998888", s, "3EB0AABBCCDDEEFF001122")
		f.Add("+55 11", s, "")
	}
	f.Fuzz(func(t *testing.T, phone, body, id string) {
		want, err := json.Marshal(struct {
			Phone string `json:"Phone"`
			Body  string `json:"Body"`
			ID    string `json:"Id,omitempty"`
		}{phone, body, id})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendSendText(nil, phone, body, id); string(got) != string(want) {
			t.Fatalf("appendSendText(%q, %q, %q) = %s, encoding/json %s", phone, body, id, got, want)
		}
	})
}
