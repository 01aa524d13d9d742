package telemetry

import (
	"context"
	"errors"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// maxBuffered is how many ended spans wait for a flush before they are
// exported in the background: an invocation's spans fit, a long-running
// process (tests, a local server) still exports as it goes.
const maxBuffered = 512

// bufferCap is the buffer's starting capacity: an invocation's spans fit
// without growing it.
const bufferCap = 16

// invocationProcessor buffers ended spans in memory and exports them on
// ForceFlush, which the
// invocation wrapper calls before every invocation returns. Unlike the SDK's
// batch processor it has no goroutine woken per span: ending a span is an
// append under a mutex.
type invocationProcessor struct {
	exp sdktrace.SpanExporter

	mu       sync.Mutex
	buf      []sdktrace.ReadOnlySpan
	inflight sync.WaitGroup
	stopped  bool
	lastErr  error // of a background export, reported by the next flush
}

var _ sdktrace.SpanProcessor = (*invocationProcessor)(nil)

func newInvocationProcessor(exp sdktrace.SpanExporter) *invocationProcessor {
	return &invocationProcessor{exp: exp, buf: make([]sdktrace.ReadOnlySpan, 0, bufferCap)}
}

func (p *invocationProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (p *invocationProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	p.buffer(s)
}

// buffer keeps an ended span for the next flush; a full buffer goes out in
// the background.
func (p *invocationProcessor) buffer(s sdktrace.ReadOnlySpan) {
	p.mu.Lock()
	if !p.stopped {
		p.buf = append(p.buf, s)
	}
	if len(p.buf) < maxBuffered {
		p.mu.Unlock()
		return
	}
	spans := p.take()
	p.inflight.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.inflight.Done()
		if err := p.exp.ExportSpans(context.Background(), spans); err != nil {
			p.mu.Lock()
			p.lastErr = err
			p.mu.Unlock()
		}
	}()
}

// take hands the buffered spans over to an export; p.mu is held. The
// exporter may keep the slice, so the buffer starts afresh.
func (p *invocationProcessor) take() []sdktrace.ReadOnlySpan {
	spans := p.buf
	p.buf = make([]sdktrace.ReadOnlySpan, 0, bufferCap)
	return spans
}

// ForceFlush exports every buffered span and waits for background exports.
func (p *invocationProcessor) ForceFlush(ctx context.Context) error {
	p.mu.Lock()
	spans := p.take()
	bgErr := p.lastErr
	p.lastErr = nil
	p.mu.Unlock()
	var err error
	if len(spans) > 0 {
		err = p.exp.ExportSpans(ctx, spans)
	}
	p.inflight.Wait()
	return errors.Join(err, bgErr)
}

func (p *invocationProcessor) Shutdown(ctx context.Context) error {
	err := p.ForceFlush(ctx)
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	return errors.Join(err, p.exp.Shutdown(ctx))
}
