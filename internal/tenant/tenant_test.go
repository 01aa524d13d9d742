package tenant

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestQuietHoursUntil(t *testing.T) {
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, sp) }
	tests := []struct {
		name   string
		q      QuietHours
		t      time.Time
		inside bool
		endsAt time.Time
	}{
		{"wrap evening", QuietHours{"21:00", "08:00"}, at(22, 30), true, time.Date(2026, 3, 11, 8, 0, 0, 0, sp)},
		{"wrap morning", QuietHours{"21:00", "08:00"}, at(7, 59), true, at(8, 0)},
		{"wrap end is open", QuietHours{"21:00", "08:00"}, at(8, 0), false, time.Time{}},
		{"wrap daytime", QuietHours{"21:00", "08:00"}, at(12, 0), false, time.Time{}},
		{"same day inside", QuietHours{"12:00", "14:00"}, at(13, 0), true, at(14, 0)},
		{"same day before", QuietHours{"12:00", "14:00"}, at(11, 59), false, time.Time{}},
		{"utc instant in tz", QuietHours{"21:00", "08:00"}, time.Date(2026, 3, 11, 1, 0, 0, 0, time.UTC), true, time.Date(2026, 3, 11, 8, 0, 0, 0, sp)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inside, end := tt.q.Until(tt.t, sp)
			if inside != tt.inside || !end.Equal(tt.endsAt) {
				t.Fatalf("Until(%v) = %v, %v; want %v, %v", tt.t, inside, end, tt.inside, tt.endsAt)
			}
		})
	}
}

func TestQuietHoursValidate(t *testing.T) {
	for _, q := range []QuietHours{{"25:00", "08:00"}, {"21:00", ""}, {"10:00", "10:00"}} {
		if q.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", q)
		}
	}
	if err := (QuietHours{"21:00", "08:00"}).Validate(); err != nil {
		t.Errorf("Validate(21:00-08:00) = %v", err)
	}
}

func TestNewAPIKey(t *testing.T) {
	plain, prefix, hash := NewAPIKey()
	if !strings.HasPrefix(plain, KeyPrefix) || !strings.HasPrefix(plain, prefix) {
		t.Fatalf("key %q, prefix %q", plain, prefix)
	}
	if !bytes.Equal(hash, HashKey(plain)) || len(hash) != 32 {
		t.Fatal("hash does not match HashKey")
	}
	other, _, _ := NewAPIKey()
	if other == plain {
		t.Fatal("two keys are equal")
	}
}

func TestPlanAndSettings(t *testing.T) {
	if PlanFree.RequestsPerMinute() != 100 || PlanPro.RequestsPerMinute() != 500 || PlanEnterprise.RequestsPerMinute() != 2000 {
		t.Fatal("plan allowances differ from the documented plans (docs/limits.md)")
	}
	if Plan("gold").Valid() || !PlanPro.Valid() {
		t.Fatal("plan validity")
	}
	if !ValidCountry("BR") || ValidCountry("br") || ValidCountry("XX") {
		t.Fatal("country validity")
	}
	if !ValidTimezone("America/Sao_Paulo") || ValidTimezone("Mars/Base") || ValidTimezone("") {
		t.Fatal("timezone validity")
	}
}
