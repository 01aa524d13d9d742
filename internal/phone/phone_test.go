package phone_test

import (
	"errors"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/phone"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, country string
		want, code         string
	}{
		{"national BR mobile", "(11) 99999-8888", "BR", "5511999998888", ""},
		{"plus and spaces", "+55 11 99999-8888", "US", "5511999998888", ""},
		{"digits with country code", "5511999998888", "BR", "5511999998888", ""},
		{"international prefix 00", "0044 7911 123456", "PT", "447911123456", ""},
		{"portugal national", "912 345 678", "PT", "351912345678", ""},
		{"us number", "+1 (415) 555-2671", "BR", "14155552671", ""},
		{"empty", "  ", "BR", "", phone.CodeInvalidPhone},
		{"letters", "call me", "BR", "", phone.CodeInvalidPhone},
		{"too short", "123", "BR", "", phone.CodeTooShort},
		{"too long", "+55 11 99999 8888 7777 6666", "BR", "", phone.CodeTooLong},
		{"unknown calling code", "+999 1234 5678", "BR", "", phone.CodeInvalidCountry},
		{"no default country", "11999998888", "", "", phone.CodeInvalidCountry},
		{"invalid for region", "+55 00 0000-0000", "BR", "", phone.CodeInvalidPhone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, code, err := phone.Normalize(tt.raw, tt.country)
			if got != tt.want || code != tt.code {
				t.Fatalf("Normalize(%q, %q) = %q, %q, %v; want %q, %q", tt.raw, tt.country, got, code, err, tt.want, tt.code)
			}
			if (code != "") != (err != nil) || (err != nil && !errors.Is(err, phone.ErrInvalid)) {
				t.Fatalf("Normalize(%q) error = %v with code %q", tt.raw, err, code)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	for b.Loop() {
		if _, _, err := phone.Normalize("5511999998888", "BR"); err != nil {
			b.Fatal(err)
		}
	}
}
