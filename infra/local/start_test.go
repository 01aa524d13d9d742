package local

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBinDir holds an executable placeholder for every function of the
// project template: enough for the checks that run before any is started.
func fakeBinDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"api", "campaign-worker", "import-worker", "report-worker", "scheduler"} {
		if err := os.MkdirAll(filepath.Join(dir, f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestStartFailsClearly checks that every bad setting stops Start with one
// line that says what is wrong and what to change, before it starts
// anything.
func TestStartFailsClearly(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	bin := fakeBinDir(t)
	emptyBin := t.TempDir()
	malformed := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(malformed, []byte("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Ref Nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl := filepath.Join(repoRoot, "template.yaml")
	base := Config{
		TemplatePath: tpl,
		BinDir:       bin,
		DatabaseURL:  "postgres://postgres@127.0.0.1:5432/wm_never_created?sslmode=disable",
		RedisURL:     testRedisURL,
		APIAddr:      "127.0.0.1:0",
		EmulatorAddr: "127.0.0.1:0",
		RIEPath:      "/bin/sh",
		Parameters:   map[string]string{"AdminApiKey": e2eAdminKey},
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"no database URL", func(c *Config) { c.DatabaseURL = "" }, []string{"no database URL", "DATABASE_URL"}},
		{"malformed template", func(c *Config) { c.TemplatePath = malformed }, []string{"template", "is not usable", "Ref Nope: no such parameter or resource"}},
		{"missing template", func(c *Config) { c.TemplatePath = filepath.Join(t.TempDir(), "none.yaml") }, []string{"none.yaml", "no such file"}},
		{"missing binary", func(c *Config) { c.BinDir = emptyBin }, []string{"binary of ApiFunction not found", "make build-local"}},
		{"API port in use", func(c *Config) { c.APIAddr = taken.Addr().String() }, []string{"port " + taken.Addr().String(), "is in use", "API_ADDR"}},
		{"emulator port in use", func(c *Config) { c.EmulatorAddr = taken.Addr().String() }, []string{"AWS emulator is in use", "AWS_EMULATOR_ADDR"}},
		{"Postgres unreachable", func(c *Config) { c.DatabaseURL = "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2" },
			[]string{"PostgreSQL at 127.0.0.1:1 is unreachable", "DATABASE_URL"}},
		{"Redis unreachable", func(c *Config) { c.RedisURL = "redis://127.0.0.1:1/0" }, []string{"Redis at 127.0.0.1:1 is unreachable", "REDIS_URL"}},
		{"bad Redis URL", func(c *Config) { c.RedisURL = "http://nope" }, []string{"REDIS_URL is not a Redis URL"}},
		{"short admin key", func(c *Config) { c.Parameters = map[string]string{"AdminApiKey": "short"} },
			[]string{"parameter AdminApiKey must be at least 32 characters long", "ADMIN_API_KEY"}},
		{"failure share out of range", func(c *Config) {
			c.Parameters = map[string]string{"AdminApiKey": e2eAdminKey, "CampaignFailureShare": "1.5"}
		}, []string{`parameter CampaignFailureShare is "1.5": does not match AllowedPattern`, "CAMPAIGN_FAILURE_SHARE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.StackName = randomName("wm-fail-")
			cfg.Logger = testLogger(t)
			tt.change(&cfg)
			p, err := Start(t.Context(), cfg)
			if err == nil {
				p.Close()
				t.Fatalf("Start succeeded, want an error mentioning %q", tt.want)
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}
