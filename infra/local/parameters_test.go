package local

import (
	"path/filepath"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
)

// TestParametersRedisKeyPrefix checks that each stack gets its own Redis key
// prefix unless one is given: parallel stacks share the machine's Redis.
func TestParametersRedisKeyPrefix(t *testing.T) {
	tpl, err := samtpl.Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"per stack by default", map[string]string{}, "st-1:"},
		{"given one wins", map[string]string{ParamRedisKeyPrefix: "shared:"}, "shared:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Platform{Template: tpl, cfg: Config{StackName: "st-1", Parameters: tt.params}}
			if got := p.parameters()[ParamRedisKeyPrefix]; got != tt.want {
				t.Errorf("parameters(%v)[%s] = %q, want %q", tt.params, ParamRedisKeyPrefix, got, tt.want)
			}
		})
	}
}
