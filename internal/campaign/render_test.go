package campaign_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

// pathological are inputs that made a backtracking parser exponential (each
// unclosed brace re-parsed the rest) or quadratic (each "{{" searched the
// rest for "}}"), at sizes where that would take hours.
func pathological(n int) map[string]string {
	return map[string]string{
		"unclosed braces":      strings.Repeat("{x", n),
		"unclosed alternation": strings.Repeat("{x|", n),
		"double braces":        strings.Repeat("{{ ", n) + "}}",
		"stray closers":        strings.Repeat("x}|", n),
	}
}

func TestParseTemplatePathological(t *testing.T) {
	t.Parallel()
	r := campaign.Recipient{Phone: "5511999998888"}
	for name, msg := range pathological(50_000) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tpl := campaign.ParseTemplate(msg)
			got, missing := tpl.Render(r, "seed")
			if got != msg || len(missing) != 0 || tpl.Depth() != 0 {
				t.Fatalf("%s (%d chars): rendered %d chars equal=%v, missing %v, depth %d; want the text itself, depth 0",
					name, len(msg), len(got), got == msg, missing, tpl.Depth())
			}
		})
	}
}

func TestTemplateDepth(t *testing.T) {
	t.Parallel()
	r := campaign.Recipient{Phone: "5511999998888", Name: "Ana"}
	tests := []struct {
		msg   string
		depth int
		want  []string // every rendering is one of these
	}{
		{"plain {x", 0, []string{"plain {x"}},
		{"{a|b}", 1, []string{"a", "b"}},
		{"{a|{b|{c|d}}}", 3, []string{"a", "b", "c", "d"}},
		{"{a|{b|{c|{{name}}}}}", 3, []string{"a", "b", "c", "Ana"}},
		{"{a|{b|{c|{d|e}}}}", 4, []string{"a", "b", "c", "{d|e}"}},
		{"{x{a|{b|c}}", 2, []string{"{xa", "{xb", "{xc"}},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			tpl := campaign.ParseTemplate(tt.msg)
			if tpl.Depth() != tt.depth {
				t.Fatalf("Depth(%q) = %d, want %d", tt.msg, tpl.Depth(), tt.depth)
			}
			for i := range 40 {
				got, _ := tpl.Render(r, fmt.Sprint(i))
				if !contains(tt.want, got) {
					t.Fatalf("Render(%q) = %q, want one of %q", tt.msg, got, tt.want)
				}
			}
		})
	}
	deep := strings.Repeat("{a|", 10_000) + strings.Repeat("}", 10_000)
	if d := campaign.ParseTemplate(deep).Depth(); d != 10_000 {
		t.Fatalf("10,000 nested groups: Depth = %d", d)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// BenchmarkParseTemplate shows parsing is linear: ns/char stays flat from
// 1k to 100k characters, for ordinary and pathological templates alike.
func BenchmarkParseTemplate(b *testing.B) {
	unit := "{Olá|Oi|Bom dia} {{name}}, {a|{b|{c|d}}} de {{city}}! "
	for _, n := range []int{1_000, 100_000} {
		inputs := pathological(n / 2)
		inputs["spintax"] = strings.Repeat(unit, n/len(unit)+1)[:n]
		for name, msg := range inputs {
			msg = msg[:min(len(msg), n)]
			b.Run(fmt.Sprintf("%s/%dk", strings.ReplaceAll(name, " ", "_"), n/1000), func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				for b.Loop() {
					campaign.ParseTemplate(msg)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(msg)), "ns/char")
			})
		}
	}
}

// TestRenderForIsRenderWithTheSeedKey: RenderFor draws the same spintax
// choices as Render with the recipient's seed key, and renders the same
// text and missing variables without spintax.
func TestRenderForIsRenderWithTheSeedKey(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{
		"Oi {{name}}, lote 7",
		"{Olá|Oi|Bom dia} {{name}}, {a|{b|{c|d}}} de {{city}}!",
		"{x} {{missing}} {{phone}} {um|dois}",
		"",
	} {
		tpl := campaign.ParseTemplate(msg)
		for i := range 200 {
			r := campaign.Recipient{Phone: fmt.Sprintf("55119%08d", i), Name: "Maria", Vars: map[string]string{"city": "Recife"}}
			want, wantMissing := tpl.Render(r, campaign.SeedKey("c-1", r.Phone))
			got, gotMissing := tpl.RenderFor(r, "c-1")
			if got != want || fmt.Sprint(gotMissing) != fmt.Sprint(wantMissing) {
				t.Fatalf("RenderFor(%q, %s) = %q %v, want %q %v", msg, r.Phone, got, gotMissing, want, wantMissing)
			}
		}
	}
}

// BenchmarkRender is one recipient's text as the worker renders it: the
// bulk benchmark's message (a variable, no spintax) and one with spintax.
func BenchmarkRender(b *testing.B) {
	r := campaign.Recipient{Phone: "5511999998888", Name: "Maria", Vars: map[string]string{"city": "Recife"}}
	for name, msg := range map[string]string{
		"variable": "Oi {{name}}, lote 7",
		"spintax":  "{Olá|Oi|Bom dia} {{name}}, {a|{b|{c|d}}} de {{city}}!",
	} {
		tpl := campaign.ParseTemplate(msg)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tpl.RenderFor(r, "0b5c6f0e-8a57-4a8b-9e0c-1d2e3f405162")
			}
		})
	}
}
