package local

import (
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
)

// The campaign worker's fair share divides the invocations that really run
// at once: locally, the platform's instances per function.
func TestConfigCampaignWorkerConcurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"default instances", Config{}, "2"},
		{"more instances", Config{Concurrency: 6}, "6"},
		{"set by the caller", Config{Concurrency: 6, Environment: map[string]string{"CAMPAIGN_WORKER_CONCURRENCY": "3"}}, "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.cfg.withDefaults().Environment["CAMPAIGN_WORKER_CONCURRENCY"]; got != tt.want {
				t.Fatalf("CAMPAIGN_WORKER_CONCURRENCY = %q, want %q", got, tt.want)
			}
		})
	}
}

// The template requires a metrics token; a run that was given none makes
// one up, which the template accepts and local-run prints.
func TestPlatformMetricsToken(t *testing.T) {
	t.Parallel()
	tpl, err := samtpl.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, given := range []string{"", strings.Repeat("g", 40)} {
		cfg := Config{DatabaseURL: "postgres://x/y", RedisURL: "redis://127.0.0.1:6379/0", Parameters: map[string]string{"AdminApiKey": strings.Repeat("k", 32)}}
		if given != "" {
			cfg.Parameters[ParamMetricsToken] = given
		}
		p := &Platform{cfg: cfg.withDefaults(), Template: tpl, APIURL: "http://127.0.0.1:8080"}
		params := p.parameters()
		if err := checkParameters(tpl, params); err != nil {
			t.Fatalf("given %q: parameters refused: %v", given, err)
		}
		switch {
		case given != "" && p.MetricsToken != given:
			t.Fatalf("MetricsToken = %q, want the given %q", p.MetricsToken, given)
		case given == "" && (len(p.MetricsToken) < 32 || p.MetricsToken != params[ParamMetricsToken]):
			t.Fatalf("made-up MetricsToken = %q (parameter %q), want one of at least 32 characters", p.MetricsToken, params[ParamMetricsToken])
		}
	}
	a := (&Platform{cfg: Config{}.withDefaults(), Template: tpl}).parameters()[ParamMetricsToken]
	b := (&Platform{cfg: Config{}.withDefaults(), Template: tpl}).parameters()[ParamMetricsToken]
	if a == b {
		t.Fatalf("two runs made up the same token %q", a)
	}
}
