package telemetry

import (
	"context"
	"fmt"
	"strings"
	"time"

	lambdadetector "go.opentelemetry.io/contrib/detectors/aws/lambda"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// ServiceName is the service.name of every span.
const ServiceName = "wuzapi-manager"

// tracerName is the tracer name of the spans this package starts.
const tracerName = "github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"

// TracingConfig chooses where spans go.
type TracingConfig struct {
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT, the OTLP/HTTP base URL
	// (spans are posted to Endpoint + "/v1/traces"). Empty and no Exporter:
	// tracing is off.
	Endpoint string
	// Exporter replaces the OTLP exporter (tests pass tracetest's in-memory
	// exporter).
	Exporter sdktrace.SpanExporter
	// ServiceVersion and Environment become service.version and
	// deployment.environment.
	ServiceVersion string
	Environment    string
	// Function is this function's short name (api, campaign-worker, ...),
	// recorded as faas.name when the Lambda detector finds nothing.
	Function string
	// Sampler names the sampler as OTEL_TRACES_SAMPLER does (empty:
	// parentbased_always_on); SamplerArg is the ratio of the traceidratio
	// samplers.
	Sampler    string
	SamplerArg float64
}

// Tracing is a function's tracer provider. The zero of its use is the off
// state: when Enabled is false every helper in this package skips span work
// entirely, so a function without an endpoint pays one nil check per call.
type Tracing struct {
	// Provider makes tracers; a no-op provider when tracing is off.
	Provider trace.TracerProvider
	// Propagator reads and writes W3C traceparent/tracestate.
	Propagator propagation.TextMapPropagator

	sdk    *sdktrace.TracerProvider
	proc   *invocationProcessor
	tracer trace.Tracer
}

// Off is tracing switched off.
func Off() *Tracing {
	p := noop.NewTracerProvider()
	return &Tracing{Provider: p, Propagator: propagation.TraceContext{}, tracer: p.Tracer(tracerName)}
}

// NewTracing builds the tracer provider described by cfg: an OTLP/HTTP
// exporter behind a processor that exports when flushed, and the service's resource merged
// with what the Lambda detector finds in the environment.
func NewTracing(ctx context.Context, cfg TracingConfig) (*Tracing, error) {
	exp := cfg.Exporter
	if exp == nil {
		if cfg.Endpoint == "" {
			return Off(), nil
		}
		var err error
		exp, err = otlptracehttp.New(ctx,
			otlptracehttp.WithEndpointURL(strings.TrimRight(cfg.Endpoint, "/")+"/v1/traces"),
			// A frozen Lambda must not hold an invocation on a dead collector.
			otlptracehttp.WithTimeout(3*time.Second),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
		)
		if err != nil {
			return nil, fmt.Errorf("create OTLP exporter for %s: %w", cfg.Endpoint, err)
		}
	}
	res, err := Resource(ctx, cfg)
	if err != nil {
		return nil, err
	}
	sampler, err := newSampler(cfg.Sampler, cfg.SamplerArg)
	if err != nil {
		return nil, err
	}
	proc := newInvocationProcessor(exp)
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
		// Exported when the invocation wrapper flushes, before returning.
		sdktrace.WithSpanProcessor(proc),
	)
	return &Tracing{
		Provider:   sdk,
		Propagator: propagation.TraceContext{}, // W3C traceparent/tracestate; no baggage is used
		sdk:        sdk,
		proc:       proc,
		tracer:     sdk.Tracer(tracerName),
	}, nil
}

// newSampler is the sampler named as OTEL_TRACES_SAMPLER names it
// (parentbased_always_on when empty), arg the ratio of the traceidratio
// samplers. Unlike the SDK reading the variables itself, a name or ratio it
// would not accept is an error, which stops the function at start-up.
func newSampler(name string, arg float64) (sdktrace.Sampler, error) {
	ratio := func() (sdktrace.Sampler, error) {
		if arg < 0 || arg > 1 {
			return nil, fmt.Errorf("sampler argument %v: want a ratio from 0 to 1", arg)
		}
		return sdktrace.TraceIDRatioBased(arg), nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		return ratio()
	case "parentbased_traceidratio":
		s, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.ParentBased(s), nil
	}
	return nil, fmt.Errorf("sampler %q is not supported", name)
}

// Resource is the resource of every span: service.name, service.version and
// deployment.environment, merged with the Lambda resource detector's cloud
// and faas attributes.
func Resource(ctx context.Context, cfg TracingConfig) (*resource.Resource, error) {
	version := cfg.ServiceVersion
	if version == "" {
		version = "dev"
	}
	attrs := []attribute.KeyValue{
		attribute.String("service.name", ServiceName),
		attribute.String("service.version", version),
		attribute.String("deployment.environment", cfg.Environment),
		attribute.String("deployment.environment.name", cfg.Environment),
	}
	det, err := lambdadetector.NewResourceDetector().Detect(ctx)
	if err != nil {
		return nil, fmt.Errorf("detect lambda resource: %w", err)
	}
	if det == nil || det.Len() == 0 {
		if cfg.Function != "" {
			attrs = append(attrs, attribute.String("faas.name", cfg.Function))
		}
		det = resource.Empty()
	}
	// Schemaless on our side: merging two schema URLs is an error, and the
	// detector's is the one that names its attributes.
	return resource.Merge(det, resource.NewSchemaless(attrs...))
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// Tracer is the tracer of the spans this project starts itself (invocation,
// route, queue consumer, WuzAPI client): the SDK's, under this package's
// instrumentation scope. Client libraries get Provider.
func (t *Tracing) Tracer() trace.Tracer { return t.tracer }

// Flush exports every finished span now. Lambda freezes the process as soon
// as the handler returns, so the invocation wrapper calls it before that.
func (t *Tracing) Flush(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.sdk.ForceFlush(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

// Shutdown flushes and stops the provider (on SIGTERM).
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down tracing: %w", err)
	}
	return nil
}

type tracingKey struct{}

// WithTracing returns ctx carrying t, so code that has no handle on the
// provider (the queue router, the WuzAPI transport) can find it.
func WithTracing(ctx context.Context, t *Tracing) context.Context {
	return context.WithValue(ctx, tracingKey{}, t)
}

// TracingFrom returns the Tracing of ctx, or nil when tracing is off.
func TracingFrom(ctx context.Context) *Tracing {
	t, _ := ctx.Value(tracingKey{}).(*Tracing)
	if !t.Enabled() {
		return nil
	}
	return t
}

// ChildOnly returns a provider whose spans exist only under a recording
// parent. Client libraries (go-redis, the AWS SDK) would otherwise start a
// root trace of their own for every untraced call: the /health probes, the
// end-of-invocation metrics flush, the scheduler's polls.
func (t *Tracing) ChildOnly() trace.TracerProvider {
	return childOnlyProvider{inner: t.Provider}
}

type childOnlyProvider struct {
	embedded.TracerProvider
	inner trace.TracerProvider
}

func (p childOnlyProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childOnlyTracer{inner: p.inner.Tracer(name, opts...)}
}

type childOnlyTracer struct {
	embedded.Tracer
	inner trace.Tracer
}

func (t childOnlyTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if parent := trace.SpanFromContext(ctx); !parent.IsRecording() {
		return ctx, parent
	}
	return t.inner.Start(ctx, name, opts...)
}
