package campaign

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// The health states of an instance, worst first: what stops it sending.
const (
	HealthBanned       = "banned"       // a TemporaryBan until it expires: no sends at all
	HealthLoggedOut    = "logged_out"   // a LoggedOut event: no sends until paired again
	HealthDisconnected = "disconnected" // WuzAPI unreachable, not connected or not paired
	HealthLocked       = "locked"       // a reach-out lock: no first messages to new contacts
	HealthPaused       = "paused"       // the delivery guard: no first messages to new contacts
	HealthOK           = "ok"
)

// Delivery rate: the delivered share of an instance's last DeliveryRateWindow
// sends older than GuardAge (receipts take time), unknown with fewer than
// DeliveryRateMin of them.
const (
	DeliveryRateWindow = 50
	DeliveryRateMin    = 10
)

// Today is an instance's sending of the current calendar day (tenant time
// zone), as the fleet-wide send limiter counted it: every granted send,
// the first messages to new contacts among them, and the day's budgets
// (warm-up included).
type Today struct {
	Sent              int `json:"sent"`
	NewContacts       int `json:"newContacts"`
	NewContactsBudget int `json:"newContactsBudget"`
	DailyCap          int `json:"dailyCap"`
	// NewContactsLast24h: first messages in the last 24 hours; the budget
	// bounds them too.
	NewContactsLast24h int `json:"-"`
}

// NewContactsLeft is how many more new contacts the instance may message
// now: the day's budget less the most of today's first messages and the
// last 24 hours'.
func (t Today) NewContactsLeft() int {
	return max(t.NewContactsBudget-max(t.NewContacts, t.NewContactsLast24h), 0)
}

// BudgetReader reads an instance's counts of the day from the send limiter.
type BudgetReader interface {
	Today(ctx context.Context, p SendPolicy) (Today, error)
}

// InstanceStatus is what storage knows of an instance's ability to send.
type InstanceStatus struct {
	Blocked      string // "logged_out", "temporary_ban" or ""
	BanCode      *int
	BlockedUntil *time.Time
	// Connected and LoggedIn are the last WuzAPI session check (nil: never
	// checked); SessionError, when set, is why the session could not be
	// read just now (a person's sentence).
	Connected, LoggedIn *bool
	SessionError        string
	Lane                Lane
	// Delivered of Settled: the instance's last DeliveryRateWindow sends
	// older than GuardAge and how many of them have a delivery receipt.
	Delivered, Settled int
}

// Health is an instance's health as the API shows it.
type Health struct {
	State        string     `json:"state"`
	Reason       *string    `json:"reason"`
	Until        *time.Time `json:"until"`
	Today        *Today     `json:"today"`
	DeliveryRate *float64   `json:"deliveryRate"`
}

// Health is the instance's health at now: the worst state that applies,
// with a reason written for a person. today is nil when the limiter could
// not answer.
func (s InstanceStatus) Health(id string, today *Today, now time.Time) Health {
	h := Health{State: HealthOK, Today: today}
	if s.Settled >= DeliveryRateMin {
		r := float64(s.Delivered) / float64(s.Settled)
		h.DeliveryRate = &r
	}
	state, reason, until := s.state(id, now)
	h.State, h.Until = state, until
	if reason != "" {
		h.Reason = &reason
	}
	return h
}

// state picks the worst state that applies at now.
func (s InstanceStatus) state(id string, now time.Time) (state, reason string, until *time.Time) {
	blocked := s.Blocked != "" && (s.BlockedUntil == nil || s.BlockedUntil.After(now))
	switch {
	case blocked && s.Blocked == "temporary_ban":
		why := "WhatsApp temporarily banned this number"
		if s.BanCode != nil {
			why += ": " + wuzapi.BanReason(*s.BanCode)
		}
		if s.BlockedUntil != nil {
			return HealthBanned, why + "; it ends by itself at " + utc(*s.BlockedUntil) + ", then resume its campaigns", utcPtr(s.BlockedUntil)
		}
		return HealthBanned, why + "; resume its campaigns once it is lifted", nil
	case blocked:
		return HealthLoggedOut, "logged out of WhatsApp: pair it again (QR code), set its webhook again, then resume its campaigns", nil
	case s.SessionError != "":
		return HealthDisconnected, s.SessionError, nil
	case s.Connected != nil && !*s.Connected:
		return HealthDisconnected, fmt.Sprintf("WuzAPI is not connected to WhatsApp: connect it (POST /v1/instances/%s/connect)", id), nil
	case s.LoggedIn != nil && !*s.LoggedIn:
		return HealthDisconnected, fmt.Sprintf("not paired with a phone: scan the QR code (GET /v1/instances/%s/qr)", id), nil
	}
	switch s.Lane.State {
	case LaneLocked:
		r := "WhatsApp stopped this number from messaging new contacts (error 463)"
		if s.Lane.Until != nil {
			r += " until " + utc(*s.Lane.Until) + "; then one probe send tries again"
		}
		return HealthLocked, r + "; contacts who wrote to it are still sent", utcPtr(s.Lane.Until)
	case LanePaused:
		why := strings.TrimPrefix(s.Lane.Reason, "paused: ")
		if why == "" {
			why = "too few recent first messages were delivered"
		}
		return HealthPaused, fmt.Sprintf("new-contact sending paused: %s; resume it (POST /v1/instances/%s/resume) once the number is healthy; otherwise one probe send tries again at until", why, id),
			utcPtr(s.Lane.Until)
	}
	return HealthOK, "", nil
}

func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
