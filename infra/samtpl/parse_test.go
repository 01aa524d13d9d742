package samtpl_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
)

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings of the error, in order
	}{
		{"not-yaml.yaml", []string{"not-yaml.yaml", "yaml"}},
		{"no-resources.yaml", []string{"no-resources.yaml", "Resources: missing or empty"}},
		{"no-type.yaml", []string{"no-type.yaml:3:", "template.Resources.Queue", "no Type"}},
		{"unknown-ref.yaml", []string{"unknown-ref.yaml:7:", "QUEUE_URL", "Ref MissingQueue: no such parameter or resource"}},
		{"unknown-getatt.yaml", []string{":6:", "deadLetterTargetArn", "Fn::GetAtt Nope: no such resource"}},
		{"unsupported-intrinsic.yaml", []string{":5:", "QueueName", "unsupported intrinsic function Fn::FindInMap"}},
		{"bad-timeout.yaml", []string{":5:", "Properties.Timeout", `want an integer literal, got "soon"`}},
		{"bad-function-id.yaml", []string{"Resources.Api", `must end in "Function"`}},
		{"sqs-event-not-queue.yaml", []string{"Events.Work.Properties.Queue", "want !GetAtt <Queue>.Arn of an AWS::SQS::Queue"}},
		{"no-max-receive.yaml", []string{"RedrivePolicy", "no maxReceiveCount"}},
		{"unknown-sub-var.yaml", []string{"BucketName", "${Suffix}: no such parameter, resource or variable"}},
		{"unknown-condition.yaml", []string{"AlarmActions", `condition "HasTopic" is not declared`}},
		{"big-batch-no-window.yaml", []string{"BatchSize 100 over 10 needs MaximumBatchingWindowInSeconds"}},
		{"bad-depends-on.yaml", []string{"DependsOn Missing: no such resource"}},
		{"top-level-list.yaml", []string{"want a mapping at the top level"}},
		{"bad-pattern.yaml", []string{"bad-pattern.yaml:4:", "AllowedPattern is not a regular expression"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := samtpl.Load(filepath.Join("testdata", "malformed", tt.file))
			if err == nil {
				t.Fatalf("Load(%s) = nil error, want one mentioning %q", tt.file, tt.want)
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("Load(%s) error = %q, want it to contain %q (in order %q)", tt.file, msg, w, tt.want)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := samtpl.Load(filepath.Join("testdata", "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("Load(missing) = %v, want an error naming the file", err)
	}
}

func loadValid(t *testing.T) *samtpl.Template {
	t.Helper()
	tpl, err := samtpl.Load(filepath.Join("testdata", "valid.yaml"))
	if err != nil {
		t.Fatalf("Load(valid.yaml): %v", err)
	}
	return tpl
}

func TestParseModel(t *testing.T) {
	tpl := loadValid(t)
	f, ok := tpl.Function("BigBatchFunction")
	if !ok {
		t.Fatal("BigBatchFunction missing")
	}
	if f.Folder != "big-batch" || f.Timeout != 5 || f.MemorySize != 128 || f.BuildMethod != "makefile" {
		t.Errorf("function = folder %q timeout %d memory %d build %q, want big-batch 5 128 makefile", f.Folder, f.Timeout, f.MemorySize, f.BuildMethod)
	}
	if len(f.SQSEvents) != 1 {
		t.Fatalf("SQS events = %+v, want 1", f.SQSEvents)
	}
	ev := f.SQSEvents[0]
	if ev.Queue != "WorkQueue" || ev.BatchSize != 25 || ev.MaximumBatchingWindowInSeconds != 2 || ev.ReportBatchItemFailures || !ev.Enabled {
		t.Errorf("SQS event = %+v", ev)
	}
	if len(f.Schedules) != 1 || f.Schedules[0].Expression != "rate(5 minutes)" || f.Schedules[0].Enabled {
		t.Errorf("schedules = %+v, want one disabled rate(5 minutes)", f.Schedules)
	}
	q, _ := tpl.Queue("WorkQueue")
	if q.VisibilityTimeout != 60 || q.DeadLetter == nil || q.DeadLetter.Queue != "WorkDLQ" || q.DeadLetter.MaxReceiveCount != 3 {
		t.Errorf("WorkQueue = %+v %+v", q, q.DeadLetter)
	}
	if dlq, _ := tpl.Queue("WorkDLQ"); dlq.VisibilityTimeout != 30 || dlq.DeadLetter != nil {
		t.Errorf("WorkDLQ = %+v, want SQS defaults", dlq)
	}
	if len(tpl.Buckets) != 1 || len(tpl.Buckets[0].Notifications) != 1 {
		t.Fatalf("buckets = %+v", tpl.Buckets)
	}
	n := tpl.Buckets[0].Notifications[0]
	if n.Queue != "WorkQueue" || n.Prefix != "in/" || n.Suffix != ".csv" || n.Event != "s3:ObjectCreated:*" {
		t.Errorf("notification = %+v", n)
	}
}

func TestEval(t *testing.T) {
	tpl := loadValid(t)
	f, _ := tpl.Function("BigBatchFunction")
	scope := func(params map[string]string) samtpl.Scope {
		return samtpl.Scope{
			StackName: "st", Region: "us-east-1", AccountID: "123",
			Parameters: params,
			Resource: func(id, attr string) (string, error) {
				if id != "WorkQueue" {
					return "", errors.New("unexpected " + id)
				}
				return map[string]string{"": "https://q/work", "Arn": "arn:work", "QueueName": "st-work"}[attr], nil
			},
		}
	}
	tests := []struct {
		name   string
		value  samtpl.Value
		params map[string]string
		want   string
		noVal  bool
	}{
		{"literal from globals", f.Environment["SHARED"], nil, "shared", false},
		{"function overrides globals", f.Environment["OVERRIDDEN"], nil, "own", false},
		{"Ref of a queue", f.Environment["QUEUE"], nil, "https://q/work", false},
		{"GetAtt Arn", f.Environment["ARN"], nil, "arn:work", false},
		{"If false by default", f.Environment["MODE"], nil, "lax", false},
		{"If true", f.Environment["MODE"], map[string]string{"Env": "prod"}, "strict", false},
		{"If NoValue", f.Environment["TOPIC"], nil, "", true},
		{"If Ref", f.Environment["TOPIC"], map[string]string{"Topic": "arn:t"}, "arn:t", false},
		{"And of conditions", f.Environment["BOTH"], map[string]string{"Env": "prod", "Topic": "x"}, "yes", false},
		{"Sub with variables and escape", f.Environment["SUBBED"], nil, "dev:st-work:${Literal}", false},
		{"Select", f.Environment["FIRST"], nil, "a", false},
		{"Split", f.Environment["SPLIT"], nil, "y", false},
		{"long-form Ref of a parameter", f.Environment["SECRET"], map[string]string{"Secret": "s3cr3t!!"}, "s3cr3t!!", false},
		{"Sub with pseudo parameter", mustQueueName(t, tpl), nil, "st-work", false},
		{"Join", tpl.Buckets[0].BucketName, nil, "st-files-123", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tpl.Eval(tt.value, scope(tt.params))
			if tt.noVal {
				if !errors.Is(err, samtpl.ErrNoValue) {
					t.Fatalf("Eval = %q, %v; want ErrNoValue", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Eval = %q, %v; want %q", got, err, tt.want)
			}
		})
	}

	t.Run("missing parameter names it", func(t *testing.T) {
		_, err := tpl.Eval(f.Environment["SECRET"], scope(nil))
		if err == nil || !strings.Contains(err.Error(), "parameter Secret has no value") || !strings.Contains(err.Error(), "valid.yaml:") {
			t.Fatalf("Eval = %v, want the file, line and missing parameter", err)
		}
	})
}

func mustQueueName(t *testing.T, tpl *samtpl.Template) samtpl.Value {
	t.Helper()
	q, _ := tpl.Queue("WorkQueue")
	if q.QueueName.IsZero() {
		t.Fatal("WorkQueue has no QueueName")
	}
	return q.QueueName
}

func TestCheckParameters(t *testing.T) {
	tpl := loadValid(t)
	tests := []struct {
		name     string
		supplied map[string]string
		want     []string // parameter names with a problem
	}{
		{"all good", map[string]string{"Secret": "longenough"}, nil},
		{"required missing", nil, []string{"Secret"}},
		{"too short", map[string]string{"Secret": "short"}, []string{"Secret"}},
		{"not allowed", map[string]string{"Secret": "longenough", "Env": "qa"}, []string{"Env"}},
		{"undeclared", map[string]string{"Secret": "longenough", "Nope": "x"}, []string{"Nope"}},
		{"pattern matched", map[string]string{"Secret": "longenough", "Wait": "1h30m"}, nil},
		{"pattern not matched", map[string]string{"Secret": "longenough", "Wait": "soon"}, []string{"Wait"}},
		{"pattern matches the whole value", map[string]string{"Secret": "longenough", "Wait": "x5m"}, []string{"Wait"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tpl.CheckParameters(tt.supplied)
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var pe *samtpl.ParameterError
					if !errors.As(e, &pe) {
						t.Fatalf("error %v is not a *ParameterError", e)
					}
					got = append(got, pe.Name)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("CheckParameters(%v) problems with %v, want %v (err %v)", tt.supplied, got, tt.want, err)
			}
		})
	}
}

func TestFolderOf(t *testing.T) {
	tests := []struct {
		id, want string
		ok       bool
	}{
		{"ApiFunction", "api", true},
		{"CampaignWorkerFunction", "campaign-worker", true},
		{"ImportWorkerFunction", "import-worker", true},
		{"HTTPProxyFunction", "http-proxy", true},
		{"Function", "", false},
		{"ApiHandler", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, ok := samtpl.FolderOf(tt.id)
			if got != tt.want || ok != tt.ok {
				t.Errorf("FolderOf(%q) = %q, %v; want %q, %v", tt.id, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := map[string]string{
		"DatabaseUrl":              "DATABASE_URL",
		"OtelExporterOtlpEndpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
		"AllowPrivateWuzapi":       "ALLOW_PRIVATE_WUZAPI",
		"AdminApiKey":              "ADMIN_API_KEY",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := samtpl.EnvName(in); got != want {
				t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
