// Package config is the only reader of the environment: each function's
// settings as one typed struct with its defaults, parsed by caarlos0/env and
// validated before anything is built. A setting that is malformed (a
// duration that does not parse, a boolean that is not one, a ratio out of
// range) or missing when required fails Load with the variable's name, so
// the function stops at init instead of running on a silent default. An
// empty variable counts as unset and takes the default, which is how
// template.yaml's empty parameters reach the functions.
//
// Libraries that read their own variables keep doing so: the AWS SDK
// (AWS_REGION, credentials, AWS_ENDPOINT_URL) and the Lambda runtime and
// resource detector (AWS_LAMBDA_*).
package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Shared are the settings every function reads. template.yaml sets them in
// Globals.
type Shared struct {
	// FunctionName is set by Lambda; it names the function in logs and
	// metrics.
	FunctionName string `env:"AWS_LAMBDA_FUNCTION_NAME"`
	// FunctionMemoryMB is set by Lambda (MiB); 0 outside Lambda, where the
	// peak memory ratio is then not reported.
	FunctionMemoryMB int `env:"AWS_LAMBDA_FUNCTION_MEMORY_SIZE"`
	// Environment is the deployment.environment of traces and metrics, and
	// part of the fleet metrics' and alerts' Redis keys.
	Environment string `env:"DEPLOYMENT_ENVIRONMENT" envDefault:"local"`
	// ServiceVersion is the service.version of traces; empty: the VCS
	// revision the binary was built from, "dev" when it has none.
	ServiceVersion string `env:"SERVICE_VERSION"`

	DatabaseURL string `env:"DATABASE_URL,notEmpty"`
	// DatabasePooler says what DATABASE_URL points at: "none", Postgres
	// itself; "transaction", a pooler in transaction mode (pgbouncer, RDS
	// Proxy) that gives each transaction whichever server connection is
	// free, so pgx must not rely on named prepared statements.
	DatabasePooler string `env:"DATABASE_POOLER" envDefault:"none"`
	// DatabaseMaxConns caps this instance's pool. An instance serves one
	// invocation at a time, so the fleet's connections are at most the sum
	// over functions of reserved concurrency times this (docs/postgres-at-scale.md).
	DatabaseMaxConns int    `env:"DATABASE_MAX_CONNS" envDefault:"4"`
	RedisURL         string `env:"REDIS_URL,notEmpty"`
	// RedisKeyPrefix goes before every limiter, plan cache and metrics key,
	// so that stacks can share one Redis.
	RedisKeyPrefix string `env:"REDIS_KEY_PREFIX"`

	AdminAPIKey string `env:"ADMIN_API_KEY"`
	// MetricsToken guards /metrics; empty leaves it open, which only a
	// run outside AWS allows (the api refuses to start on AWS without a
	// token of at least MinMetricsToken characters).
	MetricsToken string `env:"METRICS_TOKEN"`
	// PublicBaseURL is the absolute http(s) URL clients reach the API at
	// (webhook URLs are built on it), without a trailing slash.
	PublicBaseURL string `env:"PUBLIC_BASE_URL" envDefault:"http://127.0.0.1:8080"`
	// AllowPrivateWuzapi lets instances point at loopback and private
	// addresses (local runs, tests).
	AllowPrivateWuzapi bool `env:"ALLOW_PRIVATE_WUZAPI" envDefault:"false"`

	// OTLPEndpoint is the OTLP/HTTP base URL of the trace collector; empty
	// switches tracing off.
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	// TracesSampler and TracesSamplerArg choose which traces are kept, with
	// OpenTelemetry's names: always_on, always_off, traceidratio and their
	// parentbased_ forms. The argument is the ratio of the traceidratio
	// samplers, from 0 to 1.
	TracesSampler    string  `env:"OTEL_TRACES_SAMPLER" envDefault:"parentbased_always_on"`
	TracesSamplerArg float64 `env:"OTEL_TRACES_SAMPLER_ARG" envDefault:"1"`
	// MetricsFlushInterval is the least time between two end-of-invocation
	// flushes of this instance's metrics to the fleet's totals in Redis; 0
	// flushes after every invocation. The default, 10s, spares a busy api
	// instance a registry walk and a Redis pipeline per request (most of its
	// CPU per request): its counts reach the totals up to 10 s late, or, when
	// the instance goes idle, at its next invocation or its shutdown.
	MetricsFlushInterval time.Duration `env:"METRICS_FLUSH_INTERVAL" envDefault:"10s"`
	// CPUProfileDir, when set, makes the function write a CPU profile of
	// its whole life to <dir>/<function>-<pid>.pprof, closed when it stops
	// (SIGTERM): for benchmarks, never set on AWS.
	CPUProfileDir string `env:"CPU_PROFILE_DIR"`
	// AlertWebhookURL receives alerts; empty: alerts are only logged.
	AlertWebhookURL string `env:"ALERT_WEBHOOK_URL"`
	// AWSEndpointURL is set for emulators only; S3 then uses path-style
	// addressing.
	AWSEndpointURL string `env:"AWS_ENDPOINT_URL"`

	CampaignsQueueURL string `env:"CAMPAIGNS_QUEUE_URL"`
	ImportsQueueURL   string `env:"IMPORTS_QUEUE_URL"`
	ReportsQueueURL   string `env:"REPORTS_QUEUE_URL"`
	WebhooksQueueURL  string `env:"WEBHOOKS_QUEUE_URL"`
	CampaignsDLQURL   string `env:"CAMPAIGNS_DLQ_URL"`
	ImportsDLQURL     string `env:"IMPORTS_DLQ_URL"`
	ReportsDLQURL     string `env:"REPORTS_DLQ_URL"`
	WebhooksDLQURL    string `env:"WEBHOOKS_DLQ_URL"`
	BucketName        string `env:"BUCKET_NAME"`
}

// Values of DATABASE_POOLER.
const (
	// PoolerNone: DATABASE_URL is Postgres itself.
	PoolerNone = "none"
	// PoolerTransaction: DATABASE_URL is a pooler in transaction mode.
	PoolerTransaction = "transaction"
)

// MinMetricsToken is the shortest METRICS_TOKEN the api accepts on AWS
// (the template's MinLength).
const MinMetricsToken = 32

// OnAWS reports whether the function runs on AWS Lambda itself: Lambda set
// its function name and no emulator endpoint is configured (the local
// platform sets both).
func (s Shared) OnAWS() bool { return s.FunctionName != "" && s.AWSEndpointURL == "" }

// Queues returns the URLs of the work queues that are configured.
func (s Shared) Queues() []string {
	var out []string
	for _, u := range []string{s.CampaignsQueueURL, s.ImportsQueueURL, s.ReportsQueueURL, s.WebhooksQueueURL} {
		if u != "" {
			out = append(out, u)
		}
	}
	return out
}

// API is the settings of the api function.
type API struct {
	Shared
	// WebhookHMACKey is the deployment-wide key of WuzAPI webhooks'
	// X-Hmac-Signature (an instance's own key wins); empty checks only
	// instances that have a key.
	WebhookHMACKey string `env:"WUZAPI_WEBHOOK_HMAC_KEY"`
	// UndeliveredAfter is how long a sent message may go without a delivery
	// receipt before campaign status counts it undelivered.
	UndeliveredAfter time.Duration `env:"UNDELIVERED_AFTER" envDefault:"24h"`
}

// Worker are the settings every queue worker reads.
type Worker struct {
	// VisibilityLease is how long a message stays invisible without the
	// worker renewing it: a worker that dies lets its messages come back
	// within it, whatever the queue's visibility timeout.
	VisibilityLease time.Duration `env:"WORKER_VISIBILITY_LEASE" envDefault:"45s"`
}

func (w Worker) finish() []error {
	if w.VisibilityLease < time.Second || w.VisibilityLease > 12*time.Hour {
		return []error{fmt.Errorf("WORKER_VISIBILITY_LEASE=%s is not between 1s and 12h", w.VisibilityLease)}
	}
	return nil
}

// CampaignWorker is the settings of the campaign-worker function.
// CAMPAIGNS_QUEUE_URL is required: chunks are handed back to it.
type CampaignWorker struct {
	Shared
	Worker
	// SendLeaseTTL is how long the in-flight send slot of a worker that died
	// mid-send stays taken; above the function's timeout, a live worker
	// never loses its slot.
	SendLeaseTTL time.Duration `env:"SEND_LEASE_TTL" envDefault:"75s"`
	// FailureWindow and FailureShare: a campaign is paused when more than
	// FailureShare of its last FailureWindow settled sends failed.
	FailureWindow int     `env:"CAMPAIGN_FAILURE_WINDOW" envDefault:"20"`
	FailureShare  float64 `env:"CAMPAIGN_FAILURE_SHARE" envDefault:"0.5"`
	// Concurrency is how many chunks the worker runs at once across the
	// fleet (the template's MaximumConcurrency of its queue; the local
	// platform's instances): while another tenant waits, no tenant holds
	// more than half of it.
	Concurrency int `env:"CAMPAIGN_WORKER_CONCURRENCY" envDefault:"10"`
}

// ImportWorker is the settings of the import-worker function. BUCKET_NAME
// is required: the uploads are read from it.
type ImportWorker struct {
	Shared
	Worker
}

// ReportWorker is the settings of the report-worker function.
type ReportWorker struct {
	Shared
	Worker
}

// Scheduler is the settings of the scheduler function.
type Scheduler struct {
	Shared
	// StuckAfter is how long a recipient may stay in sending before it is
	// marked unknown; it must exceed the campaign worker's Lambda timeout,
	// the longest a live worker holds a claim.
	StuckAfter time.Duration `env:"CAMPAIGN_STUCK_AFTER" envDefault:"3m"`
	// AbandonedAfter is how long after its lease ended an import or report
	// that no worker resumed is marked failed.
	AbandonedAfter time.Duration `env:"ABANDONED_AFTER" envDefault:"10m"`
}

// Function is one function's settings: the types above.
type Function interface {
	API | CampaignWorker | ImportWorker | ReportWorker | Scheduler
}

// Load reads the settings of one function from the process environment.
// The error names every variable that is malformed or missing.
func Load[T Function]() (T, error) {
	return load[T](env.Options{})
}

// LoadFrom is Load reading environ instead of the process environment.
func LoadFrom[T Function](environ map[string]string) (T, error) {
	return load[T](env.Options{Environment: environ})
}

func load[T Function](opts env.Options) (T, error) {
	cfg, err := env.ParseAsWithOptions[T](opts)
	if err != nil {
		return cfg, fmt.Errorf("configuration: %w", nameVariables(err, reflect.TypeFor[T]()))
	}
	if err := finish(&cfg); err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// joined is errors.Join on one line: an init error is one line of the
// function's log.
type joined []error

func (j joined) Error() string {
	msgs := make([]string, len(j))
	for i, err := range j {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j joined) Unwrap() []error { return j }

// join is the non-nil errors of errs, nil when there are none.
func join(errs []error) error {
	var out joined
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// finish fills the defaults that are not constants and checks what a type
// alone cannot.
func finish(cfg any) error {
	var errs []error
	switch c := cfg.(type) {
	case *API:
		errs = append(c.Shared.finish(), positive("UNDELIVERED_AFTER", c.UndeliveredAfter))
		if c.OnAWS() && len(c.MetricsToken) < MinMetricsToken {
			errs = append(errs, fmt.Errorf("METRICS_TOKEN is required on AWS (at least %d characters): without it /metrics is open to anyone", MinMetricsToken))
		}
	case *CampaignWorker:
		errs = append(append(c.Shared.finish(), c.Worker.finish()...), positive("SEND_LEASE_TTL", c.SendLeaseTTL))
		if c.CampaignsQueueURL == "" {
			errs = append(errs, errors.New("CAMPAIGNS_QUEUE_URL is required: chunks are handed back to it"))
		}
		if c.FailureWindow < 1 {
			errs = append(errs, fmt.Errorf("CAMPAIGN_FAILURE_WINDOW=%d is not a positive integer", c.FailureWindow))
		}
		if !(c.FailureShare > 0 && c.FailureShare < 1) {
			errs = append(errs, fmt.Errorf("CAMPAIGN_FAILURE_SHARE=%v is not a fraction between 0 and 1", c.FailureShare))
		}
		if c.Concurrency < 1 {
			errs = append(errs, fmt.Errorf("CAMPAIGN_WORKER_CONCURRENCY=%d is not a positive integer", c.Concurrency))
		}
	case *ImportWorker:
		errs = append(c.Shared.finish(), c.Worker.finish()...)
		if c.BucketName == "" {
			errs = append(errs, errors.New("BUCKET_NAME is required: the uploads are read from it"))
		}
	case *ReportWorker:
		errs = append(c.Shared.finish(), c.Worker.finish()...)
	case *Scheduler:
		errs = append(c.Shared.finish(), positive("CAMPAIGN_STUCK_AFTER", c.StuckAfter), positive("ABANDONED_AFTER", c.AbandonedAfter))
	}
	return join(errs)
}

// samplers are the values of OTEL_TRACES_SAMPLER that are supported.
var samplers = []string{
	"always_on", "always_off", "traceidratio",
	"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
}

func (s *Shared) finish() []error {
	var errs []error
	if s.ServiceVersion == "" {
		s.ServiceVersion = buildVersion()
	}
	s.PublicBaseURL = strings.TrimRight(s.PublicBaseURL, "/")
	errs = append(errs, absoluteURL("PUBLIC_BASE_URL", s.PublicBaseURL))
	if s.OTLPEndpoint != "" {
		errs = append(errs, absoluteURL("OTEL_EXPORTER_OTLP_ENDPOINT", s.OTLPEndpoint))
	}
	if s.AlertWebhookURL != "" {
		errs = append(errs, absoluteURL("ALERT_WEBHOOK_URL", s.AlertWebhookURL))
	}
	s.TracesSampler = strings.ToLower(strings.TrimSpace(s.TracesSampler))
	if !slices.Contains(samplers, s.TracesSampler) {
		errs = append(errs, fmt.Errorf("OTEL_TRACES_SAMPLER=%q is not one of %s", s.TracesSampler, strings.Join(samplers, ", ")))
	}
	if !(s.TracesSamplerArg >= 0 && s.TracesSamplerArg <= 1) {
		errs = append(errs, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%v is not a ratio from 0 to 1", s.TracesSamplerArg))
	}
	if s.DatabasePooler != PoolerNone && s.DatabasePooler != PoolerTransaction {
		errs = append(errs, fmt.Errorf("DATABASE_POOLER=%q is not one of %s, %s", s.DatabasePooler, PoolerNone, PoolerTransaction))
	}
	if s.DatabaseMaxConns < 1 || s.DatabaseMaxConns > 64 {
		errs = append(errs, fmt.Errorf("DATABASE_MAX_CONNS=%d is not between 1 and 64", s.DatabaseMaxConns))
	}
	if s.MetricsFlushInterval < 0 || s.MetricsFlushInterval > 5*time.Minute {
		errs = append(errs, fmt.Errorf("METRICS_FLUSH_INTERVAL=%s is not between 0s and 5m", s.MetricsFlushInterval))
	}
	if s.FunctionMemoryMB < 0 {
		errs = append(errs, fmt.Errorf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d is negative", s.FunctionMemoryMB))
	}
	return errs
}

func positive(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s=%s is not a positive duration", name, d)
	}
	return nil
}

// absoluteURL checks that v is an absolute http or https URL. The value
// stays out of the message: URLs may carry credentials.
func absoluteURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s is not an absolute http(s) URL", name)
	}
	return nil
}

// buildVersion is the VCS revision the binary was built from, "dev" when
// unknown (go run, tests).
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
				return kv.Value[:12]
			}
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return "dev"
}

// nameVariables rewrites the library's parse errors, which name the Go
// field, to name the environment variable instead.
func nameVariables(err error, t reflect.Type) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	names := variables(t)
	errs := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if name, ok := names[pe.Name]; ok {
				e = fmt.Errorf("%s is not a valid %s: %w", name, pe.Type, pe.Err)
			}
		}
		errs = append(errs, e)
	}
	return join(errs)
}

// variables maps the Go field names of t (embedded structs included) to
// their variable names.
func variables(t reflect.Type) map[string]string {
	out := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, variables(f.Type))
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			out[f.Name] = name
		}
	}
	return out
}

// Variables lists the environment variables that the settings T are read
// from, in field order.
func Variables[T Function]() []string {
	params, err := env.GetFieldParams(new(T))
	if err != nil {
		panic(err) // the types above are well-formed; a test covers each
	}
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = p.Key
	}
	return out
}

// RuntimeAPI is the host:port of Lambda's Runtime API
// (AWS_LAMBDA_RUNTIME_API, set by Lambda and the emulator; empty outside
// them). It is read on its own, not with the settings, because a function
// whose settings fail to load still reports that failure to the Runtime
// API as its init error.
func RuntimeAPI() string { return os.Getenv("AWS_LAMBDA_RUNTIME_API") }
