package lambdaruntime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeAPIEnv makes the test binary serve the Runtime API (serveFakeAPI)
// instead of running tests: BenchmarkLoop's API runs in another process,
// so that the benchmark's CPU is the runtime's alone.
const fakeAPIEnv = "LAMBDARUNTIME_BENCH_FAKE_API"

// fakeGapEnv makes the fake Runtime API wait this long (a duration)
// before it answers each GET /next: the process then sits idle between
// invocations, as a function does between requests.
const fakeGapEnv = "LAMBDARUNTIME_BENCH_GAP"

func TestMain(m *testing.M) {
	if os.Getenv(fakeAPIEnv) != "" {
		serveFakeAPI()
		return
	}
	os.Exit(m.Run())
}

// serveFakeAPI answers every GET /next at once with a status event, as
// Lambda does when requests are queued, and every response with 202, on
// net/http's server (the Runtime API's own is one); it prints its address
// and serves until its standard input closes.
func serveFakeAPI() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var n atomic.Int64
	gap, _ := time.ParseDuration(os.Getenv(fakeGapEnv))
	echo := serveEcho()
	payload := []byte(`{"version":"2.0","routeKey":"$default","rawPath":"/v1/campaigns/0193a000-0000-7000-8000-000000000000/status",` +
		`"headers":{"authorization":"Bearer wm_live_x"},"requestContext":{"http":{"method":"GET"}}}`)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, _ *http.Request) {
		if gap > 0 {
			<-time.After(gap)
		}
		h := w.Header()
		h.Set(headerRequestID, "req-"+strconv.FormatInt(n.Add(1), 10))
		h.Set(headerDeadline, strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
		h.Set(headerFunctionARN, "arn:aws:lambda:us-east-1:000000000000:function:api")
		h.Set(headerTraceID, "Root=1-abc-def;Sampled=0")
		_, _ = w.Write(payload)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	})
	go func() { _ = http.Serve(ln, mux) }()
	fmt.Println(ln.Addr())
	fmt.Println(echo)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// BenchmarkLoop is the runtime's own cost of an invocation (GET /next, the
// handler's call, POST /response) with a handler that answers at once, the
// Runtime API in another process: cpu-µs/op is this process's CPU.
//
//	go test -run '^$' -bench Loop -benchtime 20000x ./internal/lambdaruntime/
func BenchmarkLoop(b *testing.B) {
	addr, _ := startFakeAPI(b)
	response := []byte(`{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"data\":{}}"}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var left atomic.Int64
	left.Store(int64(b.N))
	done := make(chan error, 1)
	b.ResetTimer()
	cpu0 := processCPU()
	go func() {
		done <- Run(ctx, handlerFunc(func(context.Context, []byte) ([]byte, error) {
			if left.Add(-1) == 0 {
				cancel()
			}
			return response, nil
		}), Options{API: addr, Concurrency: 1})
	}()
	if err := <-done; !errors.Is(err, context.Canceled) {
		b.Fatalf("the loop ended with %v, not on its context's cancel", err)
	}
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the user and system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serveEcho serves TCP connections that write back what they read, a
// stand-in for a database the handler waits for through the network
// poller, and returns its address.
func serveEcho() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkLoopIdle is BenchmarkLoop with the process idle between
// invocations (the fake API waits 300 µs before each event; the
// platform's status phase leaves an instance idle ~0.3 ms at p50), with a
// handler that answers at once (nowait: a remembered 429) or after one
// round trip to a loopback echo through the network poller (wait: a 200's
// Postgres query). It shows what the Go runtime's own threads add to an
// invocation in a process that waits between invocations: sysmon's
// wake-ups and idle threads woken to run or watch goroutines.
// cpu-µs/op is this process's CPU, switches/op its threads' voluntary
// context switches (each a thread going to sleep).
//
//	go test -run '^$' -bench LoopIdle -benchtime 3000x ./internal/lambdaruntime/
func BenchmarkLoopIdle(b *testing.B) {
	for _, wait := range []bool{false, true} {
		name := map[bool]string{false: "nowait", true: "wait"}[wait]
		b.Run(name, func(b *testing.B) { benchmarkLoopIdle(b, wait) })
	}
}

func benchmarkLoopIdle(b *testing.B, wait bool) {
	addr, echoAddr := startFakeAPI(b, fakeGapEnv+"=300us")
	echo, err := net.Dial("tcp", echoAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer echo.Close()
	response := []byte(`{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"data\":{}}"}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var left atomic.Int64
	left.Store(int64(b.N))
	done := make(chan error, 1)
	buf := make([]byte, 64)
	b.ResetTimer()
	cpu0, sw0 := processCPU(), voluntarySwitches()
	go func() {
		done <- Run(ctx, handlerFunc(func(context.Context, []byte) ([]byte, error) {
			if wait {
				if _, err := echo.Write(buf); err != nil {
					return nil, err
				}
				if _, err := io.ReadFull(echo, buf); err != nil {
					return nil, err
				}
			}
			if left.Add(-1) == 0 {
				cancel()
			}
			return response, nil
		}), Options{API: addr, Concurrency: 1})
	}()
	if err := <-done; !errors.Is(err, context.Canceled) {
		b.Fatalf("the loop ended with %v, not on its context's cancel", err)
	}
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(voluntarySwitches()-sw0)/float64(b.N), "switches/op")
}

// startFakeAPI starts the fake Runtime API in another process with env
// added, and returns its address and its echo server's.
func startFakeAPI(b *testing.B, env ...string) (api, echo string) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), fakeAPIEnv+"=1"), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	r := bufio.NewReader(stdout)
	api, err = r.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	echo, err = r.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return api[:len(api)-1], echo[:len(echo)-1]
}

// voluntarySwitches is how many times this process's threads went to
// sleep in the kernel (RUSAGE_SELF's ru_nvcsw).
func voluntarySwitches() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Nvcsw
}
