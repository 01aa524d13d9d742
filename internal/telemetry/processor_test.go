package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestFullBufferExportsInTheBackground: a process that never flushes (a
// local server, a test) still exports once maxBuffered spans are waiting,
// the package's spans and the SDK's alike, and the next flush sends the
// rest.
func TestFullBufferExportsInTheBackground(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := NewTracing(context.Background(), TracingConfig{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	proc := tr.proc
	sdkTracer := tr.Provider.Tracer("lib")
	for i := range maxBuffered + 10 {
		tracer := tr.Tracer()
		if i%2 == 1 {
			tracer = sdkTracer
		}
		_, s := tracer.Start(context.Background(), "span")
		s.End()
	}
	proc.inflight.Wait()
	if n := len(exp.GetSpans()); n != maxBuffered {
		t.Fatalf("%d spans exported before any flush, want %d", n, maxBuffered)
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != maxBuffered+10 {
		t.Fatalf("%d spans exported after the flush, want %d", n, maxBuffered+10)
	}
}
