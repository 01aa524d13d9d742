package campaign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// TestInstanceHealthState: the worst state that applies wins (banned,
// logged out, disconnected, locked, paused, ok), an expired ban no longer
// counts, reasons are a person's, and the delivery rate needs 10 sends.
func TestInstanceHealthState(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	no, yes, code := false, true, 102
	lock := campaign.Lane{State: campaign.LaneLocked, Until: &later}
	pause := campaign.Lane{State: campaign.LanePaused, Until: &later, Reason: "paused: only 1 of 10 recent first messages were delivered"}
	cases := []struct {
		name   string
		s      campaign.InstanceStatus
		state  string
		reason string
	}{
		{"ban over everything", campaign.InstanceStatus{Blocked: "temporary_ban", BanCode: &code, BlockedUntil: &later, Connected: &no, Lane: lock}, campaign.HealthBanned, "blocked by too many people"},
		{"expired ban", campaign.InstanceStatus{Blocked: "temporary_ban", BlockedUntil: &earlier}, campaign.HealthOK, ""},
		{"logged out", campaign.InstanceStatus{Blocked: "logged_out", Lane: pause}, campaign.HealthLoggedOut, "pair it again"},
		{"session unreadable", campaign.InstanceStatus{SessionError: "Nothing answers at the WuzAPI address", Lane: lock}, campaign.HealthDisconnected, "Nothing answers"},
		{"socket down", campaign.InstanceStatus{Connected: &no, LoggedIn: &yes}, campaign.HealthDisconnected, "/v1/instances/i1/connect"},
		{"not paired", campaign.InstanceStatus{Connected: &yes, LoggedIn: &no}, campaign.HealthDisconnected, "/v1/instances/i1/qr"},
		{"never checked is not disconnected", campaign.InstanceStatus{}, campaign.HealthOK, ""},
		{"locked over nothing", campaign.InstanceStatus{Connected: &yes, LoggedIn: &yes, Lane: lock}, campaign.HealthLocked, "error 463"},
		{"paused", campaign.InstanceStatus{Lane: pause}, campaign.HealthPaused, "only 1 of 10 recent first messages were delivered"},
	}
	for _, c := range cases {
		h := c.s.Health("i1", nil, now)
		got := ""
		if h.Reason != nil {
			got = *h.Reason
		}
		if h.State != c.state || (c.reason == "") != (h.Reason == nil) || !strings.Contains(got, c.reason) || strings.ContainsAny(got, "<>") {
			t.Errorf("%s: %s %q, want %s with %q", c.name, h.State, got, c.state, c.reason)
		}
	}
	if h := (campaign.InstanceStatus{Delivered: 5, Settled: 9}).Health("i1", nil, now); h.DeliveryRate != nil {
		t.Errorf("delivery rate of 9 sends = %v, want null", *h.DeliveryRate)
	}
	if h := (campaign.InstanceStatus{Delivered: 9, Settled: 10}).Health("i1", nil, now); h.DeliveryRate == nil || *h.DeliveryRate != 0.9 {
		t.Errorf("delivery rate of 9 in 10 = %v", h.DeliveryRate)
	}
}
