package campaign_test

import (
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
)

func TestTemplateVaries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"Promoção de Natal hoje", false},
		{"Use {code} no site", false}, // a brace group without '|' is text
		{"Oi {{name}}", true},
		{"{Oi|Olá}, tudo bem?", true},
		{"Tudo {{bem}}", true},
		{"Texto {com {a|b} dentro}", true},
		{"{{ não é variável }} e {aberto", false},
	} {
		if got := campaign.ParseTemplate(tc.msg).Varies(); got != tc.want {
			t.Errorf("Varies(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}
