package local

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"time"
)

// Defaults of Config.
const (
	DefaultTemplatePath = "template.yaml"
	DefaultStackName    = "wuzapi-manager-local"
	DefaultAPIAddr      = "127.0.0.1:8080"
	DefaultEmulatorAddr = "127.0.0.1:4566"
	DefaultRegion       = "us-east-1"
	DefaultConcurrency  = 2
	DefaultPollWait     = time.Second
	DefaultStopGrace    = 500 * time.Millisecond
)

// Template parameters the platform fills from Config when they are not in
// Config.Parameters.
const (
	ParamDatabaseURL   = "DatabaseUrl"
	ParamRedisURL      = "RedisUrl"
	ParamPublicBaseURL = "PublicBaseUrl"
	// ParamRedisKeyPrefix defaults to "<StackName>:": several stacks may
	// share one Redis (parallel tests, two local runs), and each keeps its
	// limiter and metrics keys apart unless told otherwise.
	ParamRedisKeyPrefix = "RedisKeyPrefix"
	// ParamMetricsToken defaults to a random token made for the run
	// (Platform.MetricsToken): the template requires one, so /metrics is
	// never open on AWS, and a local run is no exception.
	ParamMetricsToken = "MetricsToken"
)

// Config configures Start. DatabaseURL, RedisURL and BinDir are required;
// every other field has a default.
type Config struct {
	// TemplatePath is the SAM template to run (default template.yaml). The
	// directory holding it is the module root used to find aws-lambda-rie.
	TemplatePath string
	// BinDir holds each function's host binary as <BinDir>/<folder>/bootstrap
	// (see BuildFunctions).
	BinDir string
	// StackName prefixes every physical name (queues, bucket, functions), as
	// CloudFormation does. Tests give each run its own name because an
	// in-process emulator shares its state with the whole process.
	StackName string

	DatabaseURL string
	RedisURL    string

	// APIAddr is where the HTTP gateway listens (default 127.0.0.1:8080);
	// port 0 picks a free port, see Platform.APIURL.
	APIAddr string
	// AWSEndpointURL, when set, is an AWS endpoint to use (LocalStack, ...)
	// instead of starting the embedded emulator.
	AWSEndpointURL string
	// EmulatorAddr is where the embedded emulator is exposed (default
	// 127.0.0.1:4566) so that `aws --endpoint-url` reaches it.
	EmulatorAddr string
	// Region is the AWS region (default us-east-1).
	Region string

	// Concurrency is the number of RIE instances per function (default 2),
	// that is the invocations a function runs at once.
	Concurrency int
	// Parameters are template parameter values by name. DatabaseUrl,
	// RedisUrl, PublicBaseUrl and RedisKeyPrefix default to DatabaseURL,
	// RedisURL, the API URL and "<StackName>:".
	Parameters map[string]string
	// Environment is set in every function's environment over the
	// template's variables.
	Environment map[string]string

	// PollWait is the SQS long-poll wait of the event source pollers
	// (default 1s): the emulator does not wake a waiting poll when a delayed
	// or invisible message becomes visible, so long waits only add latency.
	PollWait time.Duration
	// VisibilityTimeout, when positive, is asked for on every receive
	// instead of the queue's visibility timeout (tests use a few seconds so
	// that retries come quickly).
	VisibilityTimeout time.Duration
	// ScheduleInterval, when positive, replaces the rate of every schedule;
	// when negative, schedules never fire.
	ScheduleInterval time.Duration
	// StopGrace is how long a stopped function may take after SIGTERM
	// before it is killed: default 500ms, what Lambda's shutdown phase gives
	// a function with an internal extension (aws-lambda-go's
	// WithEnableSIGTERM), which does not exit on SIGTERM by itself.
	StopGrace time.Duration

	// DashboardDir is the dashboard's build (web/dist) served beside the API
	// on APIAddr (see static.go); empty serves the API alone.
	DashboardDir string

	// RIEPath is the aws-lambda-rie binary; by default the one `go tool -n
	// aws-lambda-rie` names in the module holding the template.
	RIEPath string
	// Logger receives the platform's and the functions' logs (default:
	// discarded).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.TemplatePath == "" {
		c.TemplatePath = DefaultTemplatePath
	}
	if c.StackName == "" {
		c.StackName = DefaultStackName
	}
	if c.APIAddr == "" {
		c.APIAddr = DefaultAPIAddr
	}
	if c.EmulatorAddr == "" {
		c.EmulatorAddr = DefaultEmulatorAddr
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.PollWait <= 0 {
		c.PollWait = DefaultPollWait
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.Parameters = maps.Clone(c.Parameters)
	if c.Parameters == nil {
		c.Parameters = map[string]string{}
	}
	c.Environment = maps.Clone(c.Environment)
	if _, set := c.Environment["CAMPAIGN_WORKER_CONCURRENCY"]; !set {
		// The campaign worker's fair share divides the invocations it
		// really runs at once, which here are the local instances.
		if c.Environment == nil {
			c.Environment = map[string]string{}
		}
		c.Environment["CAMPAIGN_WORKER_CONCURRENCY"] = strconv.Itoa(c.Concurrency)
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("no database URL: set DATABASE_URL"))
	}
	if c.RedisURL == "" {
		errs = append(errs, errors.New("no Redis URL: set REDIS_URL"))
	}
	if c.BinDir == "" {
		errs = append(errs, errors.New("no directory of function binaries: pass -bin"))
	}
	if c.PollWait > 20*time.Second {
		errs = append(errs, fmt.Errorf("poll wait %s: SQS allows at most 20s", c.PollWait))
	}
	if c.VisibilityTimeout > 12*time.Hour {
		errs = append(errs, fmt.Errorf("visibility timeout %s: SQS allows at most 12h", c.VisibilityTimeout))
	}
	return errors.Join(errs...)
}
