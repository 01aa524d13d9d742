package httpapi_test

import (
	"testing"
)

func TestCreateCampaignUniformMessageWarning(t *testing.T) {
	t.Parallel()
	b := setupCampaigns(t)
	schemas := newAnswerSchemas(t)
	inst := b.newInstance(t, nil)["id"].(string)
	for _, tc := range []struct {
		msg  string
		warn bool
	}{
		{"Promoção de Natal: 20 % em tudo", true},
		{"Use {code} no site", true},
		{"Oi {{name}}, promoção de Natal", false},
		{"{Oi|Olá}, promoção de Natal", false},
	} {
		r := b.do(t, "POST", "/v1/campaigns", b.key, map[string]any{"instanceId": inst, "message": tc.msg, "contacts": []string{"5511999990001"}})
		schemas.check("POST /v1/campaigns", r)
		w, ok := dig(r.Body, "data", "warnings").([]any)
		if r.Status != 202 || !ok || (len(w) == 1 && w[0] == "uniform_message") != tc.warn || len(w) > 1 {
			t.Fatalf("create %q = %d %s, want uniform_message warning %v", tc.msg, r.Status, r.Raw, tc.warn)
		}
	}
}
