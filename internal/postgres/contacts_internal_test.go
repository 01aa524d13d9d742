package postgres

import (
	"encoding/json"
	"maps"
	"testing"
)

// TestAppendJSONObject: the attributes' JSON reads back as the map it was
// made from, whatever the text holds.
func TestAppendJSONObject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   map[string]string
		want map[string]string
	}{
		{"empty", nil, map[string]string{}},
		{"plain", map[string]string{"city": "São Paulo", "plan": "pro"}, nil},
		{"escapes", map[string]string{`a "q"`: `back\slash`, "nl": "a\nb\r\tc", "ctl": "\x01\x1f", "u": "\u2028 ☃ <&>"}, nil},
		{"invalid UTF-8", map[string]string{"k\xff": "v\xc3"}, map[string]string{"k\uFFFD": "v\uFFFD"}},
	} {
		want := tc.want
		if want == nil {
			want = tc.in
		}
		b := appendJSONObject(nil, tc.in)
		var got map[string]string
		if err := json.Unmarshal(b, &got); err != nil || !maps.Equal(got, want) {
			t.Errorf("%s: %s reads back as %q (%v); want %q", tc.name, b, got, err, want)
		}
	}
}
