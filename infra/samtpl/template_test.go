package samtpl_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
)

const repoRoot = "../.."

func loadProjectTemplate(t *testing.T) *samtpl.Template {
	t.Helper()
	tpl, err := samtpl.Load(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	return tpl
}

// TestProjectTemplate holds template.yaml to the project's deployment
// rules (docs/local-platform.md): the checks a reviewer would otherwise make by hand.
func TestProjectTemplate(t *testing.T) {
	tpl := loadProjectTemplate(t)

	t.Run("every function folder has a function resource", func(t *testing.T) {
		entries, err := os.ReadDir(filepath.Join(repoRoot, "functions"))
		if err != nil {
			t.Fatal(err)
		}
		var folders []string
		for _, e := range tpl.Functions {
			folders = append(folders, e.Folder)
		}
		for _, e := range entries {
			if e.IsDir() && !slices.Contains(folders, e.Name()) {
				t.Errorf("functions/%s has no AWS::Serverless::Function (want logical id %q)", e.Name(), logicalIDOf(e.Name()))
			}
		}
		for _, f := range tpl.Functions {
			if st, err := os.Stat(filepath.Join(repoRoot, "functions", f.Folder)); err != nil || !st.IsDir() {
				t.Errorf("%s: folder functions/%s does not exist", f.LogicalID, f.Folder)
			}
		}
	})

	for _, f := range tpl.Functions {
		t.Run("function "+f.LogicalID, func(t *testing.T) {
			checks := []struct {
				what      string
				got, want any
			}{
				{"Runtime", f.Runtime, "provided.al2023"},
				{"Handler", f.Handler, "bootstrap"},
				{"Architectures", f.Architectures, []string{"arm64"}},
				{"Metadata.BuildMethod", f.BuildMethod, "makefile"},
				{"CodeUri", f.CodeURI, "."},
			}
			for _, c := range checks {
				if !equal(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			for _, ev := range f.SQSEvents {
				if !ev.ReportBatchItemFailures {
					t.Errorf("SQS event %s: FunctionResponseTypes lacks ReportBatchItemFailures", ev.Name)
				}
				q, _ := tpl.Queue(ev.Queue)
				if q.VisibilityTimeout < 6*f.Timeout {
					t.Errorf("queue %s: VisibilityTimeout %d is under 6x the Timeout %d of its consumer", q.LogicalID, q.VisibilityTimeout, f.Timeout)
				}
			}
			for _, name := range []string{"DATABASE_URL", "REDIS_URL", "ADMIN_API_KEY", "METRICS_TOKEN", "PUBLIC_BASE_URL",
				"ALLOW_PRIVATE_WUZAPI", "OTEL_EXPORTER_OTLP_ENDPOINT", "ALERT_WEBHOOK_URL", "DEPLOYMENT_ENVIRONMENT",
				"CAMPAIGNS_QUEUE_URL", "IMPORTS_QUEUE_URL", "REPORTS_QUEUE_URL", "CAMPAIGNS_DLQ_URL", "IMPORTS_DLQ_URL",
				"REPORTS_DLQ_URL", "WEBHOOKS_QUEUE_URL", "WEBHOOKS_DLQ_URL", "BUCKET_NAME"} {
				if _, ok := f.Environment[name]; !ok {
					t.Errorf("environment lacks %s", name)
				}
			}
		})
	}

	t.Run("workers consume their queues", func(t *testing.T) {
		want := map[string]string{
			"CampaignWorkerFunction": "CampaignsQueue",
			"ImportWorkerFunction":   "ImportsQueue",
			"ReportWorkerFunction":   "ReportsQueue",
			"SchedulerFunction":      "WebhooksQueue", // tenant webhooks, beside its schedule
		}
		for fn, queue := range want {
			f, ok := tpl.Function(fn)
			if !ok || len(f.SQSEvents) != 1 || f.SQSEvents[0].Queue != queue {
				t.Errorf("%s: want one SQS event on %s, got %+v", fn, queue, f.SQSEvents)
			}
		}
	})

	t.Run("api serves every route with payload 2.0", func(t *testing.T) {
		f, _ := tpl.Function("ApiFunction")
		if len(f.HTTPEvents) != 1 || f.HTTPEvents[0].Path != "" || f.HTTPEvents[0].PayloadFormatVersion != "2.0" || f.HTTPEvents[0].API == "" {
			t.Errorf("ApiFunction HttpApi events = %+v, want one $default route on an HttpApi with payload 2.0", f.HTTPEvents)
		}
	})

	t.Run("every queue with a consumer has a DLQ with maxReceiveCount 3", func(t *testing.T) {
		dlqs := map[string]bool{}
		for _, q := range tpl.Queues {
			if q.DeadLetter != nil {
				dlqs[q.DeadLetter.Queue] = true
			}
		}
		for _, q := range tpl.Queues {
			if dlqs[q.LogicalID] {
				continue // a DLQ itself
			}
			switch {
			case q.DeadLetter == nil:
				t.Errorf("queue %s has no RedrivePolicy", q.LogicalID)
			case q.DeadLetter.MaxReceiveCount != 3:
				t.Errorf("queue %s: maxReceiveCount = %d, want 3", q.LogicalID, q.DeadLetter.MaxReceiveCount)
			}
		}
		if len(dlqs) != 4 {
			t.Errorf("%d dead-letter queues, want 4 (campaigns, imports, reports, webhooks)", len(dlqs))
		}
	})

	t.Run("every DLQ has a depth alarm", func(t *testing.T) {
		for _, q := range tpl.Queues {
			if q.DeadLetter == nil {
				continue
			}
			dlq := q.DeadLetter.Queue
			found := slices.ContainsFunc(tpl.Alarms, func(a samtpl.Alarm) bool {
				return a.Queue == dlq && a.Namespace == "AWS/SQS" && a.MetricName == "ApproximateNumberOfMessagesVisible" &&
					a.ComparisonOperator == "GreaterThanThreshold" && a.Threshold == 0
			})
			if !found {
				t.Errorf("DLQ %s has no alarm on ApproximateNumberOfMessagesVisible > 0", dlq)
			}
		}
	})

	t.Run("bucket notifies the imports queue of uploads under imports/", func(t *testing.T) {
		found := false
		for _, b := range tpl.Buckets {
			for _, n := range b.Notifications {
				if n.Queue == "ImportsQueue" && n.Prefix == "imports/" && n.Event == "s3:ObjectCreated:*" {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("no bucket sends s3:ObjectCreated:* under imports/ to ImportsQueue: %+v", tpl.Buckets)
		}
	})

	t.Run("media uploads are checked and expire with media.Lifetime", func(t *testing.T) {
		notified, expires := false, 0
		for _, b := range tpl.Buckets {
			for _, n := range b.Notifications {
				if n.Queue == "ImportsQueue" && n.Prefix == media.ObjectPrefix && n.Event == "s3:ObjectCreated:*" {
					notified = true
				}
			}
			for _, e := range b.Expirations {
				if e.Prefix == media.ObjectPrefix {
					expires = e.Days
				}
			}
		}
		if !notified {
			t.Errorf("no bucket sends s3:ObjectCreated:* under %s to ImportsQueue", media.ObjectPrefix)
		}
		if want := int(media.Lifetime / (24 * time.Hour)); expires != want {
			t.Errorf("objects under %s expire after %d days, want media.Lifetime = %d days", media.ObjectPrefix, expires, want)
		}
	})

	t.Run("scheduler runs every minute", func(t *testing.T) {
		f, _ := tpl.Function("SchedulerFunction")
		if !slices.ContainsFunc(f.Schedules, func(s samtpl.Schedule) bool { return s.Enabled && s.Expression == "rate(1 minute)" }) {
			t.Errorf("SchedulerFunction schedules = %+v, want rate(1 minute)", f.Schedules)
		}
	})

	t.Run("parameters and their environment twins", func(t *testing.T) {
		for _, want := range []string{"DatabaseUrl", "RedisUrl", "AdminApiKey", "MetricsToken", "PublicBaseUrl",
			"AllowPrivateWuzapi", "OtelExporterOtlpEndpoint", "AlertWebhookUrl", "DeploymentEnvironment"} {
			if _, ok := tpl.Parameter(want); !ok {
				t.Errorf("parameter %s missing", want)
			}
		}
		for _, p := range tpl.Parameters {
			if p.Name == "AlarmTopicArn" || strings.HasPrefix(p.Name, "DatabaseProxy") {
				continue // the alarms' actions and the RDS Proxy's settings, no function's
			}
			env, used := samtpl.EnvName(p.Name), false
			for _, f := range tpl.Functions {
				v, ok := f.Environment[env]
				if !ok {
					continue
				}
				used = true
				if id, _, isRef := v.Target(); !isRef || id != p.Name {
					t.Errorf("%s: %s is not set from !Ref %s", f.LogicalID, env, p.Name)
				}
			}
			if !used {
				t.Errorf("parameter %s reaches no function as %s", p.Name, env)
			}
			secret := slices.Contains([]string{"DatabaseUrl", "RedisUrl", "AdminApiKey", "MetricsToken", "WuzapiWebhookHmacKey"}, p.Name)
			if secret && !p.NoEcho {
				t.Errorf("parameter %s holds a secret but is not NoEcho", p.Name)
			}
		}
		if p, _ := tpl.Parameter("AllowPrivateWuzapi"); p.Default != "false" {
			t.Errorf("AllowPrivateWuzapi default = %q, want false", p.Default)
		}
	})

	t.Run("defaults pass their own constraints", func(t *testing.T) {
		supplied := map[string]string{}
		for _, p := range tpl.Parameters {
			if !p.HasDefault {
				supplied[p.Name] = strings.Repeat("x", max(p.MinLength, 1))
			}
		}
		if err := tpl.CheckParameters(supplied); err != nil {
			t.Errorf("CheckParameters with every default: %v", err)
		}
	})
}

// logicalIDOf is the inverse of FolderOf, for messages.
func logicalIDOf(folder string) string {
	out := []byte{}
	upper := true
	for i := 0; i < len(folder); i++ {
		c := folder[i]
		if c == '-' {
			upper = true
			continue
		}
		if upper && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		upper = false
		out = append(out, c)
	}
	return string(out) + "Function"
}

func equal(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b
}

// A deploy without a metrics token is refused: the parameter has no
// default, a minimum length and NoEcho, so /metrics is never open on AWS.
func TestTemplateMetricsTokenRequired(t *testing.T) {
	tpl := loadProjectTemplate(t)
	p, ok := tpl.Parameter("MetricsToken")
	if !ok {
		t.Fatal("no MetricsToken parameter")
	}
	if p.HasDefault || !p.NoEcho || p.MinLength < 32 {
		t.Fatalf("MetricsToken: default %v (%q), NoEcho %v, MinLength %d; want no default, NoEcho, MinLength >= 32", p.HasDefault, p.Default, p.NoEcho, p.MinLength)
	}
	tests := []struct {
		name    string
		params  map[string]string
		wantErr bool
	}{
		{"not given", map[string]string{}, true},
		{"empty", map[string]string{"MetricsToken": ""}, true},
		{"31 characters", map[string]string{"MetricsToken": strings.Repeat("a", 31)}, true},
		{"with a space", map[string]string{"MetricsToken": strings.Repeat("a", 32) + " b"}, true},
		{"hex of 32 bytes", map[string]string{"MetricsToken": strings.Repeat("0f", 32)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tpl.CheckParameters(tt.params)
			got := err != nil && strings.Contains(err.Error(), "MetricsToken")
			if got != tt.wantErr {
				t.Fatalf("CheckParameters(%v): err = %v; want an error about MetricsToken: %v", tt.params, err, tt.wantErr)
			}
		})
	}
}
