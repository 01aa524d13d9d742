package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

var seeds = []string{"", "hi", "Olá <b>&amp;</b>", "\"\\/\b\f\n\r\t\x00\x1f\x7f", "\u2028\u2029", "\xff\xfe", "a\xc3", "😀 {{name}}", "\xed\xa0\x80"}

// FuzzAppend: both quotings are byte for byte encoding/json's.
func FuzzAppend(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := Append([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("Append(%q) = %s, encoding/json without HTML escaping %s", s, got[1:], want)
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendHTMLSafe(nil, s); string(got) != string(want) {
			t.Fatalf("AppendHTMLSafe(%q) = %s, json.Marshal %s", s, got, want)
		}
	})
}

func TestAppendAllocatesNothingWithRoom(t *testing.T) {
	dst := make([]byte, 0, 256)
	s := "Olá <b>\"quoted\"</b>\n\u2028 😀"
	if n := testing.AllocsPerRun(100, func() { _ = Append(dst[:0], s); _ = AppendHTMLSafe(dst[:0], s) }); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
