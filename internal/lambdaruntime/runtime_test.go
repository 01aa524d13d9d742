package lambdaruntime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// fakeAPI is the Runtime API and the Extensions API as Lambda serves them,
// over real HTTP: /next hands out the invocations queued with add, and
// every response, error and registration is recorded.
type fakeAPI struct {
	t    *testing.T
	srv  *httptest.Server
	next chan invocation
	// results receives each posted response or error.
	results chan result
	// conns counts the TCP connections the runtime opened.
	conns atomic.Int32
	// dropAfter, when set for a request id, makes the API answer that
	// invocation's response and then close the connection abruptly, as a
	// runtime API restarted between invocations would.
	dropAfter sync.Map
	mu        sync.Mutex
	extension string // the registered extension's name
	initError *result
}

type invocation struct {
	id       string
	deadline time.Time
	header   map[string]string
	payload  string
}

type result struct {
	id        string
	kind      string // "response" or "error"
	body      string
	errorType string // the Lambda-Runtime-Function-Error-Type header
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, next: make(chan invocation, 16), results: make(chan result, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", f.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/{kind}", f.serveResult)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.initError = &result{kind: "init", body: string(body), errorType: r.Header.Get(headerErrorType)}
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.extension = r.Header.Get("Lambda-Extension-Name")
		f.mu.Unlock()
		w.Header().Set("Lambda-Extension-Identifier", "ext-1")
		_, _ = io.WriteString(w, `{"functionName":"f"}`)
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // no events were subscribed to: never answers
	})
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeAPI) add(inv invocation) {
	if inv.deadline.IsZero() {
		inv.deadline = time.Now().Add(time.Minute)
	}
	f.next <- inv
}

func (f *fakeAPI) serveNext(w http.ResponseWriter, r *http.Request) {
	var inv invocation
	select {
	case inv = <-f.next:
	case <-r.Context().Done():
		return
	}
	h := w.Header()
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadline, fmt.Sprint(inv.deadline.UnixMilli()))
	h.Set(headerFunctionARN, "arn:aws:lambda:us-east-1:000000000000:function:f")
	for k, v := range inv.header {
		h.Set(k, v)
	}
	_, _ = io.WriteString(w, inv.payload)
}

func (f *fakeAPI) serveResult(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, kind := r.PathValue("id"), r.PathValue("kind")
	if kind != "response" && kind != "error" {
		http.NotFound(w, r)
		return
	}
	f.results <- result{id: id, kind: kind, body: string(body), errorType: r.Header.Get(headerErrorType)}
	if _, drop := f.dropAfter.Load(id); drop {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			f.t.Errorf("hijack: %v", err)
			return
		}
		_, _ = brw.WriteString("HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n")
		_ = brw.Flush()
		_ = conn.Close()
		return
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// result waits for the next posted result.
func (f *fakeAPI) result(t *testing.T) result {
	t.Helper()
	select {
	case r := <-f.results:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no response or error posted within 30 s")
		return result{}
	}
}

// handlerFunc adapts a function to Handler.
type handlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

func (h handlerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return h(ctx, payload)
}

// run starts Run on f with h and returns a channel of its result; the
// test's end stops it.
func run(t *testing.T, f *fakeAPI, h Handler, opts Options) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, finished := make(chan error, 1), make(chan struct{})
	opts.API = f.addr()
	go func() {
		done <- Run(ctx, h, opts)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		f.srv.CloseClientConnections() // unblocks a waiting /next
		<-finished
	})
	return done
}

func TestRunServesInvocationsOnOneConnection(t *testing.T) {
	f := newFakeAPI(t)
	deadline := time.UnixMilli(time.Now().Add(42 * time.Second).UnixMilli())
	type seen struct {
		payload, requestID, arn, tenant, trace string
		deadline                               time.Time
	}
	got := make(chan seen, 3)
	run(t, f, handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		dl, _ := ctx.Deadline()
		got <- seen{string(payload), lc.AwsRequestID, lc.InvokedFunctionArn, lc.TenantID, os.Getenv("_X_AMZN_TRACE_ID"), dl}
		return []byte(`{"echo":` + string(payload) + `}`), nil
	}), Options{Concurrency: 1})

	for i := range 3 {
		id := fmt.Sprintf("req-%d", i)
		payload := fmt.Sprintf(`{"n":%d}`, i)
		f.add(invocation{id: id, deadline: deadline, payload: payload, header: map[string]string{
			headerTraceID: "Root=1-abc-" + id, headerTenantID: "tenant-" + id,
		}})
		r := f.result(t)
		if want := (result{id: id, kind: "response", body: `{"echo":` + payload + `}`}); r != want {
			t.Errorf("invocation %s: posted %+v, want %+v", id, r, want)
		}
		s := <-got
		want := seen{payload, id, "arn:aws:lambda:us-east-1:000000000000:function:f", "tenant-" + id, "Root=1-abc-" + id, deadline}
		if s != want {
			t.Errorf("invocation %s: handler saw %+v, want %+v", id, s, want)
		}
	}
	if n := f.conns.Load(); n != 1 {
		t.Errorf("runtime opened %d connections for 3 invocations, want 1 kept alive", n)
	}
}

func TestRunReportsErrorsAndGoesOn(t *testing.T) {
	f := newFakeAPI(t)
	run(t, f, handlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		if string(payload) == `"fail"` {
			return nil, errors.New("no such campaign")
		}
		return payload, nil
	}), Options{Concurrency: 1, Logger: func([]byte) {}})

	f.add(invocation{id: "a", payload: `"fail"`})
	r := f.result(t)
	if r.id != "a" || r.kind != "error" || r.errorType != "errorString" {
		t.Fatalf("posted %+v, want an error of a with type errorString", r)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if want := map[string]any{"errorMessage": "no such campaign", "errorType": "errorString"}; fmt.Sprint(doc) != fmt.Sprint(want) {
		t.Errorf("error body = %v, want %v", doc, want)
	}
	f.add(invocation{id: "b", payload: `"ok"`})
	if r := f.result(t); r.id != "b" || r.kind != "response" || r.body != `"ok"` {
		t.Errorf("after an error: posted %+v, want b's response", r)
	}
}

func TestRunReportsPanicsAndStops(t *testing.T) {
	f := newFakeAPI(t)
	done := run(t, f, handlerFunc(func(context.Context, []byte) ([]byte, error) {
		var m map[string]int
		m["x"] = 1 //nolint:staticcheck // the runtime panic under test: assignment to entry in nil map
		return nil, nil
	}), Options{Concurrency: 1, Logger: func([]byte) {}})

	f.add(invocation{id: "p", payload: `{}`})
	r := f.result(t)
	var doc struct {
		Message    string       `json:"errorMessage"`
		Type       string       `json:"errorType"`
		StackTrace []stackFrame `json:"stackTrace"`
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if r.kind != "error" || doc.Message != "assignment to entry in nil map" || r.errorType != doc.Type || doc.Type == "" {
		t.Errorf("posted %+v (document %+v), want the panic's error", r, doc)
	}
	// The map assignment's runtime frame, then the handler.
	if len(doc.StackTrace) < 2 || !strings.HasPrefix(doc.StackTrace[1].Label, "TestRunReportsPanicsAndStops") ||
		!strings.HasSuffix(doc.StackTrace[1].Path, "lambdaruntime/runtime_test.go") {
		t.Errorf("stack trace = %+v, want it to start where the handler panicked", doc.StackTrace)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "panicked") {
			t.Errorf("Run = %v, want the panic's error so that the process exits", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run goes on after a panic, want it to return")
	}
}

func TestRunReconnectsAfterABrokenConnection(t *testing.T) {
	f := newFakeAPI(t)
	run(t, f, handlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		return payload, nil
	}), Options{Concurrency: 1})

	f.dropAfter.Store("1", true)
	for _, id := range []string{"1", "2"} {
		f.add(invocation{id: id, payload: `"` + id + `"`})
		if r := f.result(t); r.id != id || r.kind != "response" {
			t.Fatalf("posted %+v, want %s's response", r, id)
		}
	}
	if n := f.conns.Load(); n != 2 {
		t.Errorf("connections = %d, want 2 (the second after the API closed the first)", n)
	}
}

func TestRunPassesADeadlineInThePast(t *testing.T) {
	f := newFakeAPI(t)
	errs := make(chan error, 1)
	run(t, f, handlerFunc(func(ctx context.Context, payload []byte) ([]byte, error) {
		errs <- ctx.Err()
		return payload, nil
	}), Options{Concurrency: 1})
	f.add(invocation{id: "late", deadline: time.Now().Add(-time.Second), payload: `1`})
	f.result(t)
	if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ctx.Err() = %v, want DeadlineExceeded for a deadline already past", err)
	}
}

func TestRunRefusesAnInvocationWithoutDeadline(t *testing.T) {
	f := newFakeAPI(t)
	called := make(chan struct{}, 1)
	run(t, f, handlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		called <- struct{}{}
		return payload, nil
	}), Options{Concurrency: 1, Logger: func([]byte) {}})
	f.add(invocation{id: "bad", payload: `1`, header: map[string]string{headerDeadline: "soon"}})
	if r := f.result(t); r.kind != "error" || r.errorType != "Runtime.InvalidInvocation" {
		t.Errorf("posted %+v, want an error of type Runtime.InvalidInvocation", r)
	}
	select {
	case <-called:
		t.Error("the handler ran without a deadline")
	default:
	}
}

func TestRunServesConcurrentLoops(t *testing.T) {
	f := newFakeAPI(t)
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	run(t, f, handlerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n == 2 {
			close(release)
		}
		<-release
		inFlight.Add(-1)
		return payload, nil
	}), Options{Concurrency: 2})
	f.add(invocation{id: "x", payload: `1`})
	f.add(invocation{id: "y", payload: `2`})
	f.result(t)
	f.result(t)
	if most.Load() != 2 {
		t.Errorf("at most %d invocations ran at once, want 2", most.Load())
	}
}

func TestSIGTERMRegistersAnExtensionAndRunsTheCallback(t *testing.T) {
	f := newFakeAPI(t)
	termed := make(chan struct{})
	run(t, f, handlerFunc(func(_ context.Context, p []byte) ([]byte, error) { return p, nil }),
		Options{Concurrency: 1, OnSIGTERM: func() { close(termed) }})
	// The first invocation is served only once Run has set up SIGTERM.
	f.add(invocation{id: "1", payload: `1`})
	f.result(t)
	f.mu.Lock()
	ext := f.extension
	f.mu.Unlock()
	if ext != "GoLangEnableSIGTERM" {
		t.Errorf("registered extension %q, want GoLangEnableSIGTERM", ext)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-termed:
	case <-time.After(30 * time.Second):
		t.Fatal("SIGTERM callback not run")
	}
}

func TestReportInitError(t *testing.T) {
	f := newFakeAPI(t)
	if err := ReportInitError(f.addr(), "Runtime.ConfigError", errors.New("DATABASE_URL is required")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := result{kind: "init", body: `{"errorMessage":"DATABASE_URL is required","errorType":"Runtime.ConfigError"}`, errorType: "Runtime.ConfigError"}
	if f.initError == nil || *f.initError != want {
		t.Errorf("init error = %+v, want %+v", f.initError, want)
	}
}

// TestClientReadsChunkedAndClosingResponses: the API may answer with a
// chunked body or close the connection after a response; both are read
// whole and the next request goes out on a new connection.
func TestClientReadsChunkedAndClosingResponses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var conns atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"+
					"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
			}()
		}
	}()
	c := newClient(ln.Addr().String())
	defer c.close()
	for i := range 2 {
		status, _, body, err := c.do(context.Background(), request{method: http.MethodGet, path: "/x", event: true})
		if err != nil || status != 200 || string(body) != "hello world" {
			t.Fatalf("request %d: %d %q %v, want 200 \"hello world\"", i, status, body, err)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("connections = %d, want 2 (Connection: close honoured)", n)
	}
}

// TestRunAsksForTheNextInvocationWithTheResponse: a response goes out in
// one write with the next GET /next (the API reads both before answering
// the first); when the API closes the connection after the response's
// answer, the GET is sent again on a new connection; when it refuses a
// response, Run stops without reading the pipelined GET's answer.
func TestRunAsksForTheNextInvocationWithTheResponse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	event := func(id string) string {
		body := `"` + id + `"`
		return fmt.Sprintf("HTTP/1.1 200 OK\r\n%s: %s\r\n%s: %d\r\nContent-Length: %d\r\n\r\n%s",
			headerRequestID, id, headerDeadline, time.Now().Add(time.Minute).UnixMilli(), len(body), body)
	}
	const accepted = "HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n"
	// Each connection's script: what the API reads and, after each line of
	// reads, what it answers at once.
	type step struct {
		reads  []string // "METHOD path" of each request, in order
		answer string
	}
	scripts := [][]step{{
		{[]string{"GET /2018-06-01/runtime/invocation/next"}, event("1")},
		{[]string{"POST /2018-06-01/runtime/invocation/1/response", "GET /2018-06-01/runtime/invocation/next"}, accepted + event("2")},
		{[]string{"POST /2018-06-01/runtime/invocation/2/response", "GET /2018-06-01/runtime/invocation/next"},
			strings.Replace(accepted, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1)},
	}, {
		{[]string{"GET /2018-06-01/runtime/invocation/next"}, event("3")},
		{[]string{"POST /2018-06-01/runtime/invocation/3/response", "GET /2018-06-01/runtime/invocation/next"},
			"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 4\r\n\r\nbig\n" + event("4")},
	}}
	bodies := make(chan string, 8)
	go func() {
		for _, script := range scripts {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(conn)
			for _, st := range script {
				for _, want := range st.reads {
					// Without pipelining the client would wait for the
					// first answer before writing the GET: no sleep, a
					// deadline that fails the test instead of hanging.
					_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
					req, err := http.ReadRequest(br)
					if err != nil {
						t.Errorf("reading %q: %v", want, err)
						_ = conn.Close()
						return
					}
					body, _ := io.ReadAll(req.Body)
					if got := req.Method + " " + req.URL.Path; got != want {
						t.Errorf("request %q, want %q", got, want)
					}
					if req.Method == http.MethodPost {
						bodies <- string(body)
					}
				}
				if _, err := io.WriteString(conn, st.answer); err != nil {
					t.Errorf("answer: %v", err)
				}
			}
			_ = conn.Close()
		}
	}()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), handlerFunc(func(_ context.Context, p []byte) ([]byte, error) { return p, nil }),
			Options{API: ln.Addr().String(), Concurrency: 1})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "post the response of 3: status 413") {
			t.Errorf("Run = %v, want it stopped by the refused response of 3", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not stop at the refused response")
	}
	close(bodies)
	var got []string
	for b := range bodies {
		got = append(got, b)
	}
	if want := []string{`"1"`, `"2"`, `"3"`}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("responses posted %q, want %q", got, want)
	}
}

// TestLoopYieldsEveryFewMilliseconds: an invocation starts with a yield
// to the scheduler when yieldEvery has passed since the loop's last, so
// that a loop whose invocations never park still moves its processor's
// scheduling tick (else the runtime preempts it as a runaway every 10 ms).
func TestLoopYieldsEveryFewMilliseconds(t *testing.T) {
	f := newFakeAPI(t)
	clock := time.Unix(1_700_000_000, 0)
	type step struct {
		advance time.Duration
		yield   bool
	}
	steps := []step{
		{0, true}, // the loop's first invocation
		{time.Millisecond, false},
		{2 * time.Millisecond, false},
		{yieldEvery - 3*time.Millisecond - time.Microsecond, false}, // 1 µs short
		{time.Microsecond, true},
		{yieldEvery - time.Microsecond, false},
		{10 * yieldEvery, true}, // after a long wait for the invocation
	}
	var mu sync.Mutex
	yields, i := 0, 0
	l := newLoop(handlerFunc(func(context.Context, []byte) ([]byte, error) {
		return []byte(`{}`), nil
	}), Options{API: f.addr(), Concurrency: 1})
	l.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(steps[i].advance)
		return clock
	}
	l.yield = func() {
		mu.Lock()
		defer mu.Unlock()
		yields++
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		f.srv.CloseClientConnections()
		if err := <-done; err == nil {
			t.Error("the loop stopped without an error")
		}
	})
	want := 0
	for n, s := range steps {
		f.add(invocation{id: fmt.Sprintf("req-%d", n), payload: `{}`})
		f.result(t)
		if s.yield {
			want++
		}
		mu.Lock()
		got := yields
		i = min(n+1, len(steps)-1)
		mu.Unlock()
		if got != want {
			t.Fatalf("after invocation %d (%v since the previous): %d yields, want %d", n, s.advance, got, want)
		}
	}
}

// appendFunc is an AppendHandler from a function.
type appendFunc func(ctx context.Context, payload, dst []byte) ([]byte, error)

func (h appendFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return h(ctx, payload, nil)
}

func (h appendFunc) InvokeAppend(ctx context.Context, payload, dst []byte) ([]byte, error) {
	return h(ctx, payload, dst)
}

// TestLoopReusesTheResponseBuffer: an AppendHandler appends each response
// to the loop's buffer, the same array from one invocation to the next,
// grown once to a response that did not fit; every response is posted
// whole.
func TestLoopReusesTheResponseBuffer(t *testing.T) {
	f := newFakeAPI(t)
	type given struct {
		array *byte // dst's array, nil when it has no room
		room  int
	}
	got := make(chan given, 8)
	run(t, f, appendFunc(func(_ context.Context, payload, dst []byte) ([]byte, error) {
		got <- given{unsafe.SliceData(dst[:cap(dst)]), cap(dst)}
		n, _ := strconv.Atoi(string(payload))
		return append(dst, strings.Repeat("x", n)...), nil
	}), Options{Concurrency: 1})
	var seen []given
	for i, size := range []int{100, 90, 3000, 100, 50} {
		id := fmt.Sprintf("req-%d", i)
		f.add(invocation{id: id, payload: strconv.Itoa(size)})
		if r := f.result(t); r.id != id || r.body != strings.Repeat("x", size) {
			t.Fatalf("invocation %s: posted %s of %d bytes, want a response of %d", id, r.kind, len(r.body), size)
		}
		seen = append(seen, <-got)
	}
	if seen[0].room != 0 {
		t.Errorf("the first invocation's buffer has room for %d, want none yet", seen[0].room)
	}
	if seen[1].room < 100 || seen[2].array != seen[1].array {
		t.Errorf("invocations 2 and 3 got %+v and %+v; want one array with room for 100", seen[1], seen[2])
	}
	if seen[3].room < 3000 || seen[3].array == seen[2].array || seen[4].array != seen[3].array {
		t.Errorf("invocations 4 and 5 got %+v and %+v; want one new array with room for 3000", seen[3], seen[4])
	}
}
