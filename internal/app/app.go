// Package app wires the functions: Open builds what every function shares
// (logger, Postgres pool, Redis client, AWS clients, telemetry) from its
// configuration, one constructor per function builds its handler on them,
// and Start serves it. A function's main only calls these three.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/exaring/otelpgx"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// Deps are the shared clients of a function.
type Deps struct {
	Config config.Shared
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
	// stopProfile ends the CPU profile of Config.CPUProfileDir; nil: none.
	stopProfile func() error
}

// Open builds Deps from c. Close releases them.
func Open(ctx context.Context, c config.Shared) (*Deps, error) { return open(ctx, c, false) }

// OpenAPI is Open for the api function, whose Postgres connections are
// sockets outside the network poller (postgres.Options.BlockingSockets): it
// runs one statement at a time, and a status request's round trip costs
// ~20 µs less of its CPU so. The workers, whose send loops share their
// pool, did not gain (docs/invocation-costs.md).
func OpenAPI(ctx context.Context, c config.Shared) (*Deps, error) { return open(ctx, c, true) }

func open(ctx context.Context, c config.Shared, blockingPostgres bool) (*Deps, error) {
	stopProfile, err := startProfile(c)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo})).
		With("function", c.FunctionName)
	tracing, err := telemetry.NewTracing(ctx, telemetry.TracingConfig{
		Endpoint: c.OTLPEndpoint, ServiceVersion: c.ServiceVersion, Environment: c.Environment, Function: c.FunctionName,
		Sampler: c.TracesSampler, SamplerArg: c.TracesSamplerArg,
	})
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if tracing.Enabled() {
		appendAWSTracing(&awsCfg.APIOptions, tracing.ChildOnly(), tracing.Propagator)
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
	// No round trip to Postgres at init: the pool connects in the background
	// while the runtime waits for the first event.
	pgOpts := postgres.Options{MaxConns: int32(c.DatabaseMaxConns), Pooled: c.DatabasePooler == config.PoolerTransaction,
		ConnectLater: true, BlockingSockets: blockingPostgres}
	if c.WebhooksQueueURL != "" {
		// Writers of tenant webhook events ask for their delivery runs.
		pgOpts.Webhooks, pgOpts.Logger = queue.WebhookRuns{Client: q, URL: c.WebhooksQueueURL}, logger
	}
	if tracing.Enabled() {
		pgOpts.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(tracing.Provider), // SQL trimmed in span names: otelpgx's default
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
	metrics := telemetry.NewMetrics()
	// Per environment: a staging and a production stack sharing one Redis
	// keep their totals apart.
	fleet := &telemetry.Fleet{Redis: rdb, Prefix: c.RedisKeyPrefix + telemetry.DefaultPrefix + c.Environment + ":"}
	flusher := fleet.NewFlusher(metrics, c.FunctionName, telemetry.MemoryRatio(c.FunctionMemoryMB))
	flusher.Interval = c.MetricsFlushInterval
	return &Deps{
		Config: c, Logger: logger, DB: db, Redis: rdb, AWS: awsCfg, SQS: sqsc, S3: s3c, Queue: q,
		Metrics: metrics, Fleet: fleet, Flusher: flusher,
		Tracing: tracing, stopProfile: stopProfile,
	}, nil
}

// startProfile starts the CPU profile Config.CPUProfileDir asks for and
// returns what stops it; nil when none is asked for.
func startProfile(c config.Shared) (func() error, error) {
	if c.CPUProfileDir == "" {
		return nil, nil
	}
	f, err := os.Create(filepath.Join(c.CPUProfileDir, fmt.Sprintf("%s-%d.pprof", c.FunctionName, os.Getpid())))
	if err != nil {
		return nil, fmt.Errorf("CPU_PROFILE_DIR: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("CPU_PROFILE_DIR: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// Close flushes what telemetry still holds, then releases the pool and the
// Redis client.
func (d *Deps) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), telemetry.FlushTimeout)
	defer cancel()
	errs := []error{d.Flusher.Flush(ctx), d.Tracing.Shutdown(ctx)}
	d.DB.Close()
	errs = append(errs, d.Redis.Close())
	if d.stopProfile != nil {
		errs = append(errs, d.stopProfile())
	}
	return errors.Join(errs...)
}
