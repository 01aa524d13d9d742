// Package app reads a function's settings from its environment and builds
// what every function shares: logger, Postgres pool, Redis client and AWS
// clients. Function mains call it and wire the rest.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/exaring/otelpgx"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"

	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// Config is the settings every function reads, named as in template.yaml;
// a function's main reads its own few besides (the template gives each
// function only what it reads, checked by infra/samtpl).
type Config struct {
	FunctionName       string // AWS_LAMBDA_FUNCTION_NAME
	Environment        string // DEPLOYMENT_ENVIRONMENT
	ServiceVersion     string // SERVICE_VERSION (else the binary's VCS revision)
	DatabaseURL        string // DATABASE_URL
	RedisURL           string // REDIS_URL
	RedisKeyPrefix     string // REDIS_KEY_PREFIX: before every limiter and metrics key, so stacks can share a Redis
	AdminAPIKey        string // ADMIN_API_KEY
	MetricsToken       string // METRICS_TOKEN
	PublicBaseURL      string // PUBLIC_BASE_URL
	AllowPrivateWuzapi bool   // ALLOW_PRIVATE_WUZAPI
	OTLPEndpoint       string // OTEL_EXPORTER_OTLP_ENDPOINT
	AlertWebhookURL    string // ALERT_WEBHOOK_URL
	AWSEndpointURL     string // AWS_ENDPOINT_URL (emulators only)
	CampaignsQueueURL  string // CAMPAIGNS_QUEUE_URL
	ImportsQueueURL    string // IMPORTS_QUEUE_URL
	ReportsQueueURL    string // REPORTS_QUEUE_URL
	CampaignsDLQURL    string // CAMPAIGNS_DLQ_URL
	ImportsDLQURL      string // IMPORTS_DLQ_URL
	ReportsDLQURL      string // REPORTS_DLQ_URL
	BucketName         string // BUCKET_NAME
}

// FromEnv reads Config from the environment. DATABASE_URL and REDIS_URL are
// required.
func FromEnv() (Config, error) {
	allow, _ := strconv.ParseBool(os.Getenv("ALLOW_PRIVATE_WUZAPI"))
	c := Config{
		FunctionName:       os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		Environment:        envOr("DEPLOYMENT_ENVIRONMENT", "local"),
		ServiceVersion:     envOr("SERVICE_VERSION", buildVersion()),
		DatabaseURL:        os.Getenv("DATABASE_URL"),
		RedisURL:           os.Getenv("REDIS_URL"),
		RedisKeyPrefix:     os.Getenv("REDIS_KEY_PREFIX"),
		AdminAPIKey:        os.Getenv("ADMIN_API_KEY"),
		MetricsToken:       os.Getenv("METRICS_TOKEN"),
		PublicBaseURL:      strings.TrimRight(envOr("PUBLIC_BASE_URL", "http://127.0.0.1:8080"), "/"),
		AllowPrivateWuzapi: allow,
		OTLPEndpoint:       os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		AlertWebhookURL:    os.Getenv("ALERT_WEBHOOK_URL"),
		AWSEndpointURL:     os.Getenv("AWS_ENDPOINT_URL"),
		CampaignsQueueURL:  os.Getenv("CAMPAIGNS_QUEUE_URL"),
		ImportsQueueURL:    os.Getenv("IMPORTS_QUEUE_URL"),
		ReportsQueueURL:    os.Getenv("REPORTS_QUEUE_URL"),
		CampaignsDLQURL:    os.Getenv("CAMPAIGNS_DLQ_URL"),
		ImportsDLQURL:      os.Getenv("IMPORTS_DLQ_URL"),
		ReportsDLQURL:      os.Getenv("REPORTS_DLQ_URL"),
		BucketName:         os.Getenv("BUCKET_NAME"),
	}
	var missing []string
	if c.DatabaseURL == "" {
		missing = append(missing, "DATABASE_URL")
	}
	if c.RedisURL == "" {
		missing = append(missing, "REDIS_URL")
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("missing environment: %s", strings.Join(missing, ", "))
	}
	return c, nil
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

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Queues returns the URLs of the work queues that are configured.
func (c Config) Queues() []string {
	var out []string
	for _, u := range []string{c.CampaignsQueueURL, c.ImportsQueueURL, c.ReportsQueueURL} {
		if u != "" {
			out = append(out, u)
		}
	}
	return out
}

// Deps are the shared clients of a function.
type Deps struct {
	Config Config
	Logger *slog.Logger
	DB     *postgres.DB
	Redis  *redis.Client
	AWS    aws.Config
	SQS    *sqs.Client
	S3     *s3.Client
	Queue  *queue.Client
	// Metrics are this instance's metrics; Flusher adds them to the Fleet
	// store at the end of every invocation, so /metrics shows the fleet.
	Metrics *telemetry.Metrics
	Fleet   *telemetry.Fleet
	Flusher *telemetry.Flusher
	// Tracing is the tracer provider; off without OTEL_EXPORTER_OTLP_ENDPOINT.
	// Postgres, Redis, AWS SDK calls and queue sends are instrumented with
	// it when on, and left alone (zero cost) when off.
	Tracing *telemetry.Tracing
}

// Open builds Deps from c. Close releases them.
func Open(ctx context.Context, c Config) (*Deps, error) {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo})).
		With("function", c.FunctionName)
	tracing, err := telemetry.NewTracing(ctx, telemetry.TracingConfig{
		Endpoint: c.OTLPEndpoint, ServiceVersion: c.ServiceVersion, Environment: c.Environment, Function: c.FunctionName,
	})
	if err != nil {
		return nil, err
	}
	pgOpts := postgres.Options{MaxConns: 4}
	if tracing.Enabled() {
		pgOpts.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(tracing.Provider), otelpgx.WithTrimSQLInSpanName(),
			otelpgx.WithDisableAcquireTracer()) // a span per pool checkout is noise beside the query's
	}
	db, err := postgres.Open(ctx, c.DatabaseURL, pgOpts)
	if err != nil {
		return nil, err
	}
	ropts, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	// Honour context deadlines (the invocation's, the rate limiter's 100 ms)
	// instead of waiting out ReadTimeout.
	ropts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(ropts)
	if tracing.Enabled() {
		if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(tracing.ChildOnly())); err != nil {
			db.Close()
			_ = rdb.Close()
			return nil, fmt.Errorf("instrument redis: %w", err)
		}
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		db.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if tracing.Enabled() {
		otelaws.AppendMiddlewares(&awsCfg.APIOptions,
			otelaws.WithTracerProvider(tracing.ChildOnly()), otelaws.WithTextMapPropagator(tracing.Propagator))
	}
	sqsc := sqs.NewFromConfig(awsCfg)
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// Emulators answer on one host; virtual-hosted buckets do not resolve.
		o.UsePathStyle = c.AWSEndpointURL != ""
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	q := &queue.Client{SQS: sqsc, Probed: c.Queues()}
	if tracing.Enabled() {
		q.Attributes = tracing.MessageAttributes
	}
	metrics := telemetry.NewMetrics()
	// Per environment: a staging and a production stack sharing one Redis
	// keep their totals apart.
	fleet := &telemetry.Fleet{Redis: rdb, Prefix: c.RedisKeyPrefix + telemetry.DefaultPrefix + c.Environment + ":"}
	return &Deps{
		Config: c, Logger: logger, DB: db, Redis: rdb, AWS: awsCfg, SQS: sqsc, S3: s3c, Queue: q,
		Metrics: metrics, Fleet: fleet, Flusher: fleet.NewFlusher(metrics, c.FunctionName, telemetry.MemoryRatio),
		Tracing: tracing,
	}, nil
}

// Close flushes what telemetry still holds, then releases the pool and the
// Redis client.
func (d *Deps) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), telemetry.FlushTimeout)
	defer cancel()
	errs := []error{d.Flusher.Flush(ctx), d.Tracing.Shutdown(ctx)}
	d.DB.Close()
	return errors.Join(append(errs, d.Redis.Close())...)
}
