// Package samtpl reads the project's SAM template (template.yaml) into a model
// that the local runner provisions and runs: functions with their event
// sources, queues with their redrive policies, the bucket with its
// notifications, alarms and parameters.
//
// It is the one place that reads template.yaml. It understands the subset of
// SAM and CloudFormation the project uses: the short and long forms of Ref,
// Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select and Fn::If, and the condition
// functions Fn::Equals, Fn::Not, Fn::And and Fn::Or. Any other intrinsic
// function, a reference to an undeclared name, or a property the runner needs
// that is missing or of the wrong type is a parse error naming the file, line
// and property path. It does not expand the SAM transform, check IAM policies
// or talk to AWS.
package samtpl

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode"
)

// Resource types the model understands.
const (
	TypeFunction    = "AWS::Serverless::Function"
	TypeHTTPAPI     = "AWS::Serverless::HttpApi"
	TypeQueue       = "AWS::SQS::Queue"
	TypeQueuePolicy = "AWS::SQS::QueuePolicy"
	TypeBucket      = "AWS::S3::Bucket"
	TypeAlarm       = "AWS::CloudWatch::Alarm"
)

// Template is the model of a parsed template. Slices keep the order of the
// file. Values that depend on the stack (names, environment) stay
// unevaluated; Eval resolves them once the physical resources exist.
type Template struct {
	// Name is the file name the template was read from, used in messages.
	Name       string
	Parameters []Parameter
	Functions  []Function
	HTTPAPIs   []string // logical ids of AWS::Serverless::HttpApi resources
	Queues     []Queue
	Buckets    []Bucket
	Alarms     []Alarm

	// resources maps every logical id to its resource type.
	resources  map[string]string
	conditions map[string]Value
}

// Parameter is a template parameter.
type Parameter struct {
	Name          string
	Type          string
	Default       string
	HasDefault    bool
	NoEcho        bool
	AllowedValues []string
	// AllowedPattern is the regular expression the whole value must match
	// (CloudFormation's rule); "" allows any value.
	AllowedPattern string
	MinLength      int
	Description    string

	pattern *regexp.Regexp // AllowedPattern, anchored
}

// Function is an AWS::Serverless::Function with Globals applied.
type Function struct {
	LogicalID string
	// Folder is the function's folder under functions/, derived from the
	// logical id: CampaignWorkerFunction -> campaign-worker.
	Folder        string
	CodeURI       string
	BuildMethod   string // Metadata.BuildMethod
	Runtime       string
	Handler       string
	Architectures []string
	Timeout       int // seconds; 3 when neither the function nor Globals set it
	MemorySize    int // MB; 128 when neither the function nor Globals set it
	// ReservedConcurrency is ReservedConcurrentExecutions, the most
	// instances the function may run at once; 0 when unset (no cap).
	ReservedConcurrency int
	// Environment holds Globals' variables overridden by the function's own.
	Environment map[string]Value
	SQSEvents   []SQSEvent
	Schedules   []Schedule
	HTTPEvents  []HTTPEvent
}

// SQSEvent is an SQS event source mapping of a function.
type SQSEvent struct {
	Name  string // the key under Events
	Queue string // logical id of the AWS::SQS::Queue
	// BatchSize is the largest batch handed to one invocation (SAM default 10).
	BatchSize int
	// MaximumBatchingWindowInSeconds is how long the mapping may wait to fill
	// a batch (0: hand over what one receive returns).
	MaximumBatchingWindowInSeconds int
	// ReportBatchItemFailures is true when FunctionResponseTypes holds
	// ReportBatchItemFailures: the function answers which messages failed.
	ReportBatchItemFailures bool
	Enabled                 bool
	// MaximumConcurrency is ScalingConfig.MaximumConcurrency, the most
	// invocations the mapping runs at once; 0 when unset.
	MaximumConcurrency int
}

// Schedule is a Schedule or ScheduleV2 event of a function.
type Schedule struct {
	Name       string
	Expression string // rate(...) or cron(...)
	Enabled    bool
}

// HTTPEvent is an HttpApi event of a function.
type HTTPEvent struct {
	Name                 string
	API                  string // logical id of the HttpApi; "" for SAM's implicit API
	Path                 string // "" means the $default route
	Method               string // "" or "ANY" means every method
	PayloadFormatVersion string // "2.0" unless set
}

// Queue is an AWS::SQS::Queue.
type Queue struct {
	LogicalID string
	// QueueName is the QueueName property; zero when CloudFormation is to
	// generate the name.
	QueueName                     Value
	VisibilityTimeout             int // seconds, SQS default 30
	MessageRetentionPeriod        int // seconds, 0 = SQS default
	DelaySeconds                  int
	ReceiveMessageWaitTimeSeconds int
	// DeadLetter is the redrive policy; nil when the queue has none.
	DeadLetter *Redrive
}

// Redrive is a queue's RedrivePolicy.
type Redrive struct {
	Queue           string // logical id of the dead-letter queue
	MaxReceiveCount int
}

// Bucket is an AWS::S3::Bucket.
type Bucket struct {
	LogicalID string
	// BucketName is the BucketName property; zero when CloudFormation is to
	// generate the name.
	BucketName    Value
	Notifications []QueueNotification
	// Expirations are the lifecycle rules that delete objects under a
	// prefix some days after their creation.
	Expirations []Expiration
}

// Expiration is a lifecycle rule's Prefix and ExpirationInDays.
type Expiration struct {
	ID     string
	Prefix string
	Days   int
}

// QueueNotification is one QueueConfigurations entry of a bucket.
type QueueNotification struct {
	Event  string // e.g. s3:ObjectCreated:*
	Prefix string
	Suffix string
	Queue  string // logical id of the target queue
}

// Alarm is an AWS::CloudWatch::Alarm.
type Alarm struct {
	LogicalID          string
	Namespace          string
	MetricName         string
	Statistic          string
	ComparisonOperator string
	Threshold          float64
	Period             int
	EvaluationPeriods  int
	// Queue is the logical id named by a QueueName dimension
	// (!GetAtt X.QueueName); "" when the alarm watches no queue.
	Queue string
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return Parse(path, data)
}

// Function returns the function with the logical id, or false.
func (t *Template) Function(logicalID string) (Function, bool) {
	for _, f := range t.Functions {
		if f.LogicalID == logicalID {
			return f, true
		}
	}
	return Function{}, false
}

// Queue returns the queue with the logical id, or false.
func (t *Template) Queue(logicalID string) (Queue, bool) {
	for _, q := range t.Queues {
		if q.LogicalID == logicalID {
			return q, true
		}
	}
	return Queue{}, false
}

// Parameter returns the parameter with the name, or false.
func (t *Template) Parameter(name string) (Parameter, bool) {
	for _, p := range t.Parameters {
		if p.Name == name {
			return p, true
		}
	}
	return Parameter{}, false
}

// ResourceType returns the type of the resource with the logical id, or "".
func (t *Template) ResourceType(logicalID string) string {
	return t.resources[logicalID]
}

// FolderOf maps a function's logical id to its folder under functions/:
// the id without its "Function" suffix, from CamelCase to kebab-case
// (CampaignWorkerFunction -> campaign-worker, ApiFunction -> api). It
// returns false when the id does not end in "Function".
func FolderOf(logicalID string) (string, bool) {
	base, ok := strings.CutSuffix(logicalID, "Function")
	if !ok || base == "" {
		return "", false
	}
	return kebab(base), true
}

// EnvName is the environment variable twin of a parameter name:
// SCREAMING_SNAKE_CASE (DatabaseUrl -> DATABASE_URL,
// OtelExporterOtlpEndpoint -> OTEL_EXPORTER_OTLP_ENDPOINT).
func EnvName(parameter string) string {
	return strings.ToUpper(strings.ReplaceAll(kebab(parameter), "-", "_"))
}

// kebab turns CamelCase into kebab-case; a run of capitals is one word
// (DLQAlarm -> dlq-alarm).
func kebab(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
