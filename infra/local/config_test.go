package local

import "testing"

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
