package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fixture builds testdata/testfn and finds aws-lambda-rie once per run.
type fixture struct {
	once      sync.Once
	dir       string
	bootstrap string
	rie       string
	err       error
}

var testfn fixture

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{testfn.dir, binaries.dir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

func testFunction(t *testing.T, timeout time.Duration, env ...string) *function {
	t.Helper()
	testfn.once.Do(func() {
		if testfn.dir, testfn.err = os.MkdirTemp("", "testfn-"); testfn.err != nil {
			return
		}
		testfn.bootstrap = filepath.Join(testfn.dir, "testfn", "bootstrap")
		cmd := exec.Command("go", "build", "-o", testfn.bootstrap, "./testdata/testfn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			testfn.err = fmt.Errorf("build testfn: %v: %s", err, out)
			return
		}
		testfn.rie, testfn.err = resolveRIE(context.Background(), Config{TemplatePath: filepath.Join(repoRoot, "template.yaml")})
	})
	if testfn.err != nil {
		t.Fatal(testfn.err)
	}
	return &function{
		logicalID: "TestfnFunction",
		name:      "test-TestfnFunction",
		bootstrap: testfn.bootstrap,
		timeout:   timeout,
		env:       append([]string{"AWS_LAMBDA_FUNCTION_TIMEOUT=" + fmt.Sprint(int(timeout/time.Second)), "PATH=" + os.Getenv("PATH")}, env...),
		rie:       testfn.rie,
		grace:     2 * time.Second,
		log:       testLogger(t).With("function", "TestfnFunction"),
	}
}

func newTestPool(t *testing.T, size int, timeout time.Duration, env ...string) *pool {
	t.Helper()
	p, err := newPool(t.Context(), testFunction(t, timeout, env...), size)
	if err != nil {
		t.Fatalf("newPool: %v", err)
	}
	t.Cleanup(p.close)
	return p
}

func invokeJSON(t *testing.T, p *pool, event any, into any) error {
	t.Helper()
	payload, _ := json.Marshal(event)
	out, err := p.invoke(t.Context(), payload)
	if err != nil {
		return err
	}
	if into != nil {
		if err := json.Unmarshal(out, into); err != nil {
			t.Fatalf("response %q: %v", out, err)
		}
	}
	return nil
}

func pidOf(t *testing.T, p *pool) int {
	t.Helper()
	var r struct{ PID int }
	if err := invokeJSON(t, p, map[string]string{"action": "pid"}, &r); err != nil {
		t.Fatalf("pid: %v", err)
	}
	return r.PID
}

func TestPoolInvoke(t *testing.T) {
	p := newTestPool(t, 1, 2*time.Second, "GREETING=hello")

	t.Run("echo", func(t *testing.T) {
		var got map[string]string
		if err := invokeJSON(t, p, map[string]string{"action": "echo", "name": "x"}, &got); err != nil || got["name"] != "x" {
			t.Fatalf("echo = %v, %v", got, err)
		}
	})
	t.Run("environment reaches the function", func(t *testing.T) {
		var got struct{ Value string }
		if err := invokeJSON(t, p, map[string]string{"action": "env", "name": "GREETING"}, &got); err != nil || got.Value != "hello" {
			t.Fatalf("env GREETING = %q, %v; want hello", got.Value, err)
		}
	})
	t.Run("a returned error keeps the instance", func(t *testing.T) {
		before := pidOf(t, p)
		err := invokeJSON(t, p, map[string]string{"action": "error"}, nil)
		var fe *FunctionError
		if !errors.As(err, &fe) || fe.Message != "requested failure" {
			t.Fatalf("error = %v, want a *FunctionError with the handler's message", err)
		}
		if after := pidOf(t, p); after != before {
			t.Errorf("function process changed %d -> %d after a handled error", before, after)
		}
	})
	t.Run("a crash replaces the instance", func(t *testing.T) {
		before := pidOf(t, p)
		err := invokeJSON(t, p, map[string]string{"action": "crash"}, nil)
		var fe *FunctionError
		if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" {
			t.Fatalf("error = %v, want Runtime.ExitError", err)
		}
		if after := pidOf(t, p); after == before {
			t.Errorf("function process %d survived its crash", before)
		}
	})
	t.Run("an idle instance killed is replaced before its next invocation", func(t *testing.T) {
		before := pidOf(t, p)
		if n := p.kill(); n != 1 {
			t.Fatalf("kill = %d processes, want 1", n)
		}
		// Lambda replaces a sandbox whose runtime died between
		// invocations; RIE would fail the next one with Runtime.ExitError,
		// and an SQS batch would then wait out its visibility timeout.
		var got map[string]string
		if err := invokeJSON(t, p, map[string]string{"action": "echo", "name": "after"}, &got); err != nil || got["name"] != "after" {
			t.Fatalf("invocation after the kill = %v, %v; want it served by a new instance", got, err)
		}
		if after := pidOf(t, p); after == before {
			t.Errorf("killed process %d still answers", before)
		}
	})
	t.Run("a timeout kills and replaces the instance", func(t *testing.T) {
		before := pidOf(t, p)
		err := invokeJSON(t, p, map[string]any{"action": "sleep", "ms": 60_000}, nil)
		if !errors.Is(err, ErrFunctionTimeout) {
			t.Fatalf("error = %v, want ErrFunctionTimeout", err)
		}
		if running(before) {
			t.Errorf("timed-out process %d still runs", before)
		}
		if after := pidOf(t, p); after == before {
			t.Errorf("the same process %d answers after a timeout", after)
		}
	})
}

func TestPoolConcurrency(t *testing.T) {
	p := newTestPool(t, 2, 10*time.Second)
	// Each sleeper holds its instance until released, so both running at
	// once proves the pool runs two invocations in parallel.
	started := make(chan int, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			var r struct{ PID int }
			errs <- invokeJSON(t, p, map[string]string{"action": "pid"}, &r)
			started <- r.PID
		})
	}
	wg.Wait()
	close(started)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Two instances exist and both work; the same function process never
	// serves two calls at once (RIE refuses that with 400).
	if n := len(p.slots); n != 2 {
		t.Fatalf("pool has %d slots, want 2", n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var inflight sync.WaitGroup
	results := make(chan error, 4)
	for range 4 {
		inflight.Go(func() {
			_, err := p.invoke(ctx, []byte(`{"action":"sleep","ms":200}`))
			results <- err
		})
	}
	inflight.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("concurrent invoke: %v", err)
		}
	}
}

func TestPoolCloseStopsEveryProcess(t *testing.T) {
	p, err := newPool(t.Context(), testFunction(t, 5*time.Second), 2)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ PID int }
	if err := invokeJSON(t, p, map[string]string{"action": "pid"}, &r); err != nil {
		t.Fatal(err)
	}
	pids := p.pids()
	if len(pids) < 3 { // two RIE processes and at least one function process
		t.Fatalf("pids = %v, want both RIE processes and the started function", pids)
	}
	p.close()
	for _, pid := range append(pids, r.PID) {
		if running(pid) {
			t.Errorf("process %d still runs after close", pid)
		}
	}
	if _, err := p.invoke(t.Context(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("invoke after close = %v, want ErrClosed", err)
	}
}
