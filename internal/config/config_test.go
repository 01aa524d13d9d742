package config_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
)

// base is the least environment every function starts with.
func base(extra ...string) map[string]string {
	env := map[string]string{
		"DATABASE_URL":        "postgres://x/y",
		"REDIS_URL":           "redis://127.0.0.1:6379/0",
		"CAMPAIGNS_QUEUE_URL": "http://q/campaigns",
		"BUCKET_NAME":         "uploads",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// loaders load each function's settings, by function folder.
var loaders = map[string]func(map[string]string) error{
	"api":             func(e map[string]string) error { _, err := config.LoadFrom[config.API](e); return err },
	"campaign-worker": func(e map[string]string) error { _, err := config.LoadFrom[config.CampaignWorker](e); return err },
	"import-worker":   func(e map[string]string) error { _, err := config.LoadFrom[config.ImportWorker](e); return err },
	"report-worker":   func(e map[string]string) error { _, err := config.LoadFrom[config.ReportWorker](e); return err },
	"scheduler":       func(e map[string]string) error { _, err := config.LoadFrom[config.Scheduler](e); return err },
}

func TestLoadNamesMissingRequiredSettings(t *testing.T) {
	t.Parallel()
	for fn, load := range loaders {
		err := load(map[string]string{"DATABASE_URL": "", "CAMPAIGNS_QUEUE_URL": "q", "BUCKET_NAME": "b"})
		if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "REDIS_URL") {
			t.Errorf("%s without DATABASE_URL and REDIS_URL: err = %v, want both named", fn, err)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %q, want one line (the function's init error)", fn, err)
		}
	}
	if _, err := config.LoadFrom[config.CampaignWorker](base("CAMPAIGNS_QUEUE_URL", "")); err == nil ||
		!strings.Contains(err.Error(), "CAMPAIGNS_QUEUE_URL") {
		t.Errorf("campaign-worker without CAMPAIGNS_QUEUE_URL: err = %v", err)
	}
	if _, err := config.LoadFrom[config.ImportWorker](base("BUCKET_NAME", "")); err == nil ||
		!strings.Contains(err.Error(), "BUCKET_NAME") {
		t.Errorf("import-worker without BUCKET_NAME: err = %v", err)
	}
}

// TestLoadFailsOnMalformedValues: a value of each kind that does not parse,
// or parses out of range, stops Load with the variable's name instead of
// becoming the default.
func TestLoadFailsOnMalformedValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		function string
		variable string
		value    string
	}{
		{"bool", "api", "ALLOW_PRIVATE_WUZAPI", "maybe"},
		{"bool (scheduler)", "scheduler", "ALLOW_PRIVATE_WUZAPI", "yes please"},
		{"duration", "api", "UNDELIVERED_AFTER", "a day"},
		{"duration without unit", "api", "UNDELIVERED_AFTER", "24"},
		{"negative duration", "api", "UNDELIVERED_AFTER", "-1h"},
		{"zero duration", "campaign-worker", "SEND_LEASE_TTL", "0s"},
		{"duration (lease)", "campaign-worker", "SEND_LEASE_TTL", "2 minutes"},
		{"duration (stuck)", "scheduler", "CAMPAIGN_STUCK_AFTER", "soon"},
		{"negative duration (stuck)", "scheduler", "CAMPAIGN_STUCK_AFTER", "-30m"},
		{"zero duration (abandoned)", "scheduler", "ABANDONED_AFTER", "0s"},
		{"visibility lease", "import-worker", "WORKER_VISIBILITY_LEASE", "soon"},
		{"visibility lease below 1s", "campaign-worker", "WORKER_VISIBILITY_LEASE", "500ms"},
		{"visibility lease over 12h", "report-worker", "WORKER_VISIBILITY_LEASE", "13h"},
		{"integer", "campaign-worker", "CAMPAIGN_FAILURE_WINDOW", "twenty"},
		{"integer below 1", "campaign-worker", "CAMPAIGN_FAILURE_WINDOW", "0"},
		{"concurrency below 1", "campaign-worker", "CAMPAIGN_WORKER_CONCURRENCY", "0"},
		{"fraction", "campaign-worker", "CAMPAIGN_FAILURE_SHARE", "half"},
		{"fraction of 1", "campaign-worker", "CAMPAIGN_FAILURE_SHARE", "1"},
		{"fraction of 0", "campaign-worker", "CAMPAIGN_FAILURE_SHARE", "0"},
		{"sampler name", "report-worker", "OTEL_TRACES_SAMPLER", "sometimes"},
		{"sampler ratio", "import-worker", "OTEL_TRACES_SAMPLER_ARG", "1.5"},
		{"sampler ratio that is no number", "api", "OTEL_TRACES_SAMPLER_ARG", "a quarter"},
		{"URL", "api", "PUBLIC_BASE_URL", "api.example.com"},
		{"URL scheme", "api", "PUBLIC_BASE_URL", "ftp://api.example.com"},
		{"collector URL", "scheduler", "OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"},
		{"alert webhook URL", "scheduler", "ALERT_WEBHOOK_URL", "hooks.example.com/x"},
		{"memory size", "api", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"},
		{"pooler mode", "api", "DATABASE_POOLER", "session"},
		{"pool size that is no number", "campaign-worker", "DATABASE_MAX_CONNS", "four"},
		{"pool size of 0", "scheduler", "DATABASE_MAX_CONNS", "0"},
		{"pool size over 64", "import-worker", "DATABASE_MAX_CONNS", "65"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := loaders[tt.function](base(tt.variable, tt.value))
			if err == nil || !strings.Contains(err.Error(), tt.variable) {
				t.Fatalf("%s=%q for %s: err = %v, want one naming %s", tt.variable, tt.value, tt.function, err, tt.variable)
			}
		})
	}
}

func TestLoadKeepsURLsOutOfErrors(t *testing.T) {
	t.Parallel()
	_, err := config.LoadFrom[config.Scheduler](base("ALERT_WEBHOOK_URL", "hooks.example.com/token-s3cr3t"))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("err = %v, want an error without the URL", err)
	}
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	api, err := config.LoadFrom[config.API](base())
	if err != nil {
		t.Fatal(err)
	}
	want := config.Shared{
		Environment: "local", ServiceVersion: api.ServiceVersion,
		DatabaseURL: "postgres://x/y", DatabasePooler: "none", DatabaseMaxConns: 4, RedisURL: "redis://127.0.0.1:6379/0",
		PublicBaseURL: "http://127.0.0.1:8080", TracesSampler: "parentbased_always_on", TracesSamplerArg: 1,
		MetricsFlushInterval: 10 * time.Second, CampaignsQueueURL: "http://q/campaigns", BucketName: "uploads",
	}
	if api.Shared != want {
		t.Errorf("shared defaults\n got %+v\nwant %+v", api.Shared, want)
	}
	if api.ServiceVersion == "" {
		t.Error("ServiceVersion is empty; want the build's revision or dev")
	}
	if api.UndeliveredAfter != 24*time.Hour || api.WebhookHMACKey != "" {
		t.Errorf("api defaults: %+v", api)
	}
	cw, err := config.LoadFrom[config.CampaignWorker](base())
	if err != nil {
		t.Fatal(err)
	}
	if cw.SendLeaseTTL != 75*time.Second || cw.FailureWindow != 20 || cw.FailureShare != 0.5 || cw.VisibilityLease != 45*time.Second {
		t.Errorf("campaign-worker defaults: lease %v, window %d, share %v, visibility lease %v; want 75s, 20, 0.5, 45s",
			cw.SendLeaseTTL, cw.FailureWindow, cw.FailureShare, cw.VisibilityLease)
	}
	if cw.Concurrency != 10 {
		t.Errorf("campaign-worker concurrency %d, want 10 (the template's MaximumConcurrency)", cw.Concurrency)
	}
	s, err := config.LoadFrom[config.Scheduler](base())
	if err != nil {
		t.Fatal(err)
	}
	if s.StuckAfter != 3*time.Minute || s.AbandonedAfter != 10*time.Minute {
		t.Errorf("scheduler StuckAfter = %v, AbandonedAfter = %v, want 3m, 10m", s.StuckAfter, s.AbandonedAfter)
	}
	// An empty variable is unset: the template passes empty parameters.
	empty, err := config.LoadFrom[config.CampaignWorker](base("SEND_LEASE_TTL", "", "CAMPAIGN_FAILURE_SHARE", "", "OTEL_TRACES_SAMPLER", ""))
	if err != nil {
		t.Fatal(err)
	}
	if empty.SendLeaseTTL != 75*time.Second || empty.FailureShare != 0.5 || empty.TracesSampler != "parentbased_always_on" {
		t.Errorf("empty variables: %+v, want the defaults", empty)
	}
}

func TestLoadReadsValues(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom[config.CampaignWorker](base(
		"ALLOW_PRIVATE_WUZAPI", "true",
		"PUBLIC_BASE_URL", "https://api.example.com/",
		"IMPORTS_QUEUE_URL", "",
		"REPORTS_QUEUE_URL", "http://q/reports",
		"SEND_LEASE_TTL", "90s",
		"CAMPAIGN_FAILURE_WINDOW", "50",
		"CAMPAIGN_FAILURE_SHARE", "0.25",
		"OTEL_TRACES_SAMPLER", "ParentBased_TraceIDRatio",
		"OTEL_TRACES_SAMPLER_ARG", "0.1",
		"SERVICE_VERSION", "v1.2.3",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512",
		"DATABASE_POOLER", "transaction",
		"DATABASE_MAX_CONNS", "2",
	))
	if err != nil {
		t.Fatal(err)
	}
	if !c.AllowPrivateWuzapi || c.PublicBaseURL != "https://api.example.com" || c.SendLeaseTTL != 90*time.Second ||
		c.FailureWindow != 50 || c.FailureShare != 0.25 || c.TracesSampler != "parentbased_traceidratio" ||
		c.TracesSamplerArg != 0.1 || c.ServiceVersion != "v1.2.3" || c.FunctionMemoryMB != 512 ||
		c.DatabasePooler != config.PoolerTransaction || c.DatabaseMaxConns != 2 {
		t.Fatalf("config = %+v", c)
	}
	if q := c.Queues(); !slices.Equal(q, []string{"http://q/campaigns", "http://q/reports"}) {
		t.Fatalf("Queues() = %v", q)
	}
}

// TestLoadReadsTheProcessEnvironment: Load is LoadFrom on the process's
// environment.
func TestLoadReadsTheProcessEnvironment(t *testing.T) {
	for k, v := range base("UNDELIVERED_AFTER", "6h") {
		t.Setenv(k, v)
	}
	c, err := config.Load[config.API]()
	if err != nil {
		t.Fatal(err)
	}
	if c.UndeliveredAfter != 6*time.Hour {
		t.Fatalf("UndeliveredAfter = %v, want 6h", c.UndeliveredAfter)
	}
	t.Setenv("UNDELIVERED_AFTER", "6 hours")
	if _, err := config.Load[config.API](); err == nil || !strings.Contains(err.Error(), "UNDELIVERED_AFTER") {
		t.Fatalf("err = %v, want one naming UNDELIVERED_AFTER", err)
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	shared := config.Variables[config.ReportWorker]()
	if len(shared) != reflect.TypeFor[config.Shared]().NumField()+1 || !slices.Contains(shared, "DATABASE_URL") ||
		!slices.Contains(shared, "WORKER_VISIBILITY_LEASE") {
		t.Fatalf("report-worker variables %v: want one per Shared field and WORKER_VISIBILITY_LEASE", shared)
	}
	api := config.Variables[config.API]()
	if !slices.Contains(api, "UNDELIVERED_AFTER") || !slices.Contains(api, "REDIS_KEY_PREFIX") || slices.Contains(api, "SEND_LEASE_TTL") {
		t.Fatalf("api variables %v", api)
	}
	for _, vars := range [][]string{
		config.Variables[config.CampaignWorker](), config.Variables[config.ImportWorker](), config.Variables[config.Scheduler](),
	} {
		if len(vars) < len(shared) {
			t.Errorf("variables %v miss shared ones", vars)
		}
	}
}

// On AWS the api refuses to start without a METRICS_TOKEN of at least 32
// characters: /metrics would be open to anyone. Outside AWS (tests, the
// local platform, which sets an emulator endpoint) it may be empty.
func TestLoadRequiresMetricsTokenOnAWS(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("t", config.MinMetricsToken)
	tests := []struct {
		name    string
		env     []string
		wantErr bool
	}{
		{"on AWS without a token", []string{"AWS_LAMBDA_FUNCTION_NAME", "stack-Api"}, true},
		{"on AWS with a short token", []string{"AWS_LAMBDA_FUNCTION_NAME", "stack-Api", "METRICS_TOKEN", long[1:]}, true},
		{"on AWS with a token", []string{"AWS_LAMBDA_FUNCTION_NAME", "stack-Api", "METRICS_TOKEN", long}, false},
		{"local platform without a token", []string{"AWS_LAMBDA_FUNCTION_NAME", "stack-Api", "AWS_ENDPOINT_URL", "http://127.0.0.1:4566"}, false},
		{"outside Lambda without a token", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.LoadFrom[config.API](base(tt.env...))
			if tt.wantErr != (err != nil) || (err != nil && !strings.Contains(err.Error(), "METRICS_TOKEN")) {
				t.Fatalf("env %v: err = %v, want error naming METRICS_TOKEN: %v", tt.env, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), long[1:]) {
				t.Fatalf("err = %q shows the token", err)
			}
		})
	}
}
