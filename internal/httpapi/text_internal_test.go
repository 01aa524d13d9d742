package httpapi

import "testing"

func TestBadTextField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field string
		bad               bool
	}{
		{"clean", `{"name":"Olá \u00e9 ok","n":[1,"x"]}`, "", false},
		{"escaped backslash then u0000 is text", `{"name":"a\\u0000"}`, "", false},
		{"lone surrogate escape decodes to U+FFFD", `{"name":"\ud800"}`, "", false},
		{"NUL escape", `{"name":"a\u0000b"}`, "name", true},
		{"raw invalid byte", "{\"name\":\"a\xffb\"}", "name", true},
		{"nested", `{"contacts":[{"phone":"1"},{"phone":"2","name":"\u0000"}]}`, "contacts[1].name", true},
		{"after a nested value", `{"a":{"b":[1,{"c":2}]},"d":"\u0000"}`, "d", true},
		{"key", `{"x":{"k\u0000":1}}`, "x", true},
		{"top-level key", `{"k\u0000":1}`, "(body)", true},
		{"top-level string", `"\u0000"`, "(body)", true},
		{"array root", `[[],"ok","\u0000"]`, "[2]", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field, bad := badTextField([]byte(tt.body))
			if field != tt.field || bad != tt.bad {
				t.Fatalf("badTextField(%q) = %q, %v; want %q, %v", tt.body, field, bad, tt.field, tt.bad)
			}
		})
	}
}
