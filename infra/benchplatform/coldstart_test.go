//go:build linux

package benchplatform

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// coldStartRuns is how many times each function is started.
const coldStartRuns = 5

// coldStarts prints each function's cold start: the time from the exec of
// its bootstrap (with the environment the platform gives it, against the
// run's Postgres, Redis and AWS emulator) to its first call to the runtime
// API's /next, when it is ready for its first invocation. The runtime API
// is a stand-in served here, so the figure is the process's own start-up,
// not aws-lambda-rie's. Each function is started coldStartRuns times in
// turn, one process at a time; the page cache is warm after the first.
func (e *env) coldStarts(b *testing.B) {
	b.Helper()
	for _, f := range e.p.Template.Functions {
		boot, fnEnv, ok := e.p.Process(f.LogicalID)
		if !ok {
			continue
		}
		var ms, cpu []float64
		for range coldStartRuns {
			d, used, err := coldStart(boot, fnEnv)
			if err != nil {
				b.Fatalf("cold start of %s: %v", f.LogicalID, err)
			}
			ms = append(ms, float64(d.Microseconds())/1000)
			cpu = append(cpu, float64(used.Microseconds())/1000)
		}
		fmt.Printf("PLATFORM cold start: %s p50 %.1f ms, max %.1f ms (exec to first /next; %d runs %v); process CPU p50 %.1f ms, min %.1f ms\n",
			f.LogicalID, pct(ms, 50), pct(ms, 100), len(ms), ms, pct(cpu, 50), pct(cpu, 0))
	}
}

// coldStart runs boot once against a stand-in runtime API and returns the
// time from its exec to its first /next, and the CPU time (user and
// system, all threads) the process had used when it was killed right after:
// on a shared machine the CPU moves far less with the load than the wall
// time does.
func coldStart(boot string, env []string) (wall, cpu time.Duration, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	ready := make(chan time.Time, 1)
	var once sync.Once
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/runtime/invocation/next"):
			once.Do(func() { ready <- time.Now() })
			<-release
		case strings.HasSuffix(r.URL.Path, "/extension/register"):
			// aws-lambda-go's SIGTERM extension registers before the
			// runtime's first /next.
			w.Header().Set("Lambda-Extension-Identifier", "bench")
			_, _ = w.Write([]byte(`{}`))
		default: // the extension's /next: never answered
			<-release
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer func() { close(release); _ = srv.Close() }()
	cmd := exec.Command(boot)
	cmd.Env = append(slices.Clone(env), "AWS_LAMBDA_RUNTIME_API="+l.Addr().String())
	cmd.Dir = filepath.Dir(boot)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	exited := make(chan struct{})
	var waitErr error
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	go func() { waitErr = cmd.Wait(); close(exited) }()
	kill := func() time.Duration {
		_ = cmd.Process.Kill()
		<-exited
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	select {
	case at := <-ready:
		return at.Sub(start), kill(), nil
	case <-exited:
		return 0, 0, fmt.Errorf("exited before its first /next: %w: %.500s", waitErr, stderr.String())
	case <-time.After(30 * time.Second):
		kill()
		return 0, 0, fmt.Errorf("no /next within 30s")
	}
}
