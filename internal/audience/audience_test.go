package audience_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	many := func(n int, item string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(item, i)
		}
		return strings.Join(parts, ",")
	}
	for _, tc := range []struct {
		name, in    string
		field, code string // "" when valid
	}{
		{"all", `{"all":true}`, "", ""},
		{"nothing", `{}`, "audience", "invalid"},
		{"bad import", `{"importId":"x"}`, "audience.importId", "invalid"},
		{"days range", `{"excludeMessagedWithinDays":366}`, "audience.excludeMessagedWithinDays", "out_of_range"},
		{"negative days", `{"all":true,"excludeMessagedWithinDays":-1}`, "audience.excludeMessagedWithinDays", "out_of_range"},
		{"unknown op", `{"where":[{"attribute":"a","op":"like","value":"x"}]}`, "audience.where[0]", "unknown_op"},
		{"op injection", `{"where":[{"attribute":"a","op":"= 1 OR 1=1 --","value":"x"}]}`, "audience.where[0]", "unknown_op"},
		{"unknown field", `{"where":[{"field":"tenant_id","op":"eq","value":"x"}]}`, "audience.where[0]", "unknown_field"},
		{"field and attribute", `{"where":[{"field":"name","attribute":"a","op":"eq","value":"x"}]}`, "audience.where[0]", "invalid"},
		{"neither", `{"where":[{"op":"eq","value":"x"}]}`, "audience.where[0]", "invalid"},
		{"exists on field", `{"where":[{"field":"name","op":"exists"}]}`, "audience.where[0]", "unknown_op"},
		{"nested value", `{"where":[{"attribute":"a","op":"eq","value":{"a":[[[[1]]]]}}]}`, "audience.where[0]", "invalid_type"},
		{"missing value", `{"where":[{"attribute":"a","op":"eq"}]}`, "audience.where[0]", "invalid_type"},
		{"in not array", `{"where":[{"attribute":"a","op":"in","value":"x"}]}`, "audience.where[0]", "invalid_type"},
		{"in nested", `{"where":[{"attribute":"a","op":"in","value":[["x"]]}]}`, "audience.where[0]", "invalid_type"},
		{"in empty", `{"where":[{"attribute":"a","op":"in","value":[]}]}`, "audience.where[0]", "out_of_range"},
		{"in at bound", `{"where":[{"attribute":"a","op":"in","value":[` + many(100, `"v%d"`) + `]}]}`, "", ""},
		{"huge in", `{"where":[{"attribute":"a","op":"in","value":[` + many(100_000, `"v%d"`) + `]}]}`, "audience.where[0]", "out_of_range"},
		{"too many conditions", `{"where":[` + many(21, `{"attribute":"a%d","op":"exists"}`) + `]}`, "audience.where", "too_many"},
		{"long value", `{"where":[{"attribute":"a","op":"eq","value":"` + strings.Repeat("x", 257) + `"}]}`, "audience.where[0]", "invalid"},
		{"long attribute", `{"where":[{"attribute":"` + strings.Repeat("x", 65) + `","op":"exists"}]}`, "audience.where[0]", "invalid"},
		{"NUL attribute", `{"where":[{"attribute":"a\u0000","op":"exists"}]}`, "audience.where[0]", "invalid"},
		{"bad time", `{"where":[{"field":"createdAt","op":"gt","value":"yesterday"}]}`, "audience.where[0]", "invalid"},
		{"too many tags", `{"tags":{"any":[` + many(51, `"t%d"`) + `]}}`, "audience.tags.any", "too_many"},
		{"tag with separator", `{"tags":{"none":["a|b"]}}`, "audience.tags.none", "invalid_tag"},
		{"long tag", `{"tags":{"all":["` + strings.Repeat("é", 65) + `"]}}`, "audience.tags.all", "invalid_tag"},
		{"combined", `{"importId":"01900000-0000-7000-8000-000000000000","tags":{"any":["a"]},"where":[{"attribute":"n","op":"gt","value":3}],"excludeMessagedWithinDays":7}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var a audience.Audience
			if err := json.Unmarshal([]byte(tc.in), &a); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			var v errcode.Validator
			a.Validate(&v, "audience")
			err := v.Err()
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Validate(%.200s) = %v; want valid", tc.in, err)
				}
				return
			}
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code != errcode.ValidationFailed || len(e.Details) != 1 ||
				e.Details[0].Field != tc.field || e.Details[0].Code != tc.code {
				t.Fatalf("Validate(%.200s) = %v; want %s %s", tc.in, err, tc.field, tc.code)
			}
		})
	}
}

func TestNormalizeTags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want string
		code string
	}{
		{[]string{" vip ", "vip", "", "SP"}, "[vip SP]", ""},
		{[]string{"a\tb"}, "", "invalid_tag"},
		{[]string{"a\x00"}, "", "invalid_tag"},
		{[]string{"\xff"}, "", "invalid_tag"},
		{strings.Split(strings.Repeat("x|", 60), "|"), "[x]", ""},
	} {
		got, code, _ := audience.NormalizeTags(tc.in)
		if code != tc.code || (code == "" && fmt.Sprint(got) != tc.want) {
			t.Fatalf("NormalizeTags(%q) = %v %q; want %s %q", tc.in, got, code, tc.want, tc.code)
		}
	}
	if got := audience.SplitTags(" a | b|"); fmt.Sprint(got) != "[ a   b ]" {
		t.Fatalf("SplitTags = %q", got)
	}
}
