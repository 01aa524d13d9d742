package telemetry

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// recorder is the tracer of the spans this package starts itself — the
// invocation span, the API's route span, the queue and WuzAPI spans. The
// SDK's general-purpose span (a ~500-byte span, a second ~400-byte snapshot
// at End, an attribute map to de-duplicate) cost a 60–130 µs API request
// about 5 µs. A recorder span is one object, written by its owner, buffered
// as it is at End and read by the exporter as the SDK's ReadOnlySpan when
// the invocation flushes. The provider's sampler decides, as for the SDK's
// spans; SetStatus, attribute and link validity, RecordError and a panic at
// End follow the SDK; span limits are not applied (our spans carry a
// handful of attributes). Its spans go to the same exporter, with the same
// resource, as the client libraries' SDK spans, which become its children
// through the context.
type recorder struct {
	embedded.Tracer

	provider trace.TracerProvider // the SDK provider, for Span.TracerProvider
	sampler  sdktrace.Sampler
	proc     *invocationProcessor
	resource *resource.Resource
	scope    instrumentation.Scope
}

var _ trace.Tracer = (*recorder)(nil)

func (r *recorder) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	parentCtx := ctx
	if cfg.NewRoot() {
		parentCtx = trace.ContextWithSpanContext(ctx, trace.SpanContext{})
	}
	parent := trace.SpanContextFromContext(parentCtx)
	traceID := parent.TraceID()
	if !parent.IsValid() {
		traceID = newTraceID()
	}
	kind := trace.ValidateSpanKind(cfg.SpanKind())
	res := r.sampler.ShouldSample(sdktrace.SamplingParameters{
		ParentContext: parentCtx, TraceID: traceID, Name: name, Kind: kind,
		Attributes: cfg.Attributes(), Links: cfg.Links(),
	})
	scc := trace.SpanContextConfig{TraceID: traceID, SpanID: newSpanID(), TraceState: res.Tracestate}
	if res.Decision == sdktrace.RecordAndSample {
		scc.TraceFlags = parent.TraceFlags() | trace.FlagsSampled
	} else {
		scc.TraceFlags = parent.TraceFlags() &^ trace.FlagsSampled
	}
	sc := trace.NewSpanContext(scc)
	if res.Decision != sdktrace.RecordAndSample {
		// Not exported: the context still carries the ids, so children and
		// the next hop see the decision.
		ctx = trace.ContextWithSpanContext(ctx, sc)
		return ctx, trace.SpanFromContext(ctx)
	}
	s := &span{d: spanData{rec: r, sc: sc, parent: parent, kind: kind, name: name, start: cfg.Timestamp()}}
	d := &s.d
	if d.start.IsZero() {
		d.start = time.Now()
	}
	d.attrs = appendValid(d.inline[:0], res.Attributes)
	d.attrs = appendValid(d.attrs, cfg.Attributes())
	for _, l := range cfg.Links() {
		if keepLink(l) {
			d.links = append(d.links, sdktrace.Link{SpanContext: l.SpanContext, Attributes: l.Attributes})
		}
	}
	return trace.ContextWithSpan(ctx, s), s
}

// span is a recorder span. Its owner writes it; the lock makes a stray
// write from another goroutine safe, not fast. Once ended, its data is what
// the exporter reads (spanData), with no copy.
type span struct {
	embedded.Span

	mu    sync.Mutex
	ended bool
	d     spanData
}

// spanData is a span's record, and once the span has ended, the SDK's
// ReadOnlySpan the exporter reads.
type spanData struct {
	// Embedded and nil: only its unexported method is used, which makes
	// *spanData a ReadOnlySpan; every other method is defined below.
	sdktrace.ReadOnlySpan

	rec        *recorder
	sc, parent trace.SpanContext
	kind       trace.SpanKind
	name       string
	start, end time.Time
	status     sdktrace.Status
	attrs      []attribute.KeyValue
	inline     [5]attribute.KeyValue // attrs' first backing array: the route span's fit
	events     []sdktrace.Event
	links      []sdktrace.Link
}

var _ trace.Span = (*span)(nil)

func (s *span) SpanContext() trace.SpanContext { return s.d.sc }

func (s *span) IsRecording() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

func (s *span) TracerProvider() trace.TracerProvider { return s.d.rec.provider }

func (s *span) SetName(name string) {
	s.mu.Lock()
	if !s.ended {
		s.d.name = name
	}
	s.mu.Unlock()
}

func (s *span) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	if !s.ended {
		s.d.attrs = appendValid(s.d.attrs, kv)
	}
	s.mu.Unlock()
}

// appendValid drops invalid attributes (an empty key), as the SDK does.
func appendValid(to, kv []attribute.KeyValue) []attribute.KeyValue {
	for _, a := range kv {
		if a.Valid() {
			to = append(to, a)
		}
	}
	return to
}

// SetStatus follows the SDK: Ok is final, Error beats Unset, and only an
// Error keeps its description.
func (s *span) SetStatus(code codes.Code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.d.status.Code > code {
		return
	}
	s.d.status = sdktrace.Status{Code: code}
	if code == codes.Error {
		s.d.status.Description = description
	}
}

func (s *span) AddEvent(name string, opts ...trace.EventOption) {
	cfg := trace.NewEventConfig(opts...)
	s.mu.Lock()
	if !s.ended {
		s.d.events = append(s.d.events, sdktrace.Event{Name: name, Attributes: cfg.Attributes(), Time: cfg.Timestamp()})
	}
	s.mu.Unlock()
}

// RecordError adds the SDK's "exception" event.
func (s *span) RecordError(err error, opts ...trace.EventOption) {
	if err == nil {
		return
	}
	opts = append(opts, trace.WithAttributes(
		attribute.String("exception.type", errorType(err)),
		attribute.String("exception.message", err.Error()),
	))
	if cfg := trace.NewEventConfig(opts...); cfg.StackTrace() {
		opts = append(opts, trace.WithAttributes(attribute.String("exception.stacktrace", string(debug.Stack()))))
	}
	s.AddEvent("exception", opts...)
}

func errorType(err any) string {
	t := reflect.TypeOf(err)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

func (s *span) AddLink(l trace.Link) {
	if !keepLink(l) {
		return
	}
	s.mu.Lock()
	if !s.ended {
		s.d.links = append(s.d.links, sdktrace.Link{SpanContext: l.SpanContext, Attributes: l.Attributes})
	}
	s.mu.Unlock()
}

// keepLink is the SDK's rule: a link to nothing is dropped unless it
// carries attributes or a tracestate.
func keepLink(l trace.Link) bool {
	return l.SpanContext.IsValid() || len(l.Attributes) > 0 || l.SpanContext.TraceState().Len() > 0
}

// End ends the span. Deferred in a function that panics, it records the
// panic as an exception event, as the SDK does, and lets it go on.
func (s *span) End(opts ...trace.SpanEndOption) {
	if v := recover(); v != nil {
		defer panic(v)
		s.AddEvent("exception", trace.WithAttributes(
			attribute.String("exception.type", errorType(v)),
			attribute.String("exception.message", fmt.Sprint(v)),
		))
	}
	end := time.Time{}
	if len(opts) > 0 {
		cfg := trace.NewSpanEndConfig(opts...)
		end = cfg.Timestamp()
	}
	if end.IsZero() {
		end = time.Now()
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.d.end = true, end
	s.mu.Unlock()
	s.d.rec.proc.record(s)
}

// The ReadOnlySpan of an ended span: buffered as it is at End and read by
// the exporter when the invocation flushes, when no writer is left. Every
// method of the interface is defined here (TestSpanDataIsACompleteReadOnlySpan):
// one left to the nil embedded interface would panic at export.

var _ sdktrace.ReadOnlySpan = (*spanData)(nil)

func (d *spanData) Name() string                   { return d.name }
func (d *spanData) SpanContext() trace.SpanContext { return d.sc }
func (d *spanData) Parent() trace.SpanContext      { return d.parent }
func (d *spanData) SpanKind() trace.SpanKind       { return d.kind }
func (d *spanData) StartTime() time.Time           { return d.start }
func (d *spanData) EndTime() time.Time             { return d.end }
func (d *spanData) Attributes() []attribute.KeyValue {
	return lastOfEachKey(d.attrs)
}
func (d *spanData) Links() []sdktrace.Link                      { return d.links }
func (d *spanData) Events() []sdktrace.Event                    { return d.events }
func (d *spanData) Status() sdktrace.Status                     { return d.status }
func (d *spanData) InstrumentationScope() instrumentation.Scope { return d.rec.scope }
func (d *spanData) Resource() *resource.Resource                { return d.rec.resource }
func (d *spanData) DroppedAttributes() int                      { return 0 }
func (d *spanData) DroppedLinks() int                           { return 0 }
func (d *spanData) DroppedEvents() int                          { return 0 }
func (d *spanData) ChildSpanCount() int                         { return 0 }

//nolint:staticcheck // the interface still requires the deprecated method
func (d *spanData) InstrumentationLibrary() instrumentation.Library { return d.rec.scope }

// lastOfEachKey keeps, of attributes with one key, the last set, in the
// order the keys first appeared — what the SDK exports.
func lastOfEachKey(attrs []attribute.KeyValue) []attribute.KeyValue {
	if !repeatsAKey(attrs) {
		return attrs
	}
	out := make([]attribute.KeyValue, 0, len(attrs))
next:
	for _, a := range attrs {
		for i := range out {
			if out[i].Key == a.Key {
				out[i] = a
				continue next
			}
		}
		out = append(out, a)
	}
	return out
}

func repeatsAKey(attrs []attribute.KeyValue) bool {
	for i := range attrs {
		for j := range i {
			if attrs[j].Key == attrs[i].Key {
				return true
			}
		}
	}
	return false
}

// SetHTTPServerAttributes records an HTTP server span's attributes
// (semantic conventions, plus tenant.id) in one step. On this package's
// spans it calls SetAttributes directly: called through the trace.Span
// interface, the variadic slice would be allocated on every request.
func SetHTTPServerAttributes(s trace.Span, method, path, route string, status int, tenantID string) {
	attrs := [...]attribute.KeyValue{
		attribute.String("http.request.method", method), attribute.String("url.path", path),
		attribute.String("http.route", route), attribute.Int("http.response.status_code", status),
		attribute.String("tenant.id", tenantID),
	}
	if sp, ok := s.(*span); ok {
		sp.SetAttributes(attrs[:]...) // a direct call: attrs stays on the stack
		return
	}
	other := attrs // escapes through the interface call; attrs does not
	s.SetAttributes(other[:]...)
}

// newTraceID and newSpanID draw from the runtime's per-thread generator: no
// lock, unlike the SDK's default generator. Ids are never all zero.
func newTraceID() trace.TraceID {
	var id trace.TraceID
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:8], rand.Uint64())
		binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}

// newSampler is the sampler named as OTEL_TRACES_SAMPLER names it
// (parentbased_always_on when empty), arg the ratio of the traceidratio
// samplers; the SDK provider and the recorder share it, so they decide
// alike.
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
