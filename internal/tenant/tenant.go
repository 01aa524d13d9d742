// Package tenant holds what a tenant is: plans, settings, quiet hours and API
// keys. It knows nothing of storage.
package tenant

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Plan is a tenant's subscription plan; it sets the API rate limit.
type Plan string

// The plans.
const (
	PlanFree       Plan = "free"
	PlanPro        Plan = "pro"
	PlanEnterprise Plan = "enterprise"
)

// Valid reports whether p is a known plan.
func (p Plan) Valid() bool {
	return p == PlanFree || p == PlanPro || p == PlanEnterprise
}

// RequestsPerMinute is the plan's API allowance.
func (p Plan) RequestsPerMinute() int {
	switch p {
	case PlanPro:
		return 500
	case PlanEnterprise:
		return 2000
	default:
		return 100
	}
}

// MaxInstances is how many WuzAPI instances a tenant of the plan may hold.
func (p Plan) MaxInstances() int {
	switch p {
	case PlanPro:
		return 10
	case PlanEnterprise:
		return 100
	default:
		return 2
	}
}

// MaxOpenCampaigns is how many campaigns a tenant of the plan may hold
// scheduled, queued, running or paused at once.
func (p Plan) MaxOpenCampaigns() int {
	switch p {
	case PlanPro:
		return 50
	case PlanEnterprise:
		return 500
	default:
		return 5
	}
}

// Tenant is one customer account.
type Tenant struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Plan           Plan        `json:"plan"`
	DefaultCountry string      `json:"defaultCountry"`
	Timezone       string      `json:"timezone"`
	QuietHours     *QuietHours `json:"quietHours"`
	CreatedAt      time.Time   `json:"createdAt"`
}

// Location returns the tenant's time zone, UTC when it cannot be loaded.
func (t Tenant) Location() *time.Location {
	if loc, err := time.LoadLocation(t.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// ValidTimezone reports whether tz is an IANA time zone name.
func ValidTimezone(tz string) bool {
	if tz == "" || tz == "Local" {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

// ValidCountry reports whether c is an ISO 3166 alpha-2 region phone numbers
// know, such as "BR".
func ValidCountry(c string) bool {
	return len(c) == 2 && c == strings.ToUpper(c) && phonenumbers.GetCountryCodeForRegion(c) != 0
}

// QuietHours is a daily window, in the tenant's time zone, during which no
// message is sent. Start after End wraps past midnight (21:00–08:00).
type QuietHours struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// parseClock reads "HH:MM" into minutes after midnight.
func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Validate checks both ends are HH:MM and differ.
func (q QuietHours) Validate() error {
	s, err := parseClock(q.Start)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	e, err := parseClock(q.End)
	if err != nil {
		return fmt.Errorf("end: %w", err)
	}
	if s == e {
		return fmt.Errorf("start and end are both %s", q.Start)
	}
	return nil
}

// Until reports whether t falls inside the window in loc and, if so, when the
// window ends. Invalid windows never hold sends.
func (q QuietHours) Until(t time.Time, loc *time.Location) (bool, time.Time) {
	s, err1 := parseClock(q.Start)
	e, err2 := parseClock(q.End)
	if err1 != nil || err2 != nil || s == e {
		return false, time.Time{}
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	midnight := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	end := func(dayOffset int) time.Time {
		return midnight.AddDate(0, 0, dayOffset).Add(time.Duration(e) * time.Minute)
	}
	switch {
	case s < e && m >= s && m < e: // same-day window
		return true, end(0)
	case s > e && m >= s: // wraps: evening part
		return true, end(1)
	case s > e && m < e: // wraps: morning part
		return true, end(0)
	}
	return false, time.Time{}
}

// KeyPrefix starts every tenant API key, so a leaked key is recognisable.
const KeyPrefix = "wm_"

// NewAPIKey returns a new random API key, its display prefix and its hash.
// Only the hash and the prefix are stored.
func NewAPIKey() (plain, prefix string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	plain = KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return plain, plain[:len(KeyPrefix)+8], HashKey(plain)
}

// HashKey is the SHA-256 of a plain key, as stored.
func HashKey(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}
