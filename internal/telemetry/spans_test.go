package telemetry_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// byName finds the exported span called name.
func byName(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q in %v", name, names(spans))
	return tracetest.SpanStub{}
}

// TestOwnSpansExport checks what the package's own spans (Tracing.Tracer)
// carry to the exporter: the resource and scope, parentage with the client
// libraries' spans, the last value of a repeated attribute, the status
// rules (Error beats Unset), the exception event and links.
func TestOwnSpansExport(t *testing.T) {
	t.Parallel()
	tr, exp := memTracing(t)
	link := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{9}, TraceFlags: trace.FlagsSampled})

	ctx, root := tr.Tracer().Start(context.Background(), "GET", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("a", "first"), attribute.Int("b", 1)),
		trace.WithLinks(trace.Link{SpanContext: link}, trace.Link{}), // a link to nothing is dropped
		trace.WithAttributes(attribute.String("", "an empty key is dropped")))
	_, lib := tr.Provider.Tracer("otelpgx").Start(ctx, "SELECT tenants") // an SDK span
	lib.End()
	root.SetName("GET /v1/me")
	root.SetAttributes(attribute.String("a", "last"), attribute.String("c", "x"))
	root.SetStatus(codes.Error, "boom")
	root.SetStatus(codes.Unset, "") // Unset never replaces Error
	root.RecordError(errors.New("boom"))
	root.End()
	root.SetAttributes(attribute.String("after", "end")) // ignored once ended
	if root.IsRecording() {
		t.Fatal("an ended span still records")
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := exp.GetSpans()
	got, child := byName(t, spans, "GET /v1/me"), byName(t, spans, "SELECT tenants")
	if child.Parent.SpanID() != got.SpanContext.SpanID() || child.SpanContext.TraceID() != got.SpanContext.TraceID() {
		t.Errorf("library child %v of %v, want a child of the package's span", child.Parent, got.SpanContext)
	}
	if got.SpanKind != trace.SpanKindServer || !got.SpanContext.IsSampled() || !got.EndTime.After(got.StartTime) {
		t.Errorf("kind %v, sampled %v, %v–%v", got.SpanKind, got.SpanContext.IsSampled(), got.StartTime, got.EndTime)
	}
	wantAttrs := []attribute.KeyValue{attribute.String("a", "last"), attribute.Int("b", 1), attribute.String("c", "x")}
	if !slices.Equal(got.Attributes, wantAttrs) {
		t.Errorf("attributes %v, want %v", got.Attributes, wantAttrs)
	}
	if got.Status.Code != codes.Error || got.Status.Description != "boom" {
		t.Errorf("status %+v, want Error boom", got.Status)
	}
	if len(got.Events) != 1 || got.Events[0].Name != "exception" ||
		!slices.Contains(got.Events[0].Attributes, attribute.String("exception.message", "boom")) ||
		!slices.Contains(got.Events[0].Attributes, attribute.String("exception.type", "*errors.errorString")) {
		t.Errorf("events %+v, want one exception event", got.Events)
	}
	if len(got.Links) != 1 || !got.Links[0].SpanContext.Equal(link) {
		t.Errorf("links %+v, want %v", got.Links, link)
	}
	if v, _ := got.Resource.Set().Value("service.name"); v.AsString() != telemetry.ServiceName {
		t.Errorf("resource service.name %q", v.AsString())
	}
	if got.InstrumentationScope.Name != "github.com/wuzapi-manager/wuzapi-manager/internal/telemetry" {
		t.Errorf("instrumentation scope %q", got.InstrumentationScope.Name)
	}
	if !got.Resource.Equal(child.Resource) {
		t.Errorf("resource %v, the SDK span's %v", got.Resource, child.Resource)
	}
}

// TestOwnSpansFollowTheSampler: the configured sampler decides for the
// package's spans as for the client libraries'; a span left out still
// carries its ids so the next hop sees the decision.
func TestOwnSpansFollowTheSampler(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingConfig{Exporter: exp, Sampler: "parentbased_always_off"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })

	ctx, root := tr.Tracer().Start(context.Background(), "dropped root")
	if root.IsRecording() || !root.SpanContext().IsValid() || root.SpanContext().IsSampled() {
		t.Fatalf("root recording %v, context %v: want an unsampled, valid, non-recording span", root.IsRecording(), root.SpanContext())
	}
	_, lib := tr.Provider.Tracer("lib").Start(ctx, "dropped child")
	lib.End()
	root.End()

	sampled := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{7}, SpanID: trace.SpanID{7}, TraceFlags: trace.FlagsSampled,
	}))
	_, kept := tr.Tracer().Start(sampled, "kept: the caller sampled it")
	kept.End()
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := names(exp.GetSpans()); !slices.Equal(got, []string{"kept: the caller sampled it"}) {
		t.Fatalf("exported %v, want only the span whose parent was sampled", got)
	}
	if s := exp.GetSpans()[0]; s.SpanContext.TraceID() != (trace.TraceID{7}) || s.Parent.SpanID() != (trace.SpanID{7}) {
		t.Errorf("kept span %v under %v, want the caller's trace", s.SpanContext, s.Parent)
	}

	if _, err := telemetry.NewTracing(context.Background(), telemetry.TracingConfig{
		Exporter: tracetest.NewNoopExporter(), Sampler: "traceidratio", SamplerArg: 1.5,
	}); err == nil {
		t.Error("a ratio above 1 was accepted")
	}
}

// TestHTTPServerAttributesOnAnySpan: the one-step HTTP attributes land the
// same on the package's spans and on a client library's.
func TestHTTPServerAttributesOnAnySpan(t *testing.T) {
	t.Parallel()
	tr, exp := memTracing(t)
	_, own := tr.Tracer().Start(context.Background(), "own")
	_, sdk := tr.Provider.Tracer("lib").Start(context.Background(), "sdk")
	for _, s := range []trace.Span{own, sdk} {
		telemetry.SetHTTPServerAttributes(s, "GET", "/v1/me", "GET /v1/me", 200, "t1")
		s.End()
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, b := byName(t, exp.GetSpans(), "own").Attributes, byName(t, exp.GetSpans(), "sdk").Attributes
	if len(a) != 5 || !slices.Equal(a, b) {
		t.Fatalf("own span %v, SDK span %v", a, b)
	}
}

// capture is an exporter that keeps the ReadOnlySpans themselves.
type capture struct{ spans []sdktrace.ReadOnlySpan }

func (c *capture) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	c.spans = append(c.spans, s...)
	return nil
}
func (c *capture) Shutdown(context.Context) error { return nil }

// TestSpanDataIsACompleteReadOnlySpan calls every exported method of the
// SDK's ReadOnlySpan on an exported span of the package's: none may panic,
// as it would in the OTLP exporter.
func TestSpanDataIsACompleteReadOnlySpan(t *testing.T) {
	t.Parallel()
	exp := &capture{}
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingConfig{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	_, s := tr.Tracer().Start(context.Background(), "span")
	s.End()
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(exp.spans) != 1 {
		t.Fatalf("%d spans exported", len(exp.spans))
	}
	ro := reflect.ValueOf(exp.spans[0])
	iface := reflect.TypeFor[sdktrace.ReadOnlySpan]()
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		if !m.IsExported() {
			continue
		}
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("ReadOnlySpan.%s panics: %v", m.Name, v)
				}
			}()
			ro.MethodByName(m.Name).Call(nil)
		}()
	}
}

// TestEndRecordsAPanic: a span ended by a deferred End in a panicking
// function records the panic, and the panic goes on.
func TestEndRecordsAPanic(t *testing.T) {
	t.Parallel()
	tr, exp := memTracing(t)
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the panic to go on", v)
			}
		}()
		_, s := tr.Tracer().Start(context.Background(), "panics")
		defer s.End()
		panic("boom")
	}()
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := byName(t, exp.GetSpans(), "panics")
	if len(got.Events) != 1 || got.Events[0].Name != "exception" ||
		!slices.Contains(got.Events[0].Attributes, attribute.String("exception.message", "boom")) {
		t.Fatalf("events %+v, want the panic as an exception event", got.Events)
	}
}
