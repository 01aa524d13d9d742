package phone_test

import (
	"errors"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/phone"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, country, want, code string
	}{
		{"BR mobile national with formatting", "(11) 99999-8888", "BR", "5511999998888", ""},
		{"BR mobile with plus", "+55 11 99999-8888", "BR", "5511999998888", ""},
		{"BR digits with country code, no plus", "5511999998888", "BR", "5511999998888", ""},
		{"00 international prefix", "0055 11 99999 8888", "US", "5511999998888", ""},
		{"US number", "+1 (202) 456-1111", "BR", "12024561111", ""},
		{"PT national", "912 345 678", "PT", "351912345678", ""},
		{"lower-case country", "912345678", "pt", "351912345678", ""},
		{"surrounding space", "  +351912345678 ", "BR", "351912345678", ""},
		{"empty", "   ", "BR", "", phone.CodeEmpty},
		{"letters", "call me", "BR", "", phone.CodeNotANumber},
		{"too short", "123", "BR", "", phone.CodeTooShort},
		{"too long input", "+55 11 99999 8888 99999 8888 99999 8888 99999 8888 99999 8888 99999", "BR", "", phone.CodeTooLong},
		{"unknown country code", "+999 1234 5678", "BR", "", phone.CodeInvalidCountryCode},
		{"no region, national", "11999998888", "", "", phone.CodeInvalidCountryCode},
		{"invalid BR number", "+55 11 1234", "BR", "", phone.CodeTooShort},
		{"valid length, invalid range", "+55 00 99999 8888", "BR", "", phone.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, code, err := phone.Normalize(tt.raw, tt.country)
			if got != tt.want || code != tt.code {
				t.Fatalf("Normalize(%q, %q) = %q, %q, %v; want %q, %q", tt.raw, tt.country, got, code, err, tt.want, tt.code)
			}
			if (err != nil) != (tt.code != "") || (err != nil && !errors.Is(err, phone.ErrInvalid)) {
				t.Fatalf("Normalize(%q) err = %v; want ErrInvalid iff a code", tt.raw, err)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	raws := []string{"(11) 99999-8888", "+55 21 98888-7777", "5511912345678", "11 3333-4444"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, err := phone.Normalize(raws[i%len(raws)], "BR"); err != nil {
			b.Fatal(err)
		}
	}
}
