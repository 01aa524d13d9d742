// Package lambdaruntime serves a Go function's invocations through the
// Lambda Runtime API, in place of aws-lambda-go's lambda.Start.
//
// It does what lambda.Start does for a handler of raw bytes (lambda.Handler)
// at a fraction of the CPU: each loop keeps one TCP connection to the
// Runtime API and writes its requests by hand, so an invocation's two round
// trips (GET next, POST response) cost their system calls and no net/http
// transport goroutines. Every invocation's context carries Lambda's
// deadline and a lambdacontext.LambdaContext (request id, function ARN,
// tenant id, client context and Cognito identity); the X-Ray trace header
// is put in _X_AMZN_TRACE_ID while one invocation runs at a time. A
// returned error is reported as {"errorMessage", "errorType"}; a panic is
// reported with its stack and then stops the process, so that Lambda
// starts a clean one. Failures before serving go to ReportInitError.
//
// Limits: payloads over 8 MiB are refused (Lambda's own limit is 6 MB);
// responses are buffered, not streamed. The Runtime API's address is the
// caller's to give (internal/config reads AWS_LAMBDA_RUNTIME_API); the
// concurrency defaults to AWS_LAMBDA_MAX_CONCURRENCY through lambdacontext.
package lambdaruntime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Handler serves one invocation: its payload (valid until it returns) to
// its response. lambda.Handler values satisfy it.
type Handler interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// AppendHandler is a Handler that can append its response to a buffer the
// loop gives it, which the loop writes and then reuses for its next
// invocations: a response costs no allocation of its own. The handler must
// not keep dst or the slice it returns once it has returned. The loop
// reuses only arrays it made itself, so a response that did not fit (or
// was not appended to dst) is written as it is and the loop's buffer
// grows to its size for the next.
type AppendHandler interface {
	Handler
	InvokeAppend(ctx context.Context, payload, dst []byte) ([]byte, error)
}

// outMax is the largest response buffer a loop keeps.
const outMax = 64 << 10

// Options configure Run.
type Options struct {
	// API is the Runtime API's host:port (AWS_LAMBDA_RUNTIME_API, read by
	// internal/config); empty: Run refuses to start.
	API string
	// OnSIGTERM runs when the process gets SIGTERM. Set, it also registers
	// an extension with the Extensions API (as lambda.WithEnableSIGTERM
	// does), because Lambda sends SIGTERM before stopping an environment
	// only to functions with an extension; nil: neither.
	OnSIGTERM func()
	// Concurrency is how many invocations run at once, each loop with its
	// own connection; 0: AWS_LAMBDA_MAX_CONCURRENCY (Lambda Managed
	// Instances), else 1.
	Concurrency int
	// Logger receives each reported invocation error; nil: the standard
	// logger, as aws-lambda-go prints them.
	Logger func(errorPayload []byte)
}

// Path prefixes of the Runtime and Extensions APIs.
const (
	runtimePrefix   = "/2018-06-01/runtime/"
	extensionPrefix = "/2020-01-01/extension/"
)

// Headers of the Runtime API.
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTenantID    = "Lambda-Runtime-Aws-Tenant-Id"
	headerClient      = "Lambda-Runtime-Client-Context"
	headerCognito     = "Lambda-Runtime-Cognito-Identity"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
)

// Start serves h's invocations until the process is stopped; it returns
// only by exiting the process with status 1 (after a panic, or when the
// Runtime API fails), which makes Lambda start a new one.
func Start(h Handler, opts Options) {
	err := Run(context.Background(), h, opts)
	log.Printf("lambda runtime stopped: %v", err)
	os.Exit(1)
}

// Run serves h's invocations until ctx ends, a handler panics (reported,
// then Run returns an error) or the Runtime API fails.
func Run(ctx context.Context, h Handler, opts Options) error {
	if opts.API == "" {
		return errors.New("no Runtime API address (AWS_LAMBDA_RUNTIME_API): not running in Lambda")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = lambdacontext.MaxConcurrency()
	}
	if opts.OnSIGTERM != nil {
		enableSIGTERM(ctx, opts.API, opts.OnSIGTERM)
	}
	if opts.Concurrency == 1 {
		return newLoop(h, opts).run(ctx)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Go(func() { cancel(newLoop(h, opts).run(ctx)) })
	}
	wg.Wait()
	return context.Cause(ctx)
}

// yieldEvery is how long the loop's goroutine may go on without passing
// through the scheduler: at most this often, an invocation starts with
// runtime.Gosched.
//
// The loop waits for its next invocation in a blocking read, which keeps
// its processor (P) in the runtime's eyes, and an invocation that waits
// for nothing through the network poller (a remembered 429) never parks,
// so the P's scheduling tick can stand still for many invocations. After
// 10 ms of that, the runtime's monitor thread (sysmon) takes the goroutine
// for a runaway: it signals its thread to preempt it (SIGURG), takes the
// P away from the blocking read, and goes back to looking every 20 µs for
// the next millisecond or more. A yield every 5 ms keeps the tick moving
// at the price of one wake-up of an idle thread (Gosched's) each time:
// BenchmarkLoopIdle/nowait 88-112 → 52-61 CPU-µs an invocation, 4.4-4.8
// → 1.8-2.0 voluntary context switches (docs/invocation-costs.md, the
// process between invocations).
const yieldEvery = 5 * time.Millisecond

// loop serves invocations one after the other on one connection.
type loop struct {
	h       Handler
	c       *client
	log     func([]byte)
	setEnv  bool // _X_AMZN_TRACE_ID: one invocation at a time only
	nextReq request
	out     []byte // the response buffer an AppendHandler appends to
	// yielded is when the loop last yielded; now and yield are time.Now
	// and runtime.Gosched outside tests.
	yielded time.Time
	now     func() time.Time
	yield   func()
}

func newLoop(h Handler, opts Options) *loop {
	logf := opts.Logger
	if logf == nil {
		logf = func(p []byte) { log.Printf("%s", p) }
	}
	c := newClient(opts.API)
	c.blocking = true
	return &loop{
		h: h, c: c, log: logf, setEnv: opts.Concurrency == 1,
		nextReq: request{method: http.MethodGet, path: runtimePrefix + "invocation/next", event: true},
		now:     time.Now, yield: runtime.Gosched,
	}
}

func (l *loop) run(ctx context.Context) error {
	defer l.c.close()
	var next reply
	var ok bool // next holds the next invocation, asked for with the last response
	for ctx.Err() == nil {
		if !ok {
			var err error
			next.status, next.header, next.body, err = l.c.do(ctx, l.nextReq)
			if err != nil {
				return fmt.Errorf("get the next invocation: %w", err)
			}
		}
		if next.status != http.StatusOK {
			return fmt.Errorf("get the next invocation: status %d: %.200s", next.status, next.body)
		}
		if now := l.now(); now.Sub(l.yielded) >= yieldEvery {
			l.yield()
			l.yielded = now
		}
		var err error
		if next, ok, err = l.invoke(ctx, next.header, next.body); err != nil {
			return err
		}
	}
	return context.Cause(ctx)
}

// invoke serves one invocation and posts its response or error. It
// returns an error when the process should stop. A response of up to
// pipelineMax bytes goes out in one write with the request for the next
// invocation, whose answer invoke returns (ok true) when the Runtime API
// accepted the response on a connection it kept.
func (l *loop) invoke(ctx context.Context, header headers, payload []byte) (next reply, ok bool, err error) {
	id := header[hRequestID]
	if id == "" {
		return reply{}, false, errors.New("the next invocation has no request id")
	}
	lc, deadline, err := invocationContext(header)
	if err != nil {
		return reply{}, false, l.fail(ctx, id, &invokeError{Message: err.Error(), Type: "Runtime.InvalidInvocation"})
	}
	ictx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ictx = lambdacontext.NewContext(ictx, lc)
	if l.setEnv {
		if err := os.Setenv("_X_AMZN_TRACE_ID", header[hTraceID]); err != nil {
			return reply{}, false, fmt.Errorf("set _X_AMZN_TRACE_ID: %w", err)
		}
	}
	out, ie := call(ictx, l.h, payload, l.out[:0])
	if ie != nil {
		if err := l.fail(ctx, id, ie); err != nil {
			return reply{}, false, err
		}
		if ie.panicked {
			return reply{}, false, fmt.Errorf("the handler panicked: %s", ie.Message)
		}
		return reply{}, false, nil
	}
	status, body, next, ok, err := l.c.doThen(ctx, request{
		method: http.MethodPost, path: runtimePrefix + "invocation/" + id + "/response",
		body: out, contentType: "application/json",
	}, http.StatusAccepted, l.nextReq)
	if err != nil {
		return reply{}, false, fmt.Errorf("post the response of %s: %w", id, err)
	}
	if status != http.StatusAccepted {
		return reply{}, false, fmt.Errorf("post the response of %s: status %d: %.200s", id, status, body)
	}
	l.keep(out)
	return next, ok, nil
}

// keep makes the response buffer as large as out, the response just
// written, when out is not in it already (up to outMax).
func (l *loop) keep(out []byte) {
	if _, ok := l.h.(AppendHandler); !ok || cap(out) <= cap(l.out) || cap(out) > outMax {
		return
	}
	l.out = make([]byte, 0, cap(out))
}

// invocationContext reads the invocation's metadata from its headers.
func invocationContext(header headers) (*lambdacontext.LambdaContext, time.Time, error) {
	ms, err := strconv.ParseInt(header[hDeadline], 10, 64)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("parse %s: %w", headerDeadline, err)
	}
	lc := &lambdacontext.LambdaContext{
		AwsRequestID:       header[hRequestID],
		InvokedFunctionArn: header[hFunctionARN],
		TenantID:           header[hTenantID],
	}
	if v := header[hClient]; v != "" {
		if err := json.Unmarshal([]byte(v), &lc.ClientContext); err != nil {
			return nil, time.Time{}, fmt.Errorf("parse %s: %w", headerClient, err)
		}
	}
	if v := header[hCognito]; v != "" {
		if err := json.Unmarshal([]byte(v), &lc.Identity); err != nil {
			return nil, time.Time{}, fmt.Errorf("parse %s: %w", headerCognito, err)
		}
	}
	return lc, time.UnixMilli(ms), nil
}

// fail posts ie as invocation id's error.
func (l *loop) fail(ctx context.Context, id string, ie *invokeError) error {
	doc := ie.document()
	l.log(doc)
	status, _, body, err := l.c.do(ctx, request{
		method: http.MethodPost, path: runtimePrefix + "invocation/" + id + "/error",
		header: errorTypeHeader(ie.Type), body: doc, contentType: "application/json",
	})
	if err != nil {
		return fmt.Errorf("post the error of %s: %w", id, err)
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("post the error of %s: status %d: %.200s", id, status, body)
	}
	return nil
}

// ReportInitError tells the Runtime API at api (AWS_LAMBDA_RUNTIME_API's
// host:port) that the function failed before serving, so that Lambda
// reports err as the init error (errorType errType) instead of only
// "Runtime.ExitError". The caller exits the process afterwards. Outside
// Lambda it does nothing.
func ReportInitError(api, errType string, err error) error {
	if api == "" {
		return nil
	}
	c := newClient(api)
	defer c.close()
	status, _, body, rerr := c.do(context.Background(), request{
		method: http.MethodPost, path: runtimePrefix + "init/error",
		header: errorTypeHeader(errType), body: (&invokeError{Message: err.Error(), Type: errType}).document(),
		contentType: "application/json",
	})
	if rerr != nil {
		return fmt.Errorf("report the init error: %w", rerr)
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("report the init error: status %d: %.200s", status, body)
	}
	return nil
}

func errorTypeHeader(t string) []byte {
	return []byte(headerErrorType + ": " + headerSafe(t) + "\r\n")
}

// headerSafe is s without the bytes a header value may not hold.
func headerSafe(s string) string {
	b := []byte(s)
	n := 0
	for _, c := range b {
		if c >= 0x20 && c != 0x7f {
			b[n] = c
			n++
		}
	}
	return string(b[:n])
}

// enableSIGTERM runs onTerm on SIGTERM and registers an extension that
// subscribes to no event, which is what makes Lambda send SIGTERM (and
// wait about 500 ms) before it stops the environment. The extension's
// next event never comes: one goroutine waits for it, parked, for the
// life of the process. A failed registration is logged, not fatal.
func enableSIGTERM(ctx context.Context, api string, onTerm func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		select {
		case <-sig:
			onTerm()
		case <-ctx.Done():
			signal.Stop(sig)
		}
	}()
	c := newClient(api)
	status, header, body, err := c.do(ctx, request{
		method: http.MethodPost, path: extensionPrefix + "register",
		header: []byte("Lambda-Extension-Name: GoLangEnableSIGTERM\r\n"), body: []byte(`{"events":[]}`),
		contentType: "application/json",
	})
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d: %.200s", status, body)
	}
	if err != nil {
		c.close()
		log.Printf("WARNING: extension not registered, SIGTERM may not come: %v", err)
		return
	}
	id := header[hExtensionID]
	go func() {
		defer c.close()
		_, _, _, err := c.do(ctx, request{
			method: http.MethodGet, path: extensionPrefix + "event/next",
			header: []byte("Lambda-Extension-Identifier: " + headerSafe(id) + "\r\n"),
		})
		if ctx.Err() == nil {
			log.Printf("WARNING: the SIGTERM extension's next event returned: %v", err)
		}
	}()
}
