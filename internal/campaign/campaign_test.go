package campaign_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

func TestTransitions(t *testing.T) {
	t.Parallel()
	type row struct {
		from campaign.Status
		act  campaign.Action
		to   campaign.Status // "" = illegal
	}
	tests := []row{
		{campaign.Scheduled, campaign.ActRelease, campaign.Queued},
		{campaign.Scheduled, campaign.ActCancel, campaign.Cancelled},
		{campaign.Scheduled, campaign.ActPause, ""},
		{campaign.Scheduled, campaign.ActStart, ""},
		{campaign.Queued, campaign.ActStart, campaign.Running},
		{campaign.Queued, campaign.ActPause, campaign.Paused},
		{campaign.Queued, campaign.ActCancel, campaign.Cancelled},
		{campaign.Queued, campaign.ActResume, ""},
		{campaign.Running, campaign.ActPause, campaign.Paused},
		{campaign.Running, campaign.ActFinish, campaign.Completed},
		{campaign.Running, campaign.ActFail, campaign.Failed},
		{campaign.Running, campaign.ActCancel, campaign.Cancelled},
		{campaign.Running, campaign.ActResume, ""},
		{campaign.Paused, campaign.ActResume, campaign.Queued},
		{campaign.Paused, campaign.ActCancel, campaign.Cancelled},
		{campaign.Paused, campaign.ActPause, ""},
		{campaign.Paused, campaign.ActStart, ""},
		{campaign.Completed, campaign.ActCancel, ""},
		{campaign.Completed, campaign.ActPause, ""},
		{campaign.Completed, campaign.ActResend, campaign.Queued},
		{campaign.Failed, campaign.ActResend, campaign.Queued},
		{campaign.Cancelled, campaign.ActResume, ""},
		{campaign.Cancelled, campaign.ActResend, ""},
		{campaign.Cancelled, campaign.ActCancel, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s", tt.from, tt.act), func(t *testing.T) {
			got, err := campaign.Next(tt.from, tt.act)
			if tt.to == "" {
				if !errors.Is(err, errcode.ErrInvalidState) {
					t.Fatalf("Next(%s, %s) = %s, %v; want INVALID_STATE", tt.from, tt.act, got, err)
				}
				if slices.Contains(campaign.From(tt.act), tt.from) {
					t.Fatalf("From(%s) lists %s", tt.act, tt.from)
				}
				return
			}
			if err != nil || got != tt.to {
				t.Fatalf("Next(%s, %s) = %s, %v; want %s", tt.from, tt.act, got, err, tt.to)
			}
			if !slices.Contains(campaign.From(tt.act), tt.from) {
				t.Fatalf("From(%s) = %v lacks %s", tt.act, campaign.From(tt.act), tt.from)
			}
		})
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	r := campaign.Recipient{Phone: "5511999998888", Name: "Ana", Vars: map[string]string{"city": "Recife", "empty": ""}}
	tests := []struct {
		name, msg, want string
		missing         []string
	}{
		{"plain", "Hello", "Hello", nil},
		{"name and phone", "Oi {{name}} ({{ phone }})", "Oi Ana (5511999998888)", nil},
		{"var", "{{name}} de {{city}}", "Ana de Recife", nil},
		{"missing var renders empty", "Oi {{name}}, {{coupon}}!", "Oi Ana, !", []string{"coupon"}},
		{"empty var is missing", "[{{empty}}]", "[]", []string{"empty"}},
		{"missing twice reported once", "{{x}}{{x}}", "", []string{"x"}},
		{"single-choice braces are text", "use {code} now", "use {code} now", nil},
		{"unclosed brace is text", "a { b", "a { b", nil},
		{"stray closing brace", "a } b | c", "a } b | c", nil},
		{"unclosed double brace", "{{name", "{{name", nil},
		{"invalid var name is text", "{{ not a var }}", "{{ not a var }}", nil},
		{"var inside literal braces", "{ {{name}} }", "{ Ana }", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, missing := campaign.ParseTemplate(tt.msg).Render(r, "seed")
			if got != tt.want || !slices.Equal(missing, tt.missing) {
				t.Fatalf("Render(%q) = %q, %v; want %q, %v", tt.msg, got, missing, tt.want, tt.missing)
			}
		})
	}
	tpl := campaign.ParseTemplate("{Oi|Olá {{name}}} {{city}} {a|{{zip}}}")
	if got := tpl.Vars(); !slices.Equal(got, []string{"city", "name", "zip"}) {
		t.Fatalf("Vars = %v", got)
	}
	if got := tpl.Missing(r); !slices.Equal(got, []string{"zip"}) {
		t.Fatalf("Missing = %v, want [zip] whatever the draw", got)
	}
}

func TestSpintax(t *testing.T) {
	t.Parallel()
	tpl := campaign.ParseTemplate("{Olá|Oi|Bom dia} {{name}}{!|.}")
	r := campaign.Recipient{Phone: "5511999990000", Name: "Ana"}
	valid := regexp.MustCompile(`^(Olá|Oi|Bom dia) Ana[!.]$`)
	seen := map[string]int{}
	for i := range 300 {
		key := campaign.SeedKey("c1", fmt.Sprintf("55119999%05d", i))
		a, _ := tpl.Render(r, key)
		b, _ := tpl.Render(r, key)
		if a != b {
			t.Fatalf("seed %s: %q then %q: not deterministic", key, a, b)
		}
		if !valid.MatchString(a) {
			t.Fatalf("seed %s rendered %q", key, a)
		}
		seen[a]++
	}
	if len(seen) != 6 {
		t.Fatalf("300 recipients drew %d of 6 variants: %v", len(seen), seen)
	}
	for v, n := range seen {
		if n < 20 {
			t.Fatalf("variant %q drawn %d times of 300: not uniform enough", v, n)
		}
	}
	nested, _ := campaign.ParseTemplate("{a|{b|c}}").Render(r, "x")
	if nested != "a" && nested != "b" && nested != "c" {
		t.Fatalf("nested spintax rendered %q", nested)
	}
	// Another campaign draws independently.
	diff := 0
	for i := range 50 {
		p := fmt.Sprintf("55119999%05d", i)
		a, _ := tpl.Render(r, campaign.SeedKey("c1", p))
		b, _ := tpl.Render(r, campaign.SeedKey("c2", p))
		if a != b {
			diff++
		}
	}
	if diff == 0 {
		t.Fatal("two campaigns drew the same variant for 50 recipients")
	}
}

func TestMessageID(t *testing.T) {
	t.Parallel()
	id := campaign.MessageID("0190a1b2-0000-7000-8000-000000000001", "5511999998888", 0)
	if !regexp.MustCompile(`^3EB0[0-9A-F]{18}$`).MatchString(id) {
		t.Fatalf("MessageID = %q", id)
	}
	if id != campaign.MessageID("0190a1b2-0000-7000-8000-000000000001", "5511999998888", 0) {
		t.Fatal("MessageID is not deterministic")
	}
	if id == campaign.MessageID("0190a1b2-0000-7000-8000-000000000001", "5511999998888", 1) ||
		id == campaign.MessageID("0190a1b2-0000-7000-8000-000000000001", "5511999998889", 0) {
		t.Fatal("MessageID ignores generation or phone")
	}
}

func TestCountsAndProgress(t *testing.T) {
	t.Parallel()
	c := campaign.FromStatuses(10, map[campaign.RecipientStatus]int{
		campaign.RSent: 2, campaign.RDelivered: 1, campaign.RRead: 1, campaign.RFailed: 1, campaign.RUnknown: 1, campaign.RPending: 4, campaign.RSkipped: 3,
	})
	want := campaign.Counts{Total: 10, Pending: 4, Sent: 4, Delivered: 2, Read: 1, Failed: 1, Skipped: 3, Unknown: 1}
	if c != want {
		t.Fatalf("counts = %+v, want %+v", c, want)
	}
	if p := c.Progress(); p != 60 {
		t.Fatalf("progress = %d, want 60", p)
	}
	if p := (campaign.Counts{}).Progress(); p != 100 {
		t.Fatalf("empty progress = %d", p)
	}
	if p := (campaign.Counts{Total: 3, Sent: 1}).Progress(); p != 33 {
		t.Fatalf("1/3 progress = %d", p)
	}
	if p := (campaign.Counts{Total: 8, Sent: 5}).Progress(); p != 63 {
		t.Fatalf("5/8 progress = %d (round half up)", p)
	}
}

func TestChunksAndBackoff(t *testing.T) {
	t.Parallel()
	if n := campaign.ChunkCount(100001, 100); n != 1001 {
		t.Fatalf("chunks = %d", n)
	}
	if n := campaign.ChunkCount(0, 100); n != 0 {
		t.Fatalf("chunks of 0 = %d", n)
	}
	if lo, hi := campaign.ChunkRange(3, 100); lo != 300 || hi != 400 {
		t.Fatalf("range = %d..%d", lo, hi)
	}
	got := []time.Duration{campaign.Backoff(1), campaign.Backoff(2), campaign.Backoff(3)}
	if !slices.Equal(got, []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}) {
		t.Fatalf("backoff = %v", got)
	}
}

func TestQuietUntil(t *testing.T) {
	t.Parallel()
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	night := &tenant.QuietHours{Start: "21:00", End: "08:00"}
	lunch := &tenant.QuietHours{Start: "12:00", End: "13:00"}
	at := func(h, m int) time.Time { return time.Date(2026, 12, 2, h, m, 0, 0, sp) }
	tests := []struct {
		name           string
		now            time.Time
		camp, tenantQH *tenant.QuietHours
		quiet          bool
		until          time.Time
	}{
		{"no quiet hours", at(23, 0), nil, nil, false, time.Time{}},
		{"tenant night", at(23, 0), nil, night, true, at(8, 0).AddDate(0, 0, 1)},
		{"tenant morning", at(7, 59), nil, night, true, at(8, 0)},
		{"tenant day", at(8, 0), nil, night, false, time.Time{}},
		{"campaign overrides tenant", at(23, 0), lunch, night, false, time.Time{}},
		{"campaign lunch", at(12, 30), lunch, night, true, at(13, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, until := campaign.QuietUntil(tt.now.UTC(), tt.camp, tt.tenantQH, sp)
			if q != tt.quiet || !until.Equal(tt.until) {
				t.Fatalf("QuietUntil(%v) = %v, %v; want %v, %v", tt.now, q, until, tt.quiet, tt.until)
			}
		})
	}
}
